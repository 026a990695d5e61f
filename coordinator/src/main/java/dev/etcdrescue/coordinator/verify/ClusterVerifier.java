package dev.etcdrescue.coordinator.verify;

import dev.etcdrescue.coordinator.inventory.ClusterPlan;
import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.report.RecoveryReport.Check;
import dev.etcdrescue.coordinator.snapshot.EtcdClients;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.cluster.Member;
import io.etcd.jetcd.maintenance.AlarmMember;
import io.etcd.jetcd.maintenance.StatusResponse;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Checks the restored cluster against the plan with etcd's own answers (jetcd), member by member:
 * nothing is taken on the agents' word.
 */
public final class ClusterVerifier {
    private static final Duration CALL = Duration.ofSeconds(5);
    /** hashkv scans a member's whole keyspace: seconds per GiB on a busy host, so far longer than a plain call. */
    private static final Duration HASH_CALL = Duration.ofMinutes(2);
    /** Between rounds of the health wait: a member that just started answers within tens of milliseconds. */
    private static final Duration RETRY = Duration.ofMillis(100);
    private static final Duration MIN_CALL = Duration.ofMillis(500);
    private final EtcdClients clients;

    public ClusterVerifier(EtcdClients clients) {
        this.clients = clients;
    }

    /**
     * @param expectedRevision the snapshot's revision (plus any bump), or -1 to only require that members agree
     * @param source the old member the snapshot came from, if any: its hashkv at that revision must match
     */
    public List<Check> verify(ClusterPlan plan, long expectedRevision, Optional<URI> source, Duration healthTimeout)
            throws InterruptedException {
        return verify(plan, expectedRevision, 0, source, healthTimeout);
    }

    /**
     * @param bump what the restore added to every revision: the source's hashkv is then not comparable,
     *     so the keys and values themselves are compared with the source's at {@code expectedRevision - bump}
     */
    public List<Check> verify(ClusterPlan plan, long expectedRevision, long bump, Optional<URI> source, Duration healthTimeout)
            throws InterruptedException {
        return verify(plan, expectedRevision, bump, source, Optional.empty(), healthTimeout);
    }

    /** @param recorded the source's answers taken before it was stopped (a restore in place): compared instead of asking it */
    public List<Check> verify(ClusterPlan plan, long expectedRevision, long bump, Optional<URI> source,
                              Optional<SourceRecord> recorded, Duration healthTimeout) throws InterruptedException {
        // The plan's own TLS and auth when it has any (a plan rebuilt without them keeps the clients' own).
        EtcdClients forPlan = clients.with(plan.etcdAccess());
        if (forPlan != clients) {
            return new ClusterVerifier(forPlan).verify(plan, expectedRevision, bump, source, recorded, healthTimeout);
        }
        List<Check> checks = new ArrayList<>();
        Map<MemberPlan, StatusResponse> status = waitHealthy(plan, healthTimeout, checks);
        if (status.size() != plan.members().size()) {
            return checks;
        }
        MemberPlan first = plan.members().get(0);
        if (!membership(plan, first, status, checks)) {
            return checks;
        }
        long revision = expectedRevision >= 0 ? expectedRevision : status.values().iterator().next().getHeader().getRevision();
        checks.add(revision(plan, status, revision));
        if (recorded.isPresent()) {
            checks.add(hashes(plan, revision, Optional.empty()));
            checks.add(sameAsRecorded(first, recorded.get(), revision));
            return checks;
        }
        checks.add(hashes(plan, revision, bump > 0 ? Optional.empty() : source));
        if (bump > 0 && source.isPresent()) {
            checks.add(sameData(first, source.get(), revision - bump));
        }
        return checks;
    }

    /** The member list as planned, no alarm, one leader, read from {@code first}; false when it could not be read. */
    private boolean membership(ClusterPlan plan, MemberPlan first, Map<MemberPlan, StatusResponse> status, List<Check> checks) {
        try (Client c = clients.forMember(first.clientUrls().get(0))) {
            List<Member> members = c.getClusterClient().listMember().get(CALL.toMillis(), TimeUnit.MILLISECONDS).getMembers();
            checks.add(memberList(plan, members));
            List<AlarmMember> alarms = c.getMaintenanceClient().listAlarms().get(CALL.toMillis(), TimeUnit.MILLISECONDS).getAlarms();
            checks.add(new Check("no alarm", alarms.isEmpty(), alarms.isEmpty() ? "none raised"
                    : alarms.stream().map(a -> a.getAlarmType() + " on member " + Long.toHexString(a.getMemberId())).toList().toString()));
            checks.add(leader(plan, status, members));
            return true;
        } catch (Exception e) {
            checks.add(new Check("member list", false, "could not read from " + first.hostName() + ": " + root(e)));
            return false;
        }
    }

