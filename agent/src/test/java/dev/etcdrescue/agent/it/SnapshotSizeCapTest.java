package dev.etcdrescue.agent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.agent.testing.AgentFixture;
import dev.etcdrescue.agent.testing.Uploads;
import dev.etcdrescue.proto.v1.BeginTransferRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** max_snapshot_bytes bounds what a transfer may write to staging, also when no size is announced (live). */
@Tag("etcd")
@Timeout(60)
class SnapshotSizeCapTest {
    private static final String OP = "op-cap-1";
    @TempDir
    java.nio.file.Path tmp;
    private AgentFixture agent;

    @BeforeEach
    void start() throws Exception {
        agent = AgentFixture.withConfig(tmp, "", "max_snapshot_bytes: 256KiB");
        agent.claim(OP);
    }

    @AfterEach
    void stop() {
        agent.close();
    }

    @Test
    void anAnnouncedSizeAboveTheCapIsRefusedUpFront() {
        assertThatThrownBy(() -> agent.coordinator().beginTransfer(BeginTransferRequest.newBuilder()
                .setHeader(agent.headerFor(OP)).setTransferId("big").setTotalSize(256 * 1024 + 1).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
                    assertThat(e.getStatus().getDescription()).contains("max_snapshot_bytes (262144)");
                });
    }

    @Test
    void aLiveStreamIsCutOffAtTheCapAndWritesNoMore() throws Exception {
        agent.coordinator().beginTransfer(BeginTransferRequest.newBuilder().setHeader(agent.headerFor(OP))
                .setTransferId("live").build());
        byte[] bytes = new byte[6 * Uploads.CHUNK];

        assertThatThrownBy(() -> Uploads.upload(agent.coordinatorAsync(), agent.headerFor(OP), "live", bytes, 0,
                UnaryOperator.identity()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
                    assertThat(e.getStatus().getDescription()).contains("max_snapshot_bytes (262144)");
                });
        java.nio.file.Path staging = agent.config.stagingDir();
        try (var files = Files.list(staging)) {
            for (var file : files.toList()) {
                assertThat(Files.size(file)).as(file.toString()).isLessThanOrEqualTo(256 * 1024);
            }
        }
    }
}
