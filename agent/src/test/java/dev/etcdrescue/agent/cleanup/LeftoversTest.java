package dev.etcdrescue.agent.cleanup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.etcdrescue.agent.journal.JournalEntry;
import dev.etcdrescue.agent.journal.OperationJournal;
import dev.etcdrescue.proto.v1.Leftover;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LeftoversTest {
    @TempDir
    Path base;

    private Path dataRoot;
    private OperationJournal journal;
    private Leftovers leftovers;

    @BeforeEach
    void setUp() throws IOException {
        dataRoot = Files.createDirectories(base.resolve("var/lib/etcd"));
        journal = new OperationJournal(base.resolve("state/journal"), Clock.systemUTC());
        leftovers = new Leftovers(journal, Files.createDirectories(base.resolve("state/staging")));
    }

    @Test
    void onlyWhatAJournalRecordedIsListedAndRemovedADecoyWithTheSameNamePatternSurvives() throws IOException {
        Path movedAside = tree(dataRoot.resolve("new.etcd.etcd-rescue-op-1"));
        Path rolledBack = tree(dataRoot.resolve("new.etcd.rolled-back-op-2"));
        journal.append("op-1", JournalEntry.movedAside(1, dataRoot.resolve("new.etcd").toString(), movedAside.toString()));
        journal.append("op-2", JournalEntry.leftAside(2, dataRoot.resolve("new.etcd").toString(), rolledBack.toString()));
        Path decoy = tree(dataRoot.resolve("x.etcd-rescue-1"));
        Path decoy2 = tree(dataRoot.resolve("y.rolled-back-op-2"));

        List<Leftover> found = leftovers.find();

        assertThat(found).extracting(Leftover::getPath, Leftover::getKind).containsExactly(
                org.assertj.core.api.Assertions.tuple(movedAside.toString(), "moved-aside"),
                org.assertj.core.api.Assertions.tuple(rolledBack.toString(), "rolled-back"));
        assertThat(leftovers.remove(found)).containsExactly(movedAside.toString(), rolledBack.toString());
        assertThat(movedAside).doesNotExist();
        assertThat(rolledBack).doesNotExist();
        assertThat(decoy.resolve("member/snap/db")).exists();
        assertThat(decoy2.resolve("member/snap/db")).exists();
    }

    @Test
    void aJournaledNameSwappedForALinkLosesTheLinkNotWhatItPointsTo() throws IOException {
        Path victim = tree(base.resolve("etc"));
        Path movedAside = tree(dataRoot.resolve("new.etcd.etcd-rescue-op-1"));
        journal.append("op-1", JournalEntry.movedAside(1, dataRoot.resolve("new.etcd").toString(), movedAside.toString()));
        List<Leftover> found = leftovers.find();
        Files.move(movedAside.resolve("member"), dataRoot.resolve("elsewhere"));
        Files.createSymbolicLink(movedAside.resolve("member"), victim.resolve("member"));

        leftovers.remove(found);

        assertThat(movedAside).doesNotExist();
        assertThat(victim.resolve("member/snap/db")).exists();
        assertThat(victim.resolve("member/wal")).isDirectory();

        Path top = tree(dataRoot.resolve("new.etcd.etcd-rescue-op-3"));
        journal.append("op-3", JournalEntry.movedAside(1, dataRoot.resolve("new.etcd").toString(), top.toString()));
        found = leftovers.find();
        Files.move(top, dataRoot.resolve("elsewhere-3"));
        Files.createSymbolicLink(top, victim);

        leftovers.remove(found);

        assertThat(Files.exists(top, LinkOption.NOFOLLOW_LINKS)).isFalse();
        assertThat(victim.resolve("member/snap/db")).exists();
    }

    @Test
    void whatIsNoLongerThereIsNotListed() throws IOException {
        journal.append("op-1", JournalEntry.movedAside(1, dataRoot.resolve("new.etcd").toString(),
                dataRoot.resolve("new.etcd.etcd-rescue-op-1").toString()));

        assertThat(leftovers.find()).isEmpty();
    }

    private static Path tree(Path dir) throws IOException {
        Files.createDirectories(dir.resolve("member/snap"));
        Files.createDirectories(dir.resolve("member/wal"));
        Files.writeString(dir.resolve("member/snap/db"), "data");
        return dir;
    }
}