    /**
     * The checks of a cluster that serves writes while it is checked (after replace-member): every member healthy,
     * the member list as planned with no learner, one leader, no alarm, and hashkv equal at the lowest revision
     * any member reported (members apply writes at slightly different moments, so their revisions may differ).
     */
    public List<Check> verifyServing(ClusterPlan plan, Duration healthTimeout) throws InterruptedException {
        EtcdClients forPlan = clients.with(plan.etcdAccess());
        if (forPlan != clients) {
            return new ClusterVerifier(forPlan).verifyServing(plan, healthTimeout);
        }
        List<Check> checks = new ArrayList<>();
        Map<MemberPlan, StatusResponse> status = waitHealthy(plan, healthTimeout, checks);
        if (status.size() != plan.members().size()) {
            return checks;
        }
        MemberPlan first = plan.members().get(0);
        if (!membership(plan, first, status, checks)) {
            return checks;
        }
        long revision = status.values().stream().mapToLong(s -> s.getHeader().getRevision()).min().orElse(0);
        checks.add(hashes(plan, revision, Optional.empty()));
        return checks;
    }

    /**
     * Asks the source what verify will compare with, before a restore in place stops it: its hashkv at the
     * snapshot's revision, or (with a revision bump) the digest of every key and value there.
     */
    public SourceRecord record(URI source, long revision, boolean digestKeys) throws Exception {
        if (!digestKeys) {
            try {
                return new SourceRecord(source, revision, hashKv(clients.forSurvivor(source), source, revision), -1, null);
            } catch (CompletionException e) {
                throw e.getCause() instanceof Exception cause ? cause : e;
            }
        }
        try (Client old = clients.forSurvivor(source)) {
            KeyspaceDigest d = KeyspaceDigest.of(old, revision, true);
            return new SourceRecord(source, revision, null, d.keys(), d.sha256());
        }
    }

    private Check sameAsRecorded(MemberPlan member, SourceRecord recorded, long revision) {
        String from = "the source " + recorded.source() + " at revision " + recorded.revision() + " (asked before it was stopped)";
        if (recorded.hashKv() != null) {
            URI url = member.clientUrls().get(0);
            try {
                int now = hashKv(clients.forMember(url), url, revision);
                boolean same = now == recorded.hashKv();
                return new Check("data equals source", same, (same ? "hashkv " + Integer.toUnsignedString(now, 16) + " equal to "
                        : "restored hashkv " + Integer.toUnsignedString(now, 16) + " but " + Integer.toUnsignedString(recorded.hashKv(), 16)
                        + " from ") + from);
            } catch (CompletionException e) {
                return new Check("data equals source", false, "hashkv of " + url + " failed: " + root(e));
            }
        }
        try (Client restored = clients.forMember(member.clientUrls().get(0))) {
            KeyspaceDigest now = KeyspaceDigest.of(restored, 0, false);
            boolean same = now.keys() == recorded.keys() && now.sha256().equals(recorded.sha256());
            return new Check("data equals source", same, same
                    ? now.keys() + " keys and values equal to " + from + " (sha256 " + now.sha256().substring(0, 16) + ")"
                    : "restored " + now.keys() + " keys (" + now.sha256().substring(0, 16) + "), " + from + " had " + recorded.keys()
                    + " keys (" + recorded.sha256().substring(0, 16) + ")");
        } catch (Exception e) {
            return new Check("data equals source", false, "could not read the restored keys from " + member.hostName() + ": " + root(e));
        }
    }

    /**
     * Only the first check of {@link #verify}: every member of {@code plan} answers with a leader and no
     * error, waiting up to {@code timeout}. For a member just restarted in place (release), whose data
     * did not change: the full check of the whole cluster follows once every member is back.
     */
    public Check health(ClusterPlan plan, Duration timeout) throws InterruptedException {
        EtcdClients forPlan = clients.with(plan.etcdAccess());
        if (forPlan != clients) {
            return new ClusterVerifier(forPlan).health(plan, timeout);
        }
        List<Check> checks = new ArrayList<>();
        waitHealthy(plan, timeout, checks);
        return checks.get(0);
    }

