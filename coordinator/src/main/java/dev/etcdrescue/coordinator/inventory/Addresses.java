package dev.etcdrescue.coordinator.inventory;

import dev.etcdrescue.pki.HostNames;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Set;

/**
 * Parsing and comparing the addresses, URLs and endpoints an inventory and an old member's settings
 * write: the one place that brackets IPv6 and decides when two spellings are the same address. Never
 * resolves DNS.
 */
public final class Addresses {
    private Addresses() {}

    /** A URL that failed a rule: {@code reason} says what is wrong. */
    static final class BadUrl extends Exception {
        BadUrl(String reason) {
            super(reason);
        }
    }

    /**
     * {@code text} as {@code scheme://host:port}: one of {@code schemes}, a host and a port in
     * range, no path, query, fragment or user. Returned in canonical form (lower-case scheme and host).
     */
    static URI url(String text, Set<String> schemes) throws BadUrl {
        URI uri;
        try {
            uri = new URI(text.strip());
        } catch (URISyntaxException e) {
            throw new BadUrl("'" + text + "' is not a URL (" + e.getReason() + ")");
        }
        String scheme = uri.getScheme() == null ? null : uri.getScheme().toLowerCase(Locale.ROOT);
        if (scheme == null || !schemes.contains(scheme)) {
            throw new BadUrl("'" + text + "' must start with " + String.join("://, ", schemes.stream().sorted().toList()) + "://");
        }
        if (uri.getHost() == null) {
            throw new BadUrl("'" + text + "' has no valid host (write " + scheme + "://HOST:PORT)");
        }
        if (uri.getPort() == -1) {
            throw new BadUrl("'" + text + "' has no port (write " + scheme + "://HOST:PORT)");
        }
        if (!isPort(uri.getPort())) {
            throw new BadUrl("'" + text + "' has port " + uri.getPort() + ", outside 1-65535");
        }
        if (uri.getRawUserInfo() != null || uri.getRawQuery() != null || uri.getRawFragment() != null
                || (uri.getRawPath() != null && !uri.getRawPath().isEmpty() && !uri.getRawPath().equals("/"))) {
            throw new BadUrl("'" + text + "' may hold only scheme, host and port (no user, path, query or fragment)");
        }
        return URI.create(scheme + "://" + hostForUrl(uri.getHost().toLowerCase(Locale.ROOT)) + ":" + uri.getPort());
    }

    /** The host of a URL without IPv6 brackets. */
    public static String host(URI url) {
        String host = url.getHost();
        return host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
    }

    /** {@code host} ready to go into a URL or an endpoint: IPv6 in brackets. */
    public static String hostForUrl(String host) {
        return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
    }

    static boolean isPort(int port) {
        return port >= 1 && port <= 65535;
    }

    static boolean isAddress(String value) {
        return HostNames.isIpLiteral(value) || HostNames.isDnsName(value);
    }

    /** A form in which two spellings of the same address compare equal (IPv6 zeros, case, a trailing dot). */
    public static String canonical(String host) {
        String bare = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        if (HostNames.isIpLiteral(bare)) {
            try {
                return InetAddress.getByName(bare).getHostAddress();
            } catch (UnknownHostException e) {
                return bare;
            }
        }
        String lower = bare.toLowerCase(Locale.ROOT);
        return lower.endsWith(".") ? lower.substring(0, lower.length() - 1) : lower;
    }

    /** Whether {@code host} (any spelling, brackets or not) is a wildcard or a loopback address, which says nothing of the host. */
    public static boolean wildcardOrLoopback(String host) {
        String h = canonical(host);
        return h.equals("localhost") || h.startsWith("127.") || h.equals("0:0:0:0:0:0:0:1") || h.equals("0.0.0.0")
                || h.equals("0:0:0:0:0:0:0:0");
    }

    /**
     * The URLs of a comma-separated list (an etcd setting) that have a scheme of http(s), a host and a port
     * and nothing else; others are left out, so a caller can compare the count with the list's.
     */
    public static java.util.List<URI> webUrls(String value) {
        java.util.List<URI> urls = new java.util.ArrayList<>();
        for (String part : value.split(",")) {
            try {
                URI url = new URI(part.strip());
                boolean web = "http".equals(url.getScheme()) || "https".equals(url.getScheme());
                boolean bare = url.getRawPath() == null || url.getRawPath().isEmpty() || url.getRawPath().equals("/");
                if (web && url.getHost() != null && url.getPort() > 0 && bare && url.getRawQuery() == null && url.getUserInfo() == null) {
                    urls.add(url);
                }
            } catch (URISyntaxException e) {
                // Left out: see above.
            }
        }
        return urls;
    }

    /** {@code url}'s scheme with another host and port. */
    public static URI withHostAndPort(URI url, String host, int port) {
        return URI.create(url.getScheme() + "://" + hostForUrl(host) + ":" + port);
    }

    /** A parsed {@code host:port}. */
    record Endpoint(String host, int port) {}

    /** {@code host:port} or {@code [v6]:port}. */
    static Endpoint endpoint(String text) throws BadUrl {
        String value = text.strip();
        String host;
        String port;
        if (value.startsWith("[")) {
            int close = value.indexOf(']');
            if (close < 0 || close + 1 >= value.length() || value.charAt(close + 1) != ':') {
                throw new BadUrl("'" + text + "' is not HOST:PORT (IPv6 as [ADDRESS]:PORT)");
            }
            host = value.substring(1, close);
            port = value.substring(close + 2);
        } else {
            int colon = value.lastIndexOf(':');
            if (colon <= 0 || value.indexOf(':') != colon) {
                throw new BadUrl("'" + text + "' is not HOST:PORT (IPv6 as [ADDRESS]:PORT)");
            }
            host = value.substring(0, colon);
            port = value.substring(colon + 1);
        }
        if (!isAddress(host)) {
            throw new BadUrl("'" + host + "' in '" + text + "' is neither an IP address nor a DNS name");
        }
        if (!port.matches("[0-9]{1,5}") || !isPort(Integer.parseInt(port))) {
            throw new BadUrl("port '" + port + "' in '" + text + "' is not a number in 1-65535");
        }
        return new Endpoint(host, Integer.parseInt(port));
    }
}
