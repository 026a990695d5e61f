package dev.etcdrescue.agent.it;

import org.junit.jupiter.api.Tag;
import static dev.etcdrescue.agent.testing.AgentFixture.header;
import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.agent.testing.AgentFixture;
import dev.etcdrescue.testsupport.FreePorts;
import dev.etcdrescue.agent.testing.SourceSnapshot;
import dev.etcdrescue.proto.v1.ConfigureRequest;
import dev.etcdrescue.proto.v1.ConfigureResult;
import dev.etcdrescue.proto.v1.EnvSetting;
import dev.etcdrescue.proto.v1.Finding;
import dev.etcdrescue.proto.v1.Member;
import dev.etcdrescue.proto.v1.MemberSpec;
import dev.etcdrescue.proto.v1.PreflightReport;
import dev.etcdrescue.proto.v1.PreflightRequest;
import dev.etcdrescue.proto.v1.RenderedPlan;
import dev.etcdrescue.proto.v1.RestoreRequest;
import dev.etcdrescue.proto.v1.RestoreResult;
import dev.etcdrescue.proto.v1.Severity;
import dev.etcdrescue.proto.v1.TransferResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Preflight's rendered plan (the dry run) is what RestoreMember and ConfigureMember then really run
 * and write, and producing it changes nothing on the host. Real snapshot, real etcdctl, real files.
 */
@Tag("etcd")
@Timeout(120)
class PreflightPlanTest {
    private static final String OP = "op-plan-1";
    private static SourceSnapshot snapshot;

    @TempDir
    static Path shared;
    @TempDir
    Path tmp;
    private AgentFixture agent;
    private Path dataDir;
    private final int peerPort = FreePorts.loopback();
    private final int clientPort = FreePorts.loopback();

    @BeforeAll
    static void takeSnapshot() throws Exception {
        snapshot = SourceSnapshot.take(shared);
    }

    @BeforeEach
    void startAgent() throws Exception {
        agent = new AgentFixture(tmp);
        agent.claim(OP);
        dataDir = agent.dataRoot.resolve("new.etcd");
    }

    @AfterEach
    void stopAgent() {
        agent.close();
    }

    @Test
    void thePlanIsWhatRestoreAndConfigureThenDoAndRenderingItChangesNothing() throws Exception {
        TransferResult staged = agent.stage(OP, "snap-1", snapshot.bytes(), snapshot.sha256());
        Files.createDirectories(dataDir);
        Files.writeString(dataDir.resolve("what-was-there"), "old member data");
        Path envFile = agent.envDir.resolve("etcd_new");
        Files.writeString(envFile, "ETCD_NAME=\"hand-written\"\n");
        Map<String, String> before = hostState();

        PreflightReport report = agent.coordinator().preflight(preflight().build());

        assertThat(hostState()).as("state_dir, env_dir, unit_dir and the data root after Preflight").isEqualTo(before);
        RenderedPlan plan = report.getPlan();
        assertThat(plan.getRestoreCommandList()).startsWith("/usr/bin/etcdctl", "snapshot", "restore", "<snapshot>")
                .contains("--data-dir=" + dataDir, "--name=m-0", "--initial-cluster-token=tok");
        assertThat(plan.getDataDir()).isEqualTo(dataDir.toString());
        assertThat(plan.getDataDirMovedAsideTo()).isEqualTo(dataDir + ".etcd-rescue-" + OP);
        assertThat(plan.getEnvFile()).isEqualTo(envFile.toString());
        assertThat(plan.getEnvFileContent()).contains("ETCD_NAME=\"m-0\"\n", "ETCD_LOGGER=\"zap\"\n");
        assertThat(plan.getCurrentEnvFileContent()).isEqualTo("ETCD_NAME=\"hand-written\"\n");
        assertThat(plan.getUnitFile()).isEqualTo(agent.unitDir.resolve("etcd_new.service").toString());
        assertThat(plan.getUnitFileContent()).contains("\nEnvironmentFile=" + envFile + "\n");
        assertThat(plan.getCurrentUnitFileContent()).isEmpty();
        assertThat(codes(report)).contains("WARNING data-dir-exists", "WARNING env-file-exists-differs")
                .noneMatch(c -> c.startsWith("ERROR"));

        RestoreResult restored = agent.coordinator().restoreMember(RestoreRequest.newBuilder().setHeader(header(OP))
                .setTransferId("snap-1").setMember(member()).build());
        assertThat(restored.getCommandList()).isEqualTo(plan.getRestoreCommandList().stream()
                .map(arg -> arg.equals("<snapshot>") ? staged.getStagedPath() : arg).toList());
        assertThat(restored.getMovedAsideTo()).isEqualTo(plan.getDataDirMovedAsideTo());
        ConfigureResult configured = agent.coordinator().configureMember(configure());
        assertThat(configured.getEnvFileContent()).isEqualTo(plan.getEnvFileContent());
        assertThat(configured.getUnitFileContent()).isEqualTo(plan.getUnitFileContent());

        PreflightReport again = agent.coordinator().preflight(preflight().build());
        assertThat(codes(again)).contains("WARNING env-file-exists-same", "WARNING unit-exists-same")
                .noneMatch(c -> c.startsWith("ERROR"));
        assertThat(again.getPlan().getCurrentEnvFileContent()).isEqualTo(again.getPlan().getEnvFileContent());
        assertThat(again.getPlan().getCurrentUnitFileContent()).isEqualTo(again.getPlan().getUnitFileContent());
    }

