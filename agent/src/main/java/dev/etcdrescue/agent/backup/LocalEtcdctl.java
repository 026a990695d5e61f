package dev.etcdrescue.agent.backup;

import com.fasterxml.jackson.databind.JsonNode;
import dev.etcdrescue.agent.config.BackupConfig;
import dev.etcdrescue.agent.io.Json;
import dev.etcdrescue.agent.io.ProcessResult;
import dev.etcdrescue.agent.io.ProcessRunner;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * etcdctl against this host's own member, as backups need it: the member list, which members answer and
 * which leads, a snapshot, and HashKV at a revision. JSON output throughout; ids are unsigned 64-bit.
 */
final class LocalEtcdctl {
    private static final Duration CALL = Duration.ofSeconds(10);
    private final Path etcdctl;
    private final BackupConfig.EtcdAccess access;
    private final ProcessRunner runner;

    LocalEtcdctl(Path etcdctl, BackupConfig.EtcdAccess access, ProcessRunner runner) {
        this.etcdctl = etcdctl;
        this.access = access;
        this.runner = runner;
    }

    /** One member as the cluster's statuses show it; {@code answers} false when its endpoint did not. */
    record MemberState(String id, String name, List<String> peerUrls, List<String> clientUrls, boolean answers, boolean leader) {}

    /** The cluster seen from this member: its own id, the cluster id, the server version and every member. */
    record ClusterView(String self, String clusterId, String version, List<MemberState> members) {}

    ClusterView view() throws IOException {
        JsonNode list = json(run(CALL, "member", "list", "-w", "json"), "member list");
        JsonNode own = json(run(CALL, "endpoint", "status", "-w", "json"), "endpoint status").get(0).get("Status");
        String self = id(own.get("header").get("member_id"));
        String leader = id(own.get("leader"));
        // Every member's own status: unreachable ones are left out of the JSON (etcdctl then exits 1).
        ProcessResult all = runner.run(argv("endpoint", "status", "--cluster", "-w", "json"), env(), CALL.plusSeconds(5));
        List<String> answering = new ArrayList<>();
        try {
            for (JsonNode s : Json.strict().readTree(all.stdout())) {
                answering.add(id(s.get("Status").get("header").get("member_id")));
            }
        } catch (IOException | RuntimeException e) {
            answering.add(self);
        }
        List<MemberState> members = new ArrayList<>();
        for (JsonNode m : list.get("members")) {
            String id = id(m.get("ID"));
            members.add(new MemberState(id, m.path("name").asText(""), strings(m.get("peerURLs")), strings(m.get("clientURLs")),
                    answering.contains(id), id.equals(leader)));
        }
        return new ClusterView(self, id(own.get("header").get("cluster_id")), own.path("version").asText(""), members);
    }

    void snapshot(Path target, Duration limit) throws IOException {
        run(limit, "snapshot", "save", target.toString());
    }

    /** The member's HashKV at {@code revision}: an unsigned 32-bit value. */
    long hashKv(long revision, Duration limit) throws IOException {
        JsonNode answer = json(run(limit, "endpoint", "hashkv", "--rev", Long.toString(revision), "-w", "json"), "endpoint hashkv");
        return answer.get(0).get("HashKV").get("hash").asLong();
    }

    private String run(Duration limit, String... command) throws IOException {
        ProcessResult r = runner.run(argv(command), env(), limit.plusSeconds(5));
        if (!r.succeeded()) {
            String why = r.timedOut() ? "no answer within " + limit.toSeconds() + " s"
                    : r.stderr().lines().filter(l -> l.startsWith("Error:")).findFirst().orElse(r.failureSummary());
            throw new IOException("etcdctl " + command[0] + " " + command[1] + " against " + access.endpoint() + ": " + why
                    + " (check that the member runs and that backup.etcd in agent.yaml gives access to it)");
        }
        return r.stdout();
    }

    private List<String> argv(String... command) {
        List<String> argv = new ArrayList<>(List.of(etcdctl.toString(), "--endpoints=" + access.endpoint(), "--dial-timeout=5s",
                "--command-timeout=" + CALL.toSeconds() + "s"));
        access.ca().ifPresent(p -> argv.add("--cacert=" + p));
        access.cert().ifPresent(p -> argv.add("--cert=" + p));
        access.key().ifPresent(p -> argv.add("--key=" + p));
        argv.addAll(List.of(command));
        return argv;
    }

    private static Map<String, String> env() {
        return Map.of("ETCDCTL_API", "3");
    }

    private static JsonNode json(String text, String what) throws IOException {
        try {
            return Json.strict().readTree(text);
        } catch (IOException e) {
            throw new IOException("etcdctl " + what + " printed no JSON: " + e.getMessage(), e);
        }
    }

    /** etcd's ids are unsigned 64-bit; JSON gives them as numbers that may not fit a long. Hex, as etcdctl's tables print them. */
    static String id(JsonNode number) {
        return new BigInteger(number.asText()).toString(16);
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        if (array != null) {
            array.forEach(n -> out.add(n.asText()));
        }
        return out;
    }
}
