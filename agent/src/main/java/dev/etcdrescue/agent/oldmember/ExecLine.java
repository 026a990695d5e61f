package dev.etcdrescue.agent.oldmember;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An {@code Exec*=} value as systemd runs it (systemd.service(5), "Command lines"): the prefix
 * characters, words split at blanks with single and double quotes and C escapes, then {@code $NAME}
 * as a word of its own replaced by the variable's value split at blanks, and {@code ${NAME}} inside a
 * word by its value as one piece. Words from a variable keep the variable's source, so a flag read from
 * {@code DAEMON_ARGS} is traced to the env file line that set it.
 */
public final class ExecLine {
    private static final Pattern WHOLE_VARIABLE = Pattern.compile("\\$([A-Za-z_][A-Za-z0-9_]*)");
    private static final Pattern BRACED = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)}|\\$\\$");

    /** One argument and where it came from. */
    public record Word(String text, Source source) {}

    /** @param prefix systemd's special characters before the path ({@code -}, {@code @}, {@code +}, ...) */
    public record Parsed(String prefix, List<Word> argv) {}

    private ExecLine() {}

    /** The words as written, unquoted, before any variable is replaced. */
    public static Parsed split(String value, Source source) throws LayoutException {
        int i = 0;
        while (i < value.length() && "-@:+!".indexOf(value.charAt(i)) >= 0) {
            i++;
        }
        String prefix = value.substring(0, i);
        List<Word> words = new ArrayList<>();
        StringBuilder word = null;
        char quote = 0;
        for (; i < value.length(); i++) {
            char c = value.charAt(i);
            if (quote == 0 && Character.isWhitespace(c)) {
                if (word != null) {
                    words.add(new Word(word.toString(), source));
                    word = null;
                }
                continue;
            }
            if (word == null) {
                word = new StringBuilder();
            }
            if (c == '\\') {
                if (++i == value.length()) {
                    throw new LayoutException(source, "the command line ends in a lone backslash");
                }
                word.append(unescape(value.charAt(i)));
            } else if (quote != 0 && c == quote) {
                quote = 0;
            } else if (quote == 0 && (c == '"' || c == '\'')) {
                quote = c;
            } else {
                word.append(c);
            }
        }
        if (quote != 0) {
            throw new LayoutException(source, "the command line has an unterminated " + quote + " quote");
        }
        if (word != null) {
            words.add(new Word(word.toString(), source));
        }
        if (words.isEmpty()) {
            throw new LayoutException(source, "the command line names no program");
        }
        return new Parsed(prefix, words);
    }

    /** The command line with the unit's environment applied, as the process receives it. */
    public static Parsed expand(Parsed written, Map<String, Sourced> env) {
        List<Word> out = new ArrayList<>();
        for (Word w : written.argv()) {
            Matcher whole = WHOLE_VARIABLE.matcher(w.text());
            if (whole.matches()) {
                Sourced v = env.get(whole.group(1));
                if (v != null) {
                    for (String part : v.value().strip().split("\\s+")) {
                        if (!part.isEmpty()) {
                            out.add(new Word(part, v.source()));
                        }
                    }
                }
                continue;
            }
            Matcher braced = BRACED.matcher(w.text());
            StringBuilder sb = new StringBuilder();
            while (braced.find()) {
                String replacement = braced.group(1) == null ? "$"
                        : env.containsKey(braced.group(1)) ? env.get(braced.group(1)).value() : "";
                braced.appendReplacement(sb, Matcher.quoteReplacement(replacement));
            }
            braced.appendTail(sb);
            out.add(new Word(sb.toString(), w.source()));
        }
        return new Parsed(written.prefix(), out);
    }

    /** One word quoted for a unit file: systemd reads it back as exactly {@code text}, with no variable replaced. */
    public static String quote(String text) {
        if (!text.isEmpty() && text.chars().noneMatch(c -> Character.isWhitespace(c) || "\"'\\$;%".indexOf(c) >= 0)) {
            return text;
        }
        return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"").replace("$", "$$").replace("%", "%%") + "\"";
    }

    private static char unescape(char c) {
        return switch (c) {
            case 'n' -> '\n';
            case 't' -> '\t';
            case 'r' -> '\r';
            case 's' -> ' ';
            default -> c;
        };
    }
}