    private Map<MemberPlan, StatusResponse> waitHealthy(ClusterPlan plan, Duration timeout, List<Check> checks)
            throws InterruptedException {
        Map<MemberPlan, StatusResponse> status = new LinkedHashMap<>();
        Map<MemberPlan, String> lastError = new LinkedHashMap<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            for (MemberPlan m : plan.members()) {
                if (status.containsKey(m)) {
                    continue;
                }
                URI url = m.clientUrls().get(0);
                // No call outlives the wait by much: jetcd retries a refused connection until the call's deadline.
                long callMillis = Math.max(MIN_CALL.toMillis(), Math.min(CALL.toMillis(), (deadline - System.nanoTime()) / 1_000_000));
                try (Client c = clients.forMember(url)) {
                    StatusResponse s = c.getMaintenanceClient().statusMember(url.toString()).get(callMillis, TimeUnit.MILLISECONDS);
                    // A member that has not yet applied its first entries answers with leader 0: not healthy yet.
                    if (s.getLeader() != 0 && s.getErrorList().isEmpty()) {
                        status.put(m, s);
                        lastError.remove(m);
                    } else {
                        lastError.put(m, s.getLeader() == 0 ? "no leader yet" : s.getErrorList().toString());
                    }
                } catch (Exception e) {
                    lastError.put(m, root(e));
                }
            }
            if (status.size() == plan.members().size() || System.nanoTime() > deadline) {
                break;
            }
            Thread.sleep(RETRY.toMillis());
        }
        StringBuilder detail = new StringBuilder();
        lastError.forEach((m, e) -> detail.append(m.hostName()).append(" (").append(m.clientUrls().get(0)).append("): ").append(e).append("; "));
        checks.add(new Check("every member healthy", lastError.isEmpty(), lastError.isEmpty()
                ? status.size() + " of " + plan.members().size() + " answer with a leader" : detail.toString()));
        return status;
    }

    /** Names, peer URLs and client URLs, host by host: the seed's own table had a member with another host's client URL. */
    static Check memberList(ClusterPlan plan, List<Member> members) {
        List<String> problems = new ArrayList<>();
        Map<String, Member> byName = new LinkedHashMap<>();
        members.forEach(m -> byName.put(m.getName(), m));
        for (MemberPlan p : plan.members()) {
            Member m = byName.remove(p.etcdName());
            if (m == null) {
                problems.add("host " + p.hostName() + ": no member named " + p.etcdName());
                continue;
            }
            if (!set(m.getPeerURIs()).equals(set(p.peerUrls()))) {
                problems.add("host " + p.hostName() + " (member " + p.etcdName() + "): peer URLs " + set(m.getPeerURIs())
                        + ", planned " + set(p.peerUrls()));
            }
            if (m.isLearner()) {
                problems.add("host " + p.hostName() + " (member " + p.etcdName() + "): still a learner, not promoted");
            }
            if (!set(m.getClientURIs()).equals(set(p.clientUrls()))) {
                problems.add("host " + p.hostName() + " (member " + p.etcdName() + "): advertises client URLs "
                        + set(m.getClientURIs()) + ", planned " + set(p.clientUrls()) + ownerHint(plan, p, m.getClientURIs()));
            }
        }
        byName.values().forEach(m -> problems.add("unplanned member " + m.getName() + " " + m.getPeerURIs()));
        return new Check("member list matches plan", problems.isEmpty(),
                problems.isEmpty() ? members.size() + " members, names and URLs as planned" : String.join("; ", problems));
    }

    private static String ownerHint(ClusterPlan plan, MemberPlan self, List<URI> urls) {
        for (URI u : urls) {
            for (MemberPlan other : plan.members()) {
                if (other != self && other.address().equals(u.getHost())) {
                    return " (" + u.getHost() + " is host " + other.hostName() + "'s address)";
                }
            }
        }
        return "";
    }

    private static Check leader(ClusterPlan plan, Map<MemberPlan, StatusResponse> status, List<Member> members) {
        Set<Long> leaders = new HashSet<>();
        status.values().forEach(s -> leaders.add(s.getLeader()));
        Set<Long> ids = new HashSet<>();
        members.forEach(m -> ids.add(m.getId()));
        boolean ok = leaders.size() == 1 && ids.containsAll(leaders);
        String name = members.stream().filter(m -> leaders.contains(m.getId())).map(Member::getName).findFirst().orElse("?");
        return new Check("one leader", ok, ok ? "leader " + name + " (" + Long.toHexString(leaders.iterator().next()) + ")"
                : "members disagree on the leader: " + leaders.stream().map(Long::toHexString).toList());
    }

    private static Check revision(ClusterPlan plan, Map<MemberPlan, StatusResponse> status, long expected) {
        List<String> off = new ArrayList<>();
        status.forEach((m, s) -> {
            if (s.getHeader().getRevision() != expected) {
                off.add(m.hostName() + " at " + s.getHeader().getRevision());
            }
        });
        return new Check("revision equals snapshot", off.isEmpty(),
                off.isEmpty() ? "every member at revision " + expected : "expected " + expected + ": " + off);
    }

    /**
     * hashkv of every member and of the source, all asked at once: each is a scan of that member's whole
     * keyspace (seconds at a GiB), and one after the other they added up to most of verify.
     */
    private Check hashes(ClusterPlan plan, long revision, Optional<URI> source) {
        ExecutorService pool = Executors.newFixedThreadPool(plan.members().size() + 1);
        try {
            Map<String, CompletableFuture<Integer>> asked = new LinkedHashMap<>();
            for (MemberPlan m : plan.members()) {
                URI url = m.clientUrls().get(0);
                asked.put(m.hostName(), CompletableFuture.supplyAsync(() -> hashKv(clients.forMember(url), url, revision), pool));
            }
            Optional<CompletableFuture<Integer>> fromSource = source.map(url ->
                    CompletableFuture.supplyAsync(() -> hashKv(clients.forSurvivor(url), url, revision), pool));
            Map<String, Integer> hashes = new LinkedHashMap<>();
            try {
                for (var e : asked.entrySet()) {
                    hashes.put(e.getKey(), e.getValue().join());
                }
            } catch (Exception e) {
                return new Check("hashkv equal", false, "hashkv failed: " + root(e));
            }
            Set<Integer> distinct = new TreeSet<>(hashes.values());
            if (distinct.size() != 1) {
                return new Check("hashkv equal", false, "members differ at revision " + revision + ": " + hashes);
            }
            int hash = distinct.iterator().next();
            if (fromSource.isEmpty()) {
                return new Check("hashkv equal", true, "all members " + Integer.toUnsignedString(hash, 16) + " at revision " + revision);
            }
            try {
                int old = fromSource.get().join();
                boolean same = old == hash;
                return new Check("hashkv equal", same, same
                        ? "all members and the source " + source.get() + " " + Integer.toUnsignedString(hash, 16) + " at revision " + revision
                        : "restored " + Integer.toUnsignedString(hash, 16) + " but source " + source.get() + " has "
                        + Integer.toUnsignedString(old, 16) + " at revision " + revision);
            } catch (Exception e) {
                return new Check("hashkv equal", true, "all members " + Integer.toUnsignedString(hash, 16)
                        + " at revision " + revision + " (source no longer reachable: " + root(e) + ")");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private Check sameData(MemberPlan member, URI source, long sourceRevision) {
        try (Client restored = clients.forMember(member.clientUrls().get(0)); Client old = clients.forSurvivor(source)) {
            KeyspaceDigest now = KeyspaceDigest.of(restored, 0, false);
            KeyspaceDigest before = KeyspaceDigest.of(old, sourceRevision, true);
            boolean same = now.equals(before);
            return new Check("data equals source", same, same
                    ? now.keys() + " keys and values equal to " + source + " at revision " + sourceRevision + " (sha256 "
                            + now.sha256().substring(0, 16) + ")"
                    : "restored " + now.keys() + " keys (" + now.sha256().substring(0, 16) + "), source " + before.keys()
                    + " keys (" + before.sha256().substring(0, 16) + ") at revision " + sourceRevision);
        } catch (Exception e) {
            return new Check("data equals source", true, "not compared: source " + source + " no longer answers (" + root(e) + ")");
        }
    }

    private static int hashKv(Client client, URI url, long revision) {
        try (Client c = client) {
            return c.getMaintenanceClient().hashKV(url.toString(), revision).get(HASH_CALL.toMillis(), TimeUnit.MILLISECONDS).getHash();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CompletionException(e);
        } catch (Exception e) {
            throw new CompletionException(e);
        }
    }

    private static Set<String> set(List<URI> uris) {
        Set<String> s = new TreeSet<>();
        uris.forEach(u -> s.add(u.toString()));
        return s;
    }

    private static String root(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        return c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage();
    }
}
