package dev.etcdrescue.agent.transfer;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.spec.Grammar;
import dev.etcdrescue.agent.spec.PathRules;
import dev.etcdrescue.proto.v1.LocalEtcdAccess;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Decides whether a LocalEtcdAccess may be used: the endpoint must be an address of this host (so the
 * agent never becomes a way into other machines' etcd) and its TLS files must lie inside the dirs the
 * agent may read them from (so a request cannot make the agent present arbitrary files). Checking
 * resolves no names: only IP literals and {@code localhost} are accepted.
 */
final class LocalAccessRules {
    private static final Pattern IPV4 = Pattern.compile("[0-9]{1,3}(\\.[0-9]{1,3}){3}");

    /** The checked access, ready for etcdctl. */
    record Checked(String endpoint, Optional<Path> ca, Optional<Path> cert, Optional<Path> key,
                   Optional<String> username, Optional<String> password) {
        @Override
        public String toString() {
            return "Checked[endpoint=" + endpoint + ", ca=" + ca + ", cert=" + cert + ", key=" + key + ", username="
                    + username + ", password=" + (password.isPresent() ? "(set)" : "(none)") + "]";
        }
    }

    private final InetAddress listenAddress;
    private final Supplier<List<Path>> tlsRoots;

    /**
     * @param listenAddress the agent's configured listen address: on the testbed, hosts share interfaces,
     *                      and this is the address that says which one this agent is
     * @param tlsRoots   where TLS files may lie, computed per call (the member's env file may change)
     */
    LocalAccessRules(InetAddress listenAddress, Supplier<List<Path>> tlsRoots) {
        this.listenAddress = listenAddress;
        this.tlsRoots = tlsRoots;
    }

    Checked check(LocalEtcdAccess access) {
        String endpoint = access.getEndpoint();
        Matcher url = Grammar.URL.matcher(endpoint);
        if (!url.matches()) {
            throw AgentException.invalidField("local.endpoint", "local.endpoint must be http://ADDRESS:PORT or"
                    + " https://ADDRESS:PORT of this host's etcd, got " + Grammar.quote(endpoint));
        }
        Grammar.url(endpoint, "local.endpoint");
        boolean https = url.group(1).equals("https");
        String host = url.group(2).replaceAll("^\\[|\\]$", "");
        requireLocal(host, endpoint);

        List<Path> roots = tlsRoots.get();
        Optional<Path> ca = file(access.getCaFile(), "local.ca_file", roots);
        Optional<Path> cert = file(access.getCertFile(), "local.cert_file", roots);
        Optional<Path> key = file(access.getKeyFile(), "local.key_file", roots);
        if (cert.isPresent() != key.isPresent()) {
            throw AgentException.invalidField(cert.isPresent() ? "local.key_file" : "local.cert_file",
                    "local.cert_file and local.key_file go together: give both or neither");
        }
        if (!https && (ca.isPresent() || cert.isPresent())) {
            throw AgentException.invalidField(ca.isPresent() ? "local.ca_file" : "local.cert_file",
                    "local.endpoint " + endpoint + " is http, but TLS files are given: use the member's https client URL"
                            + " or drop the files");
        }
        if (https && ca.isEmpty()) {
            throw AgentException.invalidField("local.ca_file", "local.endpoint " + endpoint
                    + " is https: local.ca_file (the CA that signed the member's certificate) is required");
        }

        Optional<String> user = Optional.of(access.getUsername()).filter(s -> !s.isEmpty());
        Optional<String> password = Optional.of(access.getPassword()).filter(s -> !s.isEmpty());
        if (user.isPresent()) {
            Grammar.require(user.get(), Pattern.compile("[^:\\s\\x00-\\x1f]{1,128}"), "local.username",
                    "1-128 characters without ':', spaces or control characters");
            if (password.isEmpty()) {
                throw AgentException.invalidField("local.password", "local.username is set but local.password is empty:"
                        + " etcdctl would prompt for it; give the password, or leave both empty to use the certificate's CN");
            }
        } else if (password.isPresent()) {
            throw AgentException.invalidField("local.username", "local.password is set but local.username is empty");
        }
        return new Checked(endpoint, ca, cert, key, user, password);
    }

    private void requireLocal(String host, String endpoint) {
        if (host.equals("localhost")) {
            return;
        }
        InetAddress address;
        try {
            if (!IPV4.matcher(host).matches() && !host.contains(":")) {
                throw AgentException.invalidField("local.endpoint", "local.endpoint " + endpoint
                        + " names a host; give an IP address of this host (or localhost): the agent resolves no names");
            }
            // A literal: no name lookup happens.
            address = InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw AgentException.invalidField("local.endpoint", "local.endpoint " + endpoint + " has no valid address: "
                    + e.getMessage());
        }
        if (address.isAnyLocalAddress()) {
            throw AgentException.invalidField("local.endpoint", "local.endpoint " + endpoint
                    + " is the wildcard address; give the address etcd listens on, e.g. 127.0.0.1");
        }
        if (address.isLoopbackAddress() || address.equals(listenAddress) || isInterfaceAddress(address)) {
            return;
        }
        throw AgentException.invalidField("local.endpoint", "local.endpoint " + endpoint
                + " is not an address of this host: the agent snapshots only its own member; use one of "
                + localAddresses() + " or loopback");
    }

    private static boolean isInterfaceAddress(InetAddress address) {
        try {
            return NetworkInterface.getByInetAddress(address) != null;
        } catch (SocketException e) {
            return false;
        }
    }

    private List<String> localAddresses() {
        List<String> addresses = new ArrayList<>(List.of(listenAddress.getHostAddress()));
        try {
            for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                for (InetAddress a : Collections.list(nic.getInetAddresses())) {
                    String text = a.getHostAddress().replaceFirst("%.*$", "");
                    if (!a.isLoopbackAddress() && !addresses.contains(text)) {
                        addresses.add(text);
                    }
                }
            }
        } catch (SocketException e) {
            // The configured address is still named.
        }
        return addresses;
    }

    private static Optional<Path> file(String text, String field, List<Path> roots) {
        if (text.isEmpty()) {
            return Optional.empty();
        }
        Path path = new PathRules(roots, "allowed_data_roots").requireInside(text, field);
        if (!Files.isRegularFile(path)) {
            throw AgentException.failedPrecondition(field + " " + path
                    + (Files.exists(path) ? " is not a regular file" : " does not exist on this host"));
        }
        if (!Files.isReadable(path)) {
            throw AgentException.failedPrecondition(field + " " + path + " is not readable by the agent's user");
        }
        return Optional.of(path);
    }
}
