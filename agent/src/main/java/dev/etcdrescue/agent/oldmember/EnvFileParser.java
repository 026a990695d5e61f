package dev.etcdrescue.agent.oldmember;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads an environment file by systemd's rules ({@code EnvironmentFile=}), so the old member's
 * settings are what etcd really got: {@code #} and {@code ;} start a comment line, {@code KEY=VALUE}
 * with blanks around the value dropped, single quotes literal, double quotes with {@code \"},
 * {@code \\}, {@code \$} and {@code \`} escapes, a backslash at the end of a line continues it, and a
 * line without {@code =} is ignored. A key given twice keeps its first place and its last value, as
 * the environment etcd sees. {@code export KEY=...} is not systemd syntax: its key is not a valid name
 * and is ignored, as systemd does.
 */
public final class EnvFileParser {
    private enum State { PRE_KEY, KEY, PRE_VALUE, VALUE, VALUE_ESCAPE, SINGLE_QUOTE, DOUBLE_QUOTE, DOUBLE_QUOTE_ESCAPE, COMMENT,
        COMMENT_ESCAPE }

    private EnvFileParser() {}

    /** A value and the line its assignment starts on (1-based). */
    public record Assignment(String value, int line) {}

    /** Every valid assignment of {@code text}, in file order. */
    public static Map<String, String> parse(String text) {
        Map<String, String> values = new LinkedHashMap<>();
        assignments(text).forEach((k, v) -> values.put(k, v.value()));
        return values;
    }

    /** Every valid assignment of {@code text} in file order, with the line it starts on. */
    public static Map<String, Assignment> assignments(String text) {
        Map<String, Assignment> values = new LinkedHashMap<>();
        int line = 1;
        int keyLine = 1;
        State state = State.PRE_KEY;
        StringBuilder key = new StringBuilder();
        StringBuilder value = new StringBuilder();
        // Unquoted trailing blanks are dropped; quoted or escaped ones are kept.
        int keep = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (i > 0 && text.charAt(i - 1) == '\n') {
                line++;
            }
            switch (state) {
                case PRE_KEY -> {
                    if (c == '#' || c == ';') {
                        state = State.COMMENT;
                    } else if (!blank(c) && c != '\n') {
                        keyLine = line;
                        key.append(c);
                        state = State.KEY;
                    }
                }
                case KEY -> {
                    if (c == '\n') {
                        key.setLength(0);
                        state = State.PRE_KEY;
                    } else if (c == '=') {
                        state = State.PRE_VALUE;
                    } else {
                        key.append(c);
                    }
                }
                case PRE_VALUE -> {
                    if (c == '\n') {
                        emit(values, key, value, keep, keyLine);
                        keep = 0;
                        state = State.PRE_KEY;
                    } else if (c == '\'') {
                        state = State.SINGLE_QUOTE;
                    } else if (c == '"') {
                        state = State.DOUBLE_QUOTE;
                    } else if (c == '\\') {
                        state = State.VALUE_ESCAPE;
                    } else if (!blank(c)) {
                        value.append(c);
                        keep = value.length();
                        state = State.VALUE;
                    }
                }
                case VALUE -> {
                    if (c == '\n') {
                        emit(values, key, value, keep, keyLine);
                        keep = 0;
                        state = State.PRE_KEY;
                    } else if (c == '\\') {
                        state = State.VALUE_ESCAPE;
                    } else {
                        value.append(c);
                        if (!blank(c)) {
                            keep = value.length();
                        }
                    }
                }
                case VALUE_ESCAPE -> {
                    if (c != '\n') {
                        value.append(c);
                        keep = value.length();
                    }
                    state = State.VALUE;
                }
                case SINGLE_QUOTE -> {
                    if (c == '\'') {
                        state = State.PRE_VALUE;
                    } else {
                        value.append(c);
                        keep = value.length();
                    }
                }
                case DOUBLE_QUOTE -> {
                    if (c == '"') {
                        state = State.PRE_VALUE;
                    } else if (c == '\\') {
                        state = State.DOUBLE_QUOTE_ESCAPE;
                    } else {
                        value.append(c);
                        keep = value.length();
                    }
                }
                case DOUBLE_QUOTE_ESCAPE -> {
                    if ("\"\\`$".indexOf(c) >= 0) {
                        value.append(c);
                    } else if (c != '\n') {
                        value.append('\\').append(c);
                    }
                    keep = value.length();
                    state = State.DOUBLE_QUOTE;
                }
                case COMMENT -> {
                    if (c == '\\') {
                        state = State.COMMENT_ESCAPE;
                    } else if (c == '\n') {
                        state = State.PRE_KEY;
                    }
                }
                case COMMENT_ESCAPE -> state = State.COMMENT;
                default -> throw new IllegalStateException(state.name());
            }
        }
        // The last line without its newline; an unterminated quote keeps what was read, as in systemd.
        switch (state) {
            case PRE_VALUE, VALUE, VALUE_ESCAPE -> emit(values, key, value, keep, keyLine);
            case SINGLE_QUOTE, DOUBLE_QUOTE, DOUBLE_QUOTE_ESCAPE -> emit(values, key, value, value.length(), keyLine);
            default -> { }
        }
        return values;
    }

    private static void emit(Map<String, Assignment> values, StringBuilder key, StringBuilder value, int keep, int line) {
        String name = key.toString().strip();
        if (name.matches("[A-Za-z_][A-Za-z0-9_]*")) {
            values.put(name, new Assignment(value.substring(0, Math.min(keep, value.length())), line));
        }
        key.setLength(0);
        value.setLength(0);
    }

    private static boolean blank(char c) {
        return c == ' ' || c == '\t' || c == '\r';
    }
}
