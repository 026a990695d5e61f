package dev.etcdrescue.agent.preflight;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Which processes listen on an address and port, read from {@code /proc} as {@code ss -ltnp} does: the
 * kernel's TCP tables give the listening socket's inode and owner uid, each process's {@code fd} links name
 * the inodes it holds. Reading another user's fd links takes CAP_SYS_PTRACE, which the agent's unit does
 * not grant: then only the sockets' owners are known, and {@link #ownedBy} is the evidence that remains.
 */
public final class PortHolders {
    private static final String LISTEN = "0A";

    private final Path proc;

    public PortHolders(Path proc) {
        this.proc = proc;
    }

    public static PortHolders system() {
        return new PortHolders(Path.of("/proc"));
    }

    /** The pids holding a socket that listens on {@code port} at {@code address} or at the wildcard address. */
    public List<Long> holders(InetAddress address, int port) {
        Set<String> inodes = new LinkedHashSet<>();
        listeners(address, port).forEach(l -> inodes.add(l.inode()));
        List<Long> pids = new ArrayList<>();
        if (inodes.isEmpty()) {
            return pids;
        }
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(proc, "[0-9]*")) {
            for (Path dir : dirs) {
                if (holdsAny(dir.resolve("fd"), inodes)) {
                    pids.add(Long.parseLong(dir.getFileName().toString()));
                }
            }
        } catch (IOException e) {
            return pids;
        }
        return pids;
    }

    /** The sockets listening on {@code port} at {@code address} or at the wildcard address, with their owners. */
    public List<Listener> listeners(InetAddress address, int port) {
        List<Listener> all = new ArrayList<>(listening(proc.resolve("net/tcp"), address, port));
        all.addAll(listening(proc.resolve("net/tcp6"), address, port));
        return all;
    }

    /** Whether every one of {@code listeners} (at least one) belongs to the user {@code pid} runs as. */
    public boolean ownedBy(List<Listener> listeners, long pid) {
        Optional<Integer> uid = uid(pid);
        return !listeners.isEmpty() && uid.isPresent() && listeners.stream().allMatch(l -> l.uid() == uid.get());
    }

    /** A listening socket: its inode and the uid that opened it. */
    public record Listener(String inode, int uid) {}

    private Optional<Integer> uid(long pid) {
        try {
            for (String line : Files.readAllLines(proc.resolve(pid + "/status"))) {
                if (line.startsWith("Uid:")) {
                    return Optional.of(Integer.parseInt(line.substring(4).trim().split("\\s+")[0]));
                }
            }
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    /** Whether {@code pid} runs in the same cgroup as {@code unitPid}: the same systemd unit, however it was forked. */
    public boolean sameUnit(long pid, long unitPid) {
        if (pid == unitPid) {
            return true;
        }
        Optional<String> a = cgroup(pid);
        return a.isPresent() && a.equals(cgroup(unitPid));
    }

    /** The process's command name, for messages; "?" when it is gone. */
    public String command(long pid) {
        try {
            return Files.readString(proc.resolve(pid + "/comm")).strip();
        } catch (IOException e) {
            return "?";
        }
    }

    private Optional<String> cgroup(long pid) {
        try {
            // The systemd hierarchy (cgroup v1's name=systemd, or v2's single "0::" line) names the unit.
            for (String line : Files.readAllLines(proc.resolve(pid + "/cgroup"))) {
                if (line.contains(":name=systemd:") || line.startsWith("0::")) {
                    return Optional.of(line.substring(line.indexOf(':', line.indexOf(':') + 1) + 1));
                }
            }
        } catch (IOException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    private static boolean holdsAny(Path fdDir, Set<String> inodes) {
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(fdDir)) {
            for (Path fd : fds) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith("socket:[") && inodes.contains(target.substring(8, target.length() - 1))) {
                        return true;
                    }
                } catch (IOException e) {
                    // The fd closed while listed.
                }
            }
        } catch (IOException e) {
            // The process ended, or its fds are not readable.
        }
        return false;
    }

    /** Listening sockets in one of the kernel's tables ({@code /proc/net/tcp} or {@code tcp6}). */
    static List<Listener> listening(Path table, InetAddress address, int port) {
        List<Listener> found = new ArrayList<>();
        List<String> lines;
        try {
            lines = Files.readAllLines(table);
        } catch (IOException e) {
            return found;
        }
        for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 10 || !LISTEN.equals(f[3])) {
                continue;
            }
            int colon = f[1].lastIndexOf(':');
            if (Integer.parseInt(f[1].substring(colon + 1), 16) != port) {
                continue;
            }
            byte[] local = kernelAddress(f[1].substring(0, colon));
            if (isWildcard(local) || matches(local, address.getAddress())) {
                found.add(new Listener(f[9], Integer.parseInt(f[7])));
            }
        }
        return found;
    }

    /** The table's address: 32-bit words in host (little-endian) order. */
    static byte[] kernelAddress(String hex) {
        byte[] raw = HexFormat.of().parseHex(hex);
        byte[] out = new byte[raw.length];
        for (int word = 0; word < raw.length; word += 4) {
            for (int i = 0; i < 4; i++) {
                out[word + i] = raw[word + 3 - i];
            }
        }
        return out;
    }

    private static boolean isWildcard(byte[] address) {
        for (byte b : address) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    /** Equal, or an IPv4 address against its IPv4-mapped IPv6 form. */
    private static boolean matches(byte[] local, byte[] wanted) {
        if (local.length == wanted.length) {
            return java.util.Arrays.equals(local, wanted);
        }
        byte[] v6 = local.length == 16 ? local : wanted;
        byte[] v4 = local.length == 4 ? local : wanted;
        for (int i = 0; i < 10; i++) {
            if (v6[i] != 0) {
                return false;
            }
        }
        return v6[10] == (byte) 0xff && v6[11] == (byte) 0xff
                && java.util.Arrays.equals(java.util.Arrays.copyOfRange(v6, 12, 16), v4);
    }
}
