package dev.etcdrescue.coordinator.member;

import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.snapshot.EtcdClients;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.cluster.Member;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * etcd's membership calls (jetcd's Cluster API) through the healthy members, one after the other until one
 * answers: an election in between moves the leader, and any member forwards these calls to it.
 */
final class MembershipCalls implements AutoCloseable {
    private static final Duration CALL = Duration.ofSeconds(10);
    /** A membership change is a raft proposal: during an election it fails and is tried again. */
    private static final int ATTEMPTS = 5;
    private static final String NOT_IN_SYNC = "in sync with leader";
    private final EtcdClients clients;
    private final List<URI> urls;

    MembershipCalls(EtcdClients clients, List<URI> urls) {
        if (urls.isEmpty()) {
            throw new UserException(FailureKind.REFUSED, "no healthy member to send membership changes to");
        }
        this.clients = clients;
        this.urls = List.copyOf(urls);
    }

    EtcdClients clients() {
        return clients;
    }

    List<URI> urls() {
        return urls;
    }

    List<Member> list() throws InterruptedException {
        return call("member list", c -> c.getClusterClient().listMember().get(CALL.toMillis(), TimeUnit.MILLISECONDS).getMembers());
    }

    void remove(long id) throws InterruptedException {
        call("member remove " + Long.toHexString(id), c -> {
            try {
                return c.getClusterClient().removeMember(id).get(CALL.toMillis(), TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                if (String.valueOf(e.getCause().getMessage()).contains("member not found")) {
                    return null; // removed by an earlier attempt whose answer was lost
                }
                throw e;
            }
        });
    }

    long addLearner(List<URI> peerUrls) throws InterruptedException {
        return call("member add --learner " + peerUrls, c -> c.getClusterClient().addMember(peerUrls, true)
                .get(CALL.toMillis(), TimeUnit.MILLISECONDS).getMember().getId());
    }

    /** True once the member is a voting member; false while etcd says the learner is not yet in sync. */
    boolean promote(long id) throws InterruptedException {
        for (URI url : urls) {
            try (Client c = clients.forMember(url)) {
                c.getClusterClient().promoteMember(id).get(CALL.toMillis(), TimeUnit.MILLISECONDS);
                return true;
            } catch (java.util.concurrent.ExecutionException e) {
                String msg = String.valueOf(e.getCause().getMessage());
                if (msg.contains(NOT_IN_SYNC)) {
                    return false;
                }
                if (msg.contains("can only promote a learner member")) {
                    return true; // already promoted by an attempt whose answer was lost
                }
            } catch (java.util.concurrent.TimeoutException e) {
                // the next member
            }
        }
        return false;
    }

    private interface Call<T> {
        T run(Client c) throws Exception;
    }

    private <T> T call(String what, Call<T> call) throws InterruptedException {
        Exception last = null;
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            for (URI url : urls) {
                try (Client c = clients.forMember(url)) {
                    return call.run(c);
                } catch (InterruptedException e) {
                    throw e;
                } catch (Exception e) {
                    last = e;
                }
            }
            Thread.sleep(1000L * (attempt + 1));
        }
        Throwable root = last;
        while (root != null && root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        throw new UserException(FailureKind.PHASE_FAILED, what + " failed through " + urls + ": "
                + (root == null ? "no answer" : root.getMessage()));
    }

    @Override
    public void close() {
        // every call opens and closes its own client
    }
}
