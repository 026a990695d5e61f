package dev.etcdrescue.pki;

import java.util.regex.Pattern;
import org.bouncycastle.util.IPAddress;

/** Tells IP literals from DNS names, the two kinds of subject alternative name we issue. */
public final class HostNames {
    private static final Pattern DNS_LABEL = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?");

    private HostNames() {}

    /** True for an IPv4 or IPv6 literal (brackets around IPv6 allowed). */
    public static boolean isIpLiteral(String value) {
        return IPAddress.isValid(stripBrackets(value));
    }

    /** True for a syntactically valid DNS host name (letters, digits, hyphens; labels of 1-63; at most 253). */
    public static boolean isDnsName(String value) {
        String name = value.endsWith(".") ? value.substring(0, value.length() - 1) : value;
        if (name.isEmpty() || name.length() > 253 || isIpLiteral(name)) {
            return false;
        }
        for (String label : name.split("\\.", -1)) {
            if (!DNS_LABEL.matcher(label).matches()) {
                return false;
            }
        }
        return true;
    }

    static String stripBrackets(String value) {
        return value.startsWith("[") && value.endsWith("]") ? value.substring(1, value.length() - 1) : value;
    }

    static void requireIpOrDnsName(String value) {
        if (!isIpLiteral(value) && !isDnsName(value)) {
            throw new IllegalArgumentException("'" + value + "' is neither an IP address nor a valid DNS name");
        }
    }
}