    @Test
    void aDataDirWhoseParentIsMissingIsAnErrorBeforeRestoreWouldRefuseIt() throws Exception {
        Path orphan = agent.dataRoot.resolve("not-created").resolve("new.etcd");
        PreflightReport report = agent.coordinator().preflight(preflight()
                .setMember(member().toBuilder().setDataDir(orphan.toString())).build());

        Finding f = finding(report, "data-dir-parent-missing");
        assertThat(f.getSeverity()).isEqualTo(Severity.ERROR);
        assertThat(f.getField()).isEqualTo("member.data_dir");
        assertThat(f.getMessage()).startsWith("the parent directory " + orphan.getParent() + " of " + orphan + " does not exist");
        assertThat(codes(agent.coordinator().preflight(preflight().build()))).doesNotContain("ERROR data-dir-parent-missing");
    }

    @Test
    void aUnitThatExistsWithOtherContentIsAnError() throws Exception {
        Path unitFile = agent.unitDir.resolve("etcd_new.service");
        Files.writeString(unitFile, "# Generated by etcd-rescue for operation op-earlier\n"
                + "[Service]\nExecStart=/usr/bin/etcd --name live-member\n");

        PreflightReport report = agent.coordinator().preflight(preflight().build());

        assertThat(report.getUnitExists()).isTrue();
        assertThat(report.getPlan().getCurrentUnitFileContent()).contains("live-member");
        assertThat(report.getFindingsList()).anySatisfy(f -> {
            assertThat(f.getSeverity()).isEqualTo(Severity.ERROR);
            assertThat(f.getCode()).isEqualTo("unit-exists-differs");
            assertThat(f.getField()).isEqualTo("new_unit");
            assertThat(f.getMessage()).startsWith(unitFile + " exists with other content");
        });
    }

    @Test
    void renderingErrorsAreFindingsNamingTheFieldNotFailures() throws Exception {
        Map<String, String> before = hostState();

        PreflightReport injected = agent.coordinator().preflight(preflight().setExtra(0, EnvSetting.newBuilder()
                .setKey("ETCD_LOGGER").setValue("zap\nETCD_DATA_DIR=/etc")).build());
        PreflightReport unknown = agent.coordinator().preflight(preflight().setExtra(0, EnvSetting.newBuilder()
                .setKey("ETCD_UNSAFE_NO_FSYNC").setValue("true")).build());
        PreflightReport bumped = agent.coordinator().preflight(preflight().setBumpRevision(1_000_000).build());

        assertThat(finding(injected, "invalid-extra")).satisfies(f -> {
            assertThat(f.getSeverity()).isEqualTo(Severity.ERROR);
            assertThat(f.getField()).isEqualTo("extra[0].value");
            assertThat(f.getMessage()).contains("ETCD_LOGGER", "\\x0a");
        });
        assertThat(injected.getPlan().getEnvFileContent()).isEmpty();
        assertThat(injected.getPlan().getUnitFileContent()).as("the unit does not depend on extras").isNotEmpty();
        assertThat(finding(unknown, "invalid-extra").getField()).isEqualTo("extra[0].key");
        assertThat(finding(bumped, "restore-option-unsupported")).satisfies(f -> {
            assertThat(f.getSeverity()).isEqualTo(Severity.ERROR);
            assertThat(f.getField()).isEqualTo("bump_revision");
            assertThat(f.getMessage()).contains("etcdctl 3.4.23", "--bump-revision");
        });
        assertThat(bumped.getPlan().getRestoreCommandList()).isEmpty();
        assertThat(hostState()).isEqualTo(before);
    }

    private static Finding finding(PreflightReport report, String code) {
        return report.getFindingsList().stream().filter(f -> f.getCode().equals(code)).findFirst()
                .orElseThrow(() -> new AssertionError("no finding " + code + " in " + report.getFindingsList()));
    }

    private static List<String> codes(PreflightReport report) {
        return report.getFindingsList().stream().map(f -> f.getSeverity() + " " + f.getCode()).toList();
    }

    private MemberSpec member() {
        String peer = "http://127.0.0.1:" + peerPort;
        return MemberSpec.newBuilder().setName("m-0").addPeerUrls(peer).addClientUrls("http://127.0.0.1:" + clientPort)
                .setDataDir(dataDir.toString()).setInitialClusterToken("tok")
                .addInitialCluster(Member.newBuilder().setName("m-0").addPeerUrls(peer)).build();
    }

    private PreflightRequest.Builder preflight() {
        return PreflightRequest.newBuilder().setHeader(header(OP)).setMember(member()).setSnapshotSize(snapshot.bytes().length)
                .setNewUnit("etcd_new").setBaseUnit("etcd")
                .addExtra(EnvSetting.newBuilder().setKey("ETCD_LOGGER").setValue("zap"));
    }

    private ConfigureRequest configure() {
        return ConfigureRequest.newBuilder().setHeader(header(OP)).setMember(member()).setNewUnit("etcd_new")
                .setBaseUnit("etcd").addExtra(EnvSetting.newBuilder().setKey("ETCD_LOGGER").setValue("zap")).build();
    }

    /** Every path under state_dir, env_dir, unit_dir and the data root: type, size, mode, mtime, content digest. */
    private Map<String, String> hostState() throws Exception {
        Map<String, String> state = new TreeMap<>();
        for (Path root : List.of(agent.stateDir, agent.envDir, agent.unitDir, agent.dataRoot)) {
            try (Stream<Path> paths = Files.walk(root)) {
                for (Path p : (Iterable<Path>) paths::iterator) {
                    boolean file = Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS);
                    state.put(p.toString(), (file ? "file " + Files.size(p) : "dir") + " "
                            + PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS))
                            + " " + Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toMillis()
                            + (file ? " " + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                            .digest(Files.readAllBytes(p))) : ""));
                }
            }
        }
        return state;
    }
}
