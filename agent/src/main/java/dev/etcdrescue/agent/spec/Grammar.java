package dev.etcdrescue.agent.spec;

import dev.etcdrescue.agent.AgentException;
import java.util.regex.Pattern;

/**
 * The grammars every value from a request is checked against before it reaches a file or an argv.
 * They are deliberately narrow: no quotes, spaces, '$', '%', backslashes or newlines can pass, so
 * nothing rendered by the agent can be read as anything but the value meant.
 */
public final class Grammar {
    /** Not "." or "..", nor anything an argv could read as an option: the first character is no dot or dash. */
    public static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,63}");
    public static final Pattern MEMBER_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    public static final Pattern UNIT_NAME = Pattern.compile("[A-Za-z0-9_@][A-Za-z0-9_.@-]{0,199}");
    public static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");
    public static final Pattern URL = Pattern.compile(
            "(https?)://(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?):([0-9]{1,5})");
    public static final Pattern SAFE_PATH = Pattern.compile("/[A-Za-z0-9._/+@:-]*");
    public static final Pattern UNSIGNED_INT = Pattern.compile("[0-9]{1,18}");
    public static final Pattern BOOL = Pattern.compile("true|false");
    public static final Pattern GO_DURATION_OR_INT = Pattern.compile("[0-9]{1,9}|([0-9]{1,9}(\\.[0-9]{1,9})?(ns|us|ms|s|m|h)){1,4}");

    private Grammar() {}

    public static String require(String value, Pattern grammar, String field, String what) {
        if (value == null || !grammar.matcher(value).matches()) {
            throw AgentException.invalidField(field, field + " must be " + what + ", got " + quote(value));
        }
        return value;
    }

    public static String url(String value, String field) {
        var m = URL.matcher(value == null ? "" : value);
        if (!m.matches()) {
            throw AgentException.invalidField(field, field + " must be a URL like http://192.168.149.60:2380"
                    + " (http or https, host, port), got " + quote(value));
        }
        int port = Integer.parseInt(m.group(3));
        if (port < 1 || port > 65535) {
            throw AgentException.invalidField(field, field + " has port " + port + ", which is out of range");
        }
        return value;
    }

    public static String identifier(String value, String field) {
        return require(value, IDENTIFIER, field, "1-64 characters of [A-Za-z0-9._-], the first no dot or dash");
    }

    /** Quotes a rejected value for a message, with control characters made visible. */
    public static String quote(String value) {
        if (value == null) {
            return "nothing";
        }
        String shown = value.length() > 80 ? value.substring(0, 80) + "..." : value;
        StringBuilder sb = new StringBuilder("'");
        for (char c : shown.toCharArray()) {
            if (c < 0x20 || c == 0x7f) {
                sb.append(String.format("\\x%02x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.append('\'').toString();
    }
}
