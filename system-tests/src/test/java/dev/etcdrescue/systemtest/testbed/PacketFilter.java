package dev.etcdrescue.systemtest.testbed;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Real packet drops on the testbed's loopback addresses with nftables: an {@code inet} table of the
 * test's own ({@code etcdrescue_nf_<owner pid>_<random>}) with one output chain, each rule matching
 * only an address (and port) of the test's own 127.x block or the packets a testbed host's processes
 * send (its cgroup, {@link #cutLink}), so nothing else on the machine is touched.
 * On {@code lo} every packet is sent by this machine, so each one passes the output hook: a rule there
 * drops it in whichever direction it matches. Rules carry a counter, so a test can prove the fault
 * really met traffic. Rules are removed one by one ({@link #remove}) or with the whole table
 * ({@link #close}); a table whose owner process is gone (a JVM killed before close) is removed by
 * {@link #gc} and by {@code testbed/testbed.sh gc}.
 */
public final class PacketFilter implements AutoCloseable {
    /** Every table this class creates starts so; {@code testbed.sh gc} removes leftovers by it. */
    public static final String PREFIX = "etcdrescue_nf_";
    private static final Pattern HANDLE = Pattern.compile("# handle (\\d+)");
    private static final Pattern OWNED = Pattern.compile("table inet (" + PREFIX + "(\\d+)_[0-9a-f]+)");
    private static final Pattern LOOPBACK = Pattern.compile("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}");

    /** One rule of this filter, by its nftables handle. */
    public record Rule(String description, long handle) {}

    private final String table;
    private final List<Rule> rules = new ArrayList<>();
    private int linkMarks;
    private boolean closed;

    private PacketFilter(String table) {
        this.table = table;
    }

    /** Creates the test's table with its output chain (accept by default: only the rules added drop). */
    public static PacketFilter open() {
        byte[] random = new byte[4];
        new SecureRandom().nextBytes(random);
        PacketFilter f = new PacketFilter(PREFIX + ProcessHandle.current().pid() + "_" + HexFormat.of().formatHex(random));
        nft("add", "table", "inet", f.table);
        try {
            nft("add", "chain", "inet", f.table, "out", "{ type filter hook output priority -10; policy accept; }");
        } catch (RuntimeException e) {
            f.close();
            throw e;
        }
        return f;
    }

    public String table() {
        return table;
    }

    /** New connections to {@code address:port} hang as if the host were gone (SYN dropped; established ones go on). */
    public Rule dropSyn(String address, int port) {
        return add("SYN to " + address + ":" + port, "ip daddr " + ip(address) + " tcp dport " + port
                + " tcp flags & (syn | ack) == syn counter drop");
    }

    /**
     * Every packet to {@code address:port} and every packet from it dropped: open connections to that
     * port stall without a reset, new ones hang. Two rules; both are returned.
     */
    public List<Rule> cut(String address, int port) {
        return List.of(add("to " + address + ":" + port, "ip daddr " + ip(address) + " tcp dport " + port + " counter drop"),
                add("from " + address + ":" + port, "ip saddr " + ip(address) + " tcp sport " + port + " counter drop"));
    }

    /**
     * TCP to and from {@code address:port} limited to about {@code kbytesPerSecond}: packets over the rate are dropped
     * and TCP slows down to it, so a transfer that loopback ends in milliseconds is under way long enough to be cut in
     * the middle (a token bucket: the burst holds one 64 KiB loopback packet and a few more). Two rules; both are returned.
     */
    public List<Rule> throttle(String address, int port, int kbytesPerSecond) {
        String limit = " limit rate over " + kbytesPerSecond + " kbytes/second burst 256 kbytes counter drop";
        return List.of(add("to " + address + ":" + port + " over " + kbytesPerSecond + " KB/s",
                        "ip daddr " + ip(address) + " tcp dport " + port + limit),
                add("from " + address + ":" + port + " over " + kbytesPerSecond + " KB/s", "ip saddr " + ip(address) + " tcp sport " + port
                        + limit));
    }

    /** Every packet to or from {@code address}, any port: the host is partitioned from everyone. */
    public List<Rule> isolate(String address) {
        return List.of(add("to " + address, "ip daddr " + ip(address) + " counter drop"),
                add("from " + address, "ip saddr " + ip(address) + " counter drop"));
    }

    /**
     * The link between two testbed hosts cut, both ways, while each still reaches everyone else (the
     * coordinator included). Processes dial from 127.0.0.1 whichever host they run in, so the sender is
     * told by its socket's cgroup: each host's processes live below its own cgroup v2 dir
     * ({@code /sys/fs/cgroup/unified/<cgroup>}, testbed/host-boot.sh). Every packet a process of one host
     * sends to one of {@code ports} of the other's address is dropped; a TCP connection needs both sides'
     * packets, so neither host can open or keep one to the other's ports.
     */
    public List<Rule> cutLink(String cgroupA, String addressA, String cgroupB, String addressB, int... ports) {
        // The answers of the dialled side go to 127.0.0.1, as those to the coordinator do: the connection's
        // conntrack entry is marked by the dialler's first packet after the cut, and every packet of it dropped.
        String mark = String.format("0x%08x", 0x4e460000 | (linkMarks++ & 0xffff) | (table.hashCode() & 0xff00));
        List<Rule> out = new ArrayList<>();
        for (int port : ports) {
            out.add(add("sent by " + cgroupA + " to " + addressB + ":" + port,
                    sentBy(cgroupA) + " ip daddr " + ip(addressB) + " tcp dport " + port + " ct mark set " + mark + " counter drop"));
            out.add(add("sent by " + cgroupB + " to " + addressA + ":" + port,
                    sentBy(cgroupB) + " ip daddr " + ip(addressA) + " tcp dport " + port + " ct mark set " + mark + " counter drop"));
        }
        out.add(add("answers on connections between " + cgroupA + " and " + cgroupB, "ct mark " + mark + " counter drop"));
        return out;
    }

    /** Every packet a process of the testbed host {@code cgroup} sends to TCP port {@code port} of any address. */
    public Rule dropSentBy(String cgroup, int port) {
        return add("sent by " + cgroup + " to port " + port, sentBy(cgroup) + " tcp dport " + port + " counter drop");
    }

    /** Removes one rule; the others stay. */
    public void remove(Rule rule) {
        nft("delete", "rule", "inet", table, "out", "handle", Long.toString(rule.handle()));
        rules.remove(rule);
    }

    public void remove(List<Rule> some) {
        for (Rule r : List.copyOf(some)) {
            remove(r);
        }
    }

    /** Packets the rule has dropped so far. */
    public long packets(Rule rule) {
        Pattern line = Pattern.compile("counter packets (\\d+) bytes \\d+ drop # handle " + rule.handle() + "\\b");
        Matcher m = line.matcher(nft("-a", "list", "chain", "inet", table, "out"));
        if (!m.find()) {
            throw new IllegalStateException("no rule with handle " + rule.handle() + " in table " + table);
        }
        return Long.parseLong(m.group(1));
    }

    public long packets(List<Rule> some) {
        return some.stream().mapToLong(this::packets).sum();
    }

    public List<Rule> rules() {
        return List.copyOf(rules);
    }

    /** Removes the table with every rule in it; a table already gone is fine. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        rules.clear();
        if (tables().contains(table)) {
            nft("delete", "table", "inet", table);
        }
    }

    /** Names of the tables this class created that exist now, any owner. */
    public static List<String> tables() {
        List<String> found = new ArrayList<>();
        Matcher m = OWNED.matcher(nft("list", "tables"));
        while (m.find()) {
            found.add(m.group(1));
        }
        return found;
    }

    /** Removes the tables whose owner process is gone (a test JVM killed before its close ran); returns their names. */
    public static List<String> gc() {
        List<String> removed = new ArrayList<>();
        Matcher m = OWNED.matcher(nft("list", "tables"));
        while (m.find()) {
            long owner = Long.parseLong(m.group(2));
            if (ProcessHandle.of(owner).map(ProcessHandle::isAlive).orElse(false)) {
                continue;
            }
            nft("delete", "table", "inet", m.group(1));
            removed.add(m.group(1));
        }
        return removed;
    }

    private Rule add(String description, String match) {
        if (closed) {
            throw new IllegalStateException("packet filter " + table + " is closed");
        }
        List<String> argv = new ArrayList<>(List.of("-e", "-a", "add", "rule", "inet", table, "out"));
        argv.addAll(List.of(match.split(" ")));
        String echoed = nft(argv.toArray(String[]::new));
        Matcher m = HANDLE.matcher(echoed);
        if (!m.find()) {
            throw new IllegalStateException("nft did not echo the handle of the rule '" + match + "': " + echoed);
        }
        Rule r = new Rule(description, Long.parseLong(m.group(1)));
        rules.add(r);
        return r;
    }

    /** A testbed host's cgroup only (etcd-rescue-testbed-<run>-<host>): its processes are the test's own. */
    private static String sentBy(String cgroup) {
        if (!cgroup.matches("etcd-rescue-testbed-[A-Za-z0-9._-]+") || !java.nio.file.Files.isDirectory(
                java.nio.file.Path.of("/sys/fs/cgroup/unified", cgroup))) {
            throw new IllegalArgumentException("not a testbed host's cgroup v2 dir: /sys/fs/cgroup/unified/" + cgroup);
        }
        return "socket cgroupv2 level 1 \"unified/" + cgroup + "\"";
    }

    /** Only the testbed's own loopback addresses: a typo must not drop a real host's traffic. */
    private static String ip(String address) {
        if (!LOOPBACK.matcher(address).matches() || address.startsWith("127.0.0.")) {
            throw new IllegalArgumentException("packet filters match only a testbed address in 127.0.0.0/8 outside 127.0.0.x, not "
                    + address);
        }
        return address;
    }

    private static String nft(String... args) {
        List<String> argv = new ArrayList<>(List.of("nft"));
        argv.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", argv) + " did not end in 30 s");
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", argv) + " failed (exit " + p.exitValue() + "): " + out.strip());
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run nft (apt-get install nftables)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running nft", e);
        }
    }
}
