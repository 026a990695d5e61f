package dev.etcdrescue.agent.preflight;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.agent.io.ProcessRunner;
import dev.etcdrescue.agent.restore.RestoreTools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tools detected by running them (shell scripts here), once, and again only when a binary changes. */
class HostToolsTest {
    @TempDir
    Path dir;

    @Test
    void detectsOnceAndAgainOnlyWhenABinaryIsReplacedOrAdded() throws Exception {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path runs = dir.resolve("runs.log");
        tool(bin, "etcd", "3.4.23", runs);
        tool(bin, "etcdctl", "3.4.23", runs);
        HostTools tools = new HostTools(new RestoreTools(List.of(bin), new ProcessRunner(), Duration.ofSeconds(10)));

        HostTools.Snapshot first = tools.get();
        long afterFirst = lines(runs);
        HostTools.Snapshot again = tools.get();

        assertThat(first.etcdVersion()).contains("3.4.23");
        assertThat(first.restoreTool()).hasValueSatisfying(t -> assertThat(t.version()).isEqualTo("3.4.23"));
        assertThat(afterFirst).as("processes run by the first detection").isPositive();
        assertThat(lines(runs)).as("nothing run the second time").isEqualTo(afterFirst);
        assertThat(again).isSameAs(first);

        Path upgraded = dir.resolve("etcdctl.new");
        tool(dir, "etcdctl.new", "3.5.16", runs);
        Files.move(upgraded, bin.resolve("etcdctl"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        assertThat(tools.get().restoreTool()).hasValueSatisfying(t -> assertThat(t.version()).isEqualTo("3.5.16"));

        tool(bin, "etcdutl", "3.5.16", runs);
        assertThat(tools.get().restoreTool()).hasValueSatisfying(t -> assertThat(t.path()).isEqualTo(bin.resolve("etcdutl")));
    }

    private static void tool(Path dir, String name, String version, Path runs) throws Exception {
        Path script = dir.resolve(name);
        Files.writeString(script, "#!/bin/sh\necho run >> '" + runs + "'\n"
                + "case \"$*\" in *help*) echo '--skip-hash-check --bump-revision' ;; *) echo '" + name + " version: " + version + "' ;; esac\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private static long lines(Path file) throws Exception {
        return Files.exists(file) ? Files.readAllLines(file).size() : 0;
    }
}
