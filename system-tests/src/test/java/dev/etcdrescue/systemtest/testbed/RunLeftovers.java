package dev.etcdrescue.systemtest.testbed;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * What of a testbed run is still on the machine: processes in its cgroups, mounts under its run dir,
 * its cgroup dirs, the run dir itself. Empty after {@link Testbed#close()}.
 */
public final class RunLeftovers {
    private RunLeftovers() {
    }

    /** Descriptions of everything left; empty when the run left nothing. */
    public static List<String> of(Path runDir, String cgroupPrefix, List<Long> systemdPids) {
        List<String> left = new ArrayList<>();
        for (long pid : systemdPids) {
            ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                    .ifPresent(p -> left.add("host systemd pid " + pid + " alive: " + p.info().commandLine().orElse("")));
        }
        left.addAll(processesInCgroups(cgroupPrefix));
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String mountPoint = line.split(" ")[4];
                if (mountPoint.startsWith(runDir.toString())) {
                    left.add("mount " + mountPoint);
                }
            }
            try (Stream<Path> hierarchies = Files.list(Path.of("/sys/fs/cgroup"))) {
                for (Path hierarchy : (Iterable<Path>) hierarchies::iterator) {
                    try (Stream<Path> groups = Files.list(hierarchy)) {
                        groups.filter(g -> g.getFileName().toString().startsWith(cgroupPrefix))
                                .forEach(g -> left.add("cgroup " + g));
                    } catch (IOException notADir) {
                        // A file in /sys/fs/cgroup, not a hierarchy.
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (Files.exists(runDir)) {
            left.add("run dir " + runDir);
        }
        return left;
    }

    /** Processes whose systemd cgroup belongs to the run, with their command lines. */
    static List<String> processesInCgroups(String cgroupPrefix) {
        List<String> found = new ArrayList<>();
        ProcessHandle.allProcesses().forEach(p -> {
            try {
                String cgroups = Files.readString(Path.of("/proc/" + p.pid() + "/cgroup"));
                if (cgroups.contains(":/" + cgroupPrefix)) {
                    found.add("pid " + p.pid() + " in the run's cgroup: " + p.info().commandLine().orElse("?"));
                }
            } catch (IOException gone) {
                // Ended while we looked.
            }
        });
        return found;
    }
}
