package dev.etcdrescue.coordinator.member;

import dev.etcdrescue.coordinator.snapshot.EtcdClients;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.maintenance.StatusResponse;
import java.net.URI;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * How far a learner has come: its raft index against the highest of the voting members', and from the
 * rate so far, when it will be there. A learner that does not answer yet (still fetching the leader's
 * snapshot, or not started) is at index 0.
 */
final class LearnerProgress {
    private static final long CALL_MILLIS = 2000;
    private final EtcdClients clients;
    private final URI learner;
    private final List<URI> voters;
    private final long startedAt = System.nanoTime();
    private long firstIndex = -1;
    private long firstAt;

    LearnerProgress(EtcdClients clients, URI learner, List<URI> voters) {
        this.clients = clients;
        this.learner = learner;
        this.voters = List.copyOf(voters);
    }

    record Sample(long learnerIndex, long leaderIndex, long etaSeconds, long elapsedSeconds) {
        String describe(String name) {
            if (learnerIndex <= 0) {
                return "learner " + name + " not answering yet (fetching the data or starting), " + elapsedSeconds + "s";
            }
            long pct = leaderIndex <= 0 ? 0 : Math.min(100, learnerIndex * 100 / leaderIndex);
            return "learner " + name + " at raft index " + learnerIndex + " of " + leaderIndex + " (" + pct + "%), "
                    + (etaSeconds < 0 ? "ETA unknown" : "ETA " + etaSeconds + "s") + ", " + elapsedSeconds + "s";
        }
    }

    Sample sample() {
        // The learner first: asked after the voters, it could already be past what they said.
        long mine = index(learner, true);
        long leader = 0;
        for (URI v : voters) {
            leader = Math.max(leader, index(v, false));
        }
        long now = System.nanoTime();
        if (mine > 0 && firstIndex < 0) {
            firstIndex = mine;
            firstAt = now;
        }
        long eta = -1;
        if (firstIndex >= 0 && mine > firstIndex && leader > mine) {
            double perNano = (double) (mine - firstIndex) / (now - firstAt);
            eta = (long) ((leader - mine) / perNano / 1e9);
        } else if (mine > 0 && leader > 0 && mine >= leader) {
            eta = 0;
        }
        return new Sample(mine, leader, eta, (now - startedAt) / 1_000_000_000L);
    }

    private long index(URI url, boolean applied) {
        try (Client c = clients.forMember(url)) {
            StatusResponse s = c.getMaintenanceClient().statusMember(url.toString()).get(CALL_MILLIS, TimeUnit.MILLISECONDS);
            return applied && s.getRaftAppliedIndex() > 0 ? s.getRaftAppliedIndex() : s.getRaftIndex();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        } catch (Exception e) {
            return 0;
        }
    }
}
