package dev.etcdrescue.agent.restore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The service user can rename things in the directory that holds a restored tree while root hands
 * the tree over. A thread keeps swapping a subdirectory for a link to a victim directory outside
 * the tree during real hand-overs; nothing outside the tree may change owner or mode. Needs root
 * (chown), as the agent has.
 */
@Timeout(120)
class HandOverRaceTest {
    private static final int FILES = 500;
    private static final int ROUNDS = 30;
    private static final String USER = "nobody";
    private static final AtomicBoolean STOP = new AtomicBoolean();

    @TempDir
    Path base;

    @Test
    void aSubdirectorySwappedForALinkDuringTheHandOverNeverLeadsOutOfTheTree() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "chown needs root");
        Path victim = Files.createDirectory(base.resolve("victim"));
        for (int i = 0; i < FILES; i++) {
            Files.writeString(victim.resolve(name(i)), "not the tree's");
        }
        Map<Path, String> victimBefore = ownersAndModes(victim);
        AtomicInteger swaps = new AtomicInteger();

        for (int round = 0; round < ROUNDS; round++) {
            Path dataDir = restoredTree(base.resolve("data-" + round));
            Thread swapper = swapper(dataDir, victim, swaps);
            STOP.set(false);
            swapper.start();
            try {
                DataDirOwner.handOver(dataDir, USER, Optional.empty());
            } catch (RuntimeException | IOException refused) {
                // Refusing a tree that changed under the hand-over is fine; leaving it is what matters.
            } finally {
                STOP.set(true);
                swapper.join();
            }
            Map<Path, String> victimNow = ownersAndModes(victim);
            assertThat(victimNow.entrySet()).as("entries outside the tree changed in round %d", round)
                    .filteredOn(e -> !e.getValue().equals(victimBefore.get(e.getKey()))).isEmpty();
        }
        assertThat(swaps.get()).as("swaps during the hand-overs").isPositive();
    }

    @Test
    void anUntouchedTreeIsHandedOverWhole() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "chown needs root");
        Path dataDir = restoredTree(base.resolve("data"));

        DataDirOwner.handOver(dataDir, USER, Optional.empty());

        try (Stream<Path> tree = Files.walk(dataDir)) {
            assertThat(tree).allSatisfy(p -> assertThat(Files.getOwner(p, LinkOption.NOFOLLOW_LINKS).getName())
                    .isEqualTo(USER));
        }
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dataDir))).isEqualTo("rwx------");
    }

    /** A tree as a restore run by root leaves it: root-owned 0700 directories, files named like the victim's. */
    private static Path restoredTree(Path parent) throws IOException {
        Path dataDir = parent.resolve("new.etcd");
        Path member = Files.createDirectories(dataDir.resolve("member"));
        for (Path dir : new Path[] {parent, dataDir, member}) {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        }
        for (int i = 0; i < FILES; i++) {
            Files.writeString(member.resolve(name(i)), "restored");
        }
        return dataDir;
    }

    /** Swaps {@code dataDir/member} for a link to {@code victim} and back, until stopped. */
    private static Thread swapper(Path dataDir, Path victim, AtomicInteger swaps) throws IOException {
        Path member = dataDir.resolve("member");
        Path real = dataDir.resolve("member.real");
        Path link = Files.createSymbolicLink(dataDir.resolve("member.link"), victim);
        return new Thread(() -> {
            try {
                while (!STOP.get()) {
                    Files.move(member, real, StandardCopyOption.ATOMIC_MOVE);
                    Files.move(link, member, StandardCopyOption.ATOMIC_MOVE);
                    swaps.incrementAndGet();
                    Thread.onSpinWait();
                    Files.move(member, link, StandardCopyOption.ATOMIC_MOVE);
                    Files.move(real, member, StandardCopyOption.ATOMIC_MOVE);
                }
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }, "swapper");
    }

    private static Map<Path, String> ownersAndModes(Path dir) throws IOException {
        Map<Path, String> result = new HashMap<>();
        try (Stream<Path> tree = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) tree::iterator) {
                PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                result.put(p, a.owner().getName() + ":" + a.group().getName() + " "
                        + PosixFilePermissions.toString(a.permissions()));
            }
        }
        return result;
    }

    private static String name(int i) {
        return String.format("f%03d", i);
    }
}
