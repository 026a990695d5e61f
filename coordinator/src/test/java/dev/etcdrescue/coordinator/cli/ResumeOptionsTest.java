package dev.etcdrescue.coordinator.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.etcdrescue.coordinator.agent.SnapshotDistribution;
import dev.etcdrescue.coordinator.engine.Journal;
import dev.etcdrescue.coordinator.engine.RecoveryOptions;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A resumed run runs with every option the run began with: the journal's header holds them all. */
@Timeout(30)
class ResumeOptionsTest {
    @TempDir Path dir;

    /** Every option away from its default. A new option must be given a value here, and is then checked below. */
    private RecoveryOptions everyOptionChanged() {
        return new RecoveryOptions(dir.resolve("elsewhere"), true, true, true, 7, 40000, true, 4096, Duration.ofSeconds(31),
                Duration.ofSeconds(32), Duration.ofSeconds(33), true, SnapshotDistribution.Mode.RELAY,
                RecoveryOptions.FenceMode.ALWAYS, true);
    }

    @Test
    void theFixtureChangesEveryOption() throws Exception {
        RecoveryOptions changed = everyOptionChanged();
        RecoveryOptions defaults = RecoveryOptions.defaults(dir);
        for (RecordComponent c : RecoveryOptions.class.getRecordComponents()) {
            assertThat(c.getAccessor().invoke(changed)).as(c.getName()).isNotEqualTo(c.getAccessor().invoke(defaults));
        }
    }

    @TestFactory
    Stream<DynamicTest> eachOptionSurvivesTheJournal() {
        return Arrays.stream(RecoveryOptions.class.getRecordComponents()).map(c -> DynamicTest.dynamicTest(c.getName(), () -> {
            RecoveryOptions options = with(RecoveryOptions.defaults(dir.resolve(c.getName())), c, everyOptionChanged());
            Journal.create(options.workDir(), header(options));

            RecoveryOptions resumed = ResumeCommand.options(Journal.open(options.workDir()).header(), null, null);

            assertThat(c.getAccessor().invoke(resumed)).isEqualTo(c.getAccessor().invoke(options));
            assertThat(resumed).isEqualTo(options);
        }));
    }

    @Test
    void aMovedRunLivesWhereItsJournalIs() throws Exception {
        RecoveryOptions options = RecoveryOptions.defaults(dir.resolve("run"));
        Journal.create(options.workDir(), header(options));
        Path moved = Files.move(options.workDir(), dir.resolve("moved"));

        assertThat(ResumeCommand.options(Journal.open(moved).header(), null, null).workDir()).isEqualTo(moved);
    }

    @Test
    void resumeMayGiveTheTimeoutsAnew() {
        RecoveryOptions options = everyOptionChanged();
        Journal.create(options.workDir(), header(options));

        RecoveryOptions resumed = ResumeCommand.options(Journal.open(options.workDir()).header(), 600L, 900L);

        assertThat(resumed.startTimeout()).isEqualTo(Duration.ofSeconds(600));
        assertThat(resumed.verifyTimeout()).isEqualTo(Duration.ofSeconds(900));
        assertThat(resumed.withTimeouts(options.startTimeout(), options.verifyTimeout())).isEqualTo(options);
    }

    @Test
    void aJournalWithTheOptionsFlatInItsHeaderIsStillResumed() throws Exception {
        Path run = Files.createDirectories(dir.resolve("flat"));
        Files.writeString(run.resolve("journal.jsonl"), """
                {"type":"plan","header":{"operationId":"op-1","cluster":"beta","inventory":"/inv.yaml","inventorySha256":"x",\
                "keepOld":true,"allowNoHashTrailer":false,"forceWithLeader":true,"chunkSize":4096,"bumpRevision":0,\
                "fencePort":32379,"rollbackOnFailure":true,"fence":"auto"},"at":"2025-01-01T00:00:00Z"}
                {"type":"phase-done","phase":"PREFLIGHT","facts":{},"at":"2025-01-01T00:00:01Z"}
                """);

        Journal journal = Journal.open(run);
        RecoveryOptions d = RecoveryOptions.defaults(run);

        assertThat(journal.header().operationId()).isEqualTo("op-1");
        assertThat(ResumeCommand.options(journal.header(), null, null)).isEqualTo(new RecoveryOptions(run, true, false, true, 0,
                32379, true, 4096, d.claimTtl(), d.startTimeout(), d.verifyTimeout(), false, SnapshotDistribution.Mode.STREAMED,
                RecoveryOptions.FenceMode.AUTO, true));
    }

    @Test
    void aPlanThisVersionCannotReadIsRefusedAsBadInput() throws Exception {
        Path run = Files.createDirectories(dir.resolve("future"));
        Files.writeString(run.resolve("journal.jsonl"), """
                {"type":"plan","header":{"operationId":"op-1","cluster":"beta","inventory":"/inv.yaml","inventorySha256":"x",\
                "options":{"workDir":"/run","someNewOption":true}}}
                """);

        assertThatThrownBy(() -> Journal.open(run)).isInstanceOfSatisfying(UserException.class, e -> {
            assertThat(e.kind()).isEqualTo(FailureKind.BAD_INPUT);
            assertThat(e).hasMessageContaining("someNewOption").hasMessageContaining("the etcd-rescue that started it");
        });
    }

    private static Journal.Header header(RecoveryOptions options) {
        return new Journal.Header("op-1", "beta", "/inventory.yaml", "x", options);
    }

    /** {@code base} with the one option {@code c} taken from {@code from}. */
    private static RecoveryOptions with(RecoveryOptions base, RecordComponent c, RecoveryOptions from) throws Exception {
        RecordComponent[] all = RecoveryOptions.class.getRecordComponents();
        Object[] values = new Object[all.length];
        for (int i = 0; i < all.length; i++) {
            values[i] = (all[i].getName().equals(c.getName()) ? all[i].getAccessor().invoke(from) : all[i].getAccessor().invoke(base));
        }
        Class<?>[] types = Arrays.stream(all).map(RecordComponent::getType).toArray(Class<?>[]::new);
        return RecoveryOptions.class.getDeclaredConstructor(types).newInstance(values);
    }
}
