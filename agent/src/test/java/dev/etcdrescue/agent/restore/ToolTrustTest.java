package dev.etcdrescue.agent.restore;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.agent.io.ProcessRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Only binaries nobody but root (or the agent's own user) could have put there are run. */
@Timeout(10)
class ToolTrustTest {
    @TempDir
    Path tmp;

    private Path tool(Path dir, String mode) throws Exception {
        Files.createDirectories(dir);
        Path file = Files.writeString(dir.resolve("etcdutl"), "#!/bin/sh\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(mode));
        return file;
    }

    private static ToolTrust asThisUser() {
        return ToolTrust.forThisProcess();
    }

    @Test
    void aToolOwnedByTheAgentsUserInPrivateDirsIsRun() throws Exception {
        assertThat(asThisUser().refusal(tool(tmp.resolve("bin"), "rwxr-xr-x"))).isEmpty();
        assertThat(asThisUser().refusal(Path.of("/bin/sh"))).isEmpty();
    }

    @Test
    void aGroupOrWorldWritableToolOrDirIsRefused() throws Exception {
        Path writable = tool(tmp.resolve("a"), "rwxrwxr-x");
        assertThat(asThisUser().refusal(writable)).get().asString().contains("writable by group or others (mode 775)");

        Path dir = tmp.resolve("b");
        Path inWritableDir = tool(dir, "rwxr-xr-x");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertThat(asThisUser().refusal(inWritableDir)).get().asString().contains(dir + " is writable by group or others");
    }

    @Test
    void aToolOfAnotherUserIsRefused() throws Exception {
        Path file = tool(tmp.resolve("c"), "rwxr-xr-x");
        int me = (Integer) Files.getAttribute(file, "unix:uid");
        ToolTrust asSomeoneElse = new ToolTrust(me == 0 ? 4242 : me + 1);
        if (me != 0) {
            assertThat(asSomeoneElse.refusal(file)).get().asString().contains("belongs to uid " + me + ", not root");
        } else {
            assertThat(asSomeoneElse.refusal(file)).isEmpty(); // root's own files are always trusted
        }
    }

    @Test
    void restoreToolsPassOverAnUnsafeBinaryAndSayWhy() throws Exception {
        Path dir = tmp.resolve("tools");
        tool(dir, "rwxrwxrwx");
        RestoreTools tools = new RestoreTools(List.of(dir), new ProcessRunner(), Duration.ofSeconds(5), asThisUser());
        assertThat(tools.find("etcdutl")).isEmpty();
        assertThat(tools.refusedNote()).contains("unsafe to run as root", dir.resolve("etcdutl") + " is writable");
    }
}
