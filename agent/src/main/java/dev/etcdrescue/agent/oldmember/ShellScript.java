package dev.etcdrescue.agent.oldmember;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The script of a {@code sh -c "..."} or {@code bash -c "..."} wrapper, read as the shell reads one
 * simple command: {@code exec}, assignments ({@code GOMAXPROCS=$(nproc)}), the program and its
 * arguments, with quotes and {@code $NAME}/{@code ${NAME}} from the unit's environment. Anything more
 * (pipes, lists, redirections, substitutions in an argument) is refused: the arguments etcd gets could
 * not be known for sure.
 */
public final class ShellScript {
    private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final Pattern ASSIGNMENT = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*=.*", Pattern.DOTALL);

    /**
     * @param assignments the script's leading assignments as written (kept when the wrapper is rewritten)
     * @param command     the program and its arguments, expanded
     */
    public record Command(List<String> assignments, List<ExecLine.Word> command) {}

    private record Token(String text, String raw, boolean substitution) {}

    private ShellScript() {}

    public static Command parse(String script, Source source, Map<String, Sourced> env) throws LayoutException {
        List<Token> tokens = tokens(script, source, env);
        List<String> assignments = new ArrayList<>();
        List<ExecLine.Word> command = new ArrayList<>();
        for (Token t : tokens) {
            if (command.isEmpty() && t.text().equals("exec")) {
                continue;
            }
            if (command.isEmpty() && ASSIGNMENT.matcher(t.raw()).matches()) {
                assignments.add(t.raw());
                continue;
            }
            if (t.substitution()) {
                throw new LayoutException(source, "the shell script " + ExecLine.quote(script) + " computes an argument with $(...)"
                        + " or backquotes: the arguments etcd gets cannot be known before it runs");
            }
            command.add(new ExecLine.Word(t.text(), source));
        }
        if (command.isEmpty()) {
            throw new LayoutException(source, "the shell script " + ExecLine.quote(script) + " runs no program");
        }
        return new Command(assignments, command);
    }

    private static List<Token> tokens(String s, Source source, Map<String, Sourced> env) throws LayoutException {
        List<Token> tokens = new ArrayList<>();
        StringBuilder text = null;
        int start = 0;
        boolean substitution = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isWhitespace(c)) {
                if (text != null) {
                    tokens.add(new Token(text.toString(), s.substring(start, i), substitution));
                    text = null;
                }
                continue;
            }
            if (text == null) {
                if (c == '#') {
                    break;
                }
                text = new StringBuilder();
                start = i;
                substitution = false;
            }
            switch (c) {
                case '\'' -> {
                    int end = s.indexOf('\'', i + 1);
                    if (end < 0) {
                        throw new LayoutException(source, "the shell script has an unterminated ' quote");
                    }
                    text.append(s, i + 1, end);
                    i = end;
                }
                case '"' -> {
                    int j = i + 1;
                    for (; j < s.length() && s.charAt(j) != '"'; j++) {
                        char d = s.charAt(j);
                        if (d == '\\' && j + 1 < s.length() && "$`\"\\\n".indexOf(s.charAt(j + 1)) >= 0) {
                            text.append(s.charAt(++j));
                        } else if (d == '$' || d == '`') {
                            int[] end = {j};
                            String v = expansion(s, j, env, end);
                            if (v == null) {
                                substitution = true;
                            } else {
                                text.append(v);
                            }
                            j = end[0];
                        } else {
                            text.append(d);
                        }
                    }
                    if (j >= s.length()) {
                        throw new LayoutException(source, "the shell script has an unterminated \" quote");
                    }
                    i = j;
                }
                case '\\' -> {
                    if (i + 1 < s.length()) {
                        text.append(s.charAt(++i));
                    }
                }
                case '$', '`' -> {
                    int[] end = {i};
                    String v = expansion(s, i, env, end);
                    boolean alone = text.isEmpty() && (end[0] + 1 == s.length() || Character.isWhitespace(s.charAt(end[0] + 1)));
                    if (v == null) {
                        substitution = true;
                    } else if (alone) {
                        // An unquoted variable on its own is split into words, and an empty one is no word at all.
                        String raw = s.substring(i, end[0] + 1);
                        for (String part : v.strip().split("\\s+")) {
                            if (!part.isEmpty()) {
                                tokens.add(new Token(part, raw, false));
                            }
                        }
                        text = null;
                    } else if (v.chars().anyMatch(Character::isWhitespace)) {
                        throw new LayoutException(source, "the shell script splits a variable's value inside a word ("
                                + s.substring(i, end[0] + 1) + "): quote it, or give the flags in the unit or the env file");
                    } else {
                        text.append(v);
                    }
                    i = end[0];
                }
                case '|', '&', ';', '<', '>', '(', ')' -> throw new LayoutException(source, "the shell script "
                        + ExecLine.quote(s) + " is more than one simple command (it has '" + c + "'): etcd-rescue reads only"
                        + " `[exec] [NAME=value ...] /path/to/etcd [flags]`");
                default -> text.append(c);
            }
        }
        if (text != null) {
            tokens.add(new Token(text.toString(), s.substring(start), substitution));
        }
        return tokens;
    }

    /**
     * The value of the expansion at {@code s[i]} ({@code $NAME}, {@code ${NAME}}), or null for a command
     * substitution ({@code $(...)}, backquotes); {@code end[0]} is set to its last character.
     */
    private static String expansion(String s, int i, Map<String, Sourced> env, int[] end) {
        if (s.charAt(i) == '`') {
            int close = s.indexOf('`', i + 1);
            end[0] = close < 0 ? s.length() - 1 : close;
            return null;
        }
        if (i + 1 < s.length() && s.charAt(i + 1) == '(') {
            int depth = 0;
            int j = i + 1;
            for (; j < s.length(); j++) {
                if (s.charAt(j) == '(') {
                    depth++;
                } else if (s.charAt(j) == ')' && --depth == 0) {
                    break;
                }
            }
            end[0] = Math.min(j, s.length() - 1);
            return null;
        }
        if (i + 1 < s.length() && s.charAt(i + 1) == '{') {
            int close = s.indexOf('}', i + 2);
            if (close > 0 && NAME.matcher(s.substring(i + 2, close)).matches()) {
                end[0] = close;
                return value(env, s.substring(i + 2, close));
            }
        }
        int j = i + 1;
        while (j < s.length() && (Character.isLetterOrDigit(s.charAt(j)) || s.charAt(j) == '_')) {
            j++;
        }
        end[0] = j - 1;
        return j == i + 1 ? "$" : value(env, s.substring(i + 1, j));
    }

    private static String value(Map<String, Sourced> env, String name) {
        Sourced v = env.get(name);
        return v == null ? "" : v.value();
    }
}
