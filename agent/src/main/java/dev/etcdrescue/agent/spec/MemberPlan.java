package dev.etcdrescue.agent.spec;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.proto.v1.Member;
import dev.etcdrescue.proto.v1.MemberSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A {@link MemberSpec} after every field was checked: what restore and configure render from.
 * Listen URLs default to the advertised ones when the plan leaves them empty.
 */
public record MemberPlan(
        String name,
        List<String> peerUrls,
        List<String> clientUrls,
        List<String> listenPeerUrls,
        List<String> listenClientUrls,
        Path dataDir,
        Optional<Path> walDir,
        String initialCluster,
        String initialClusterToken) {

    public static MemberPlan from(MemberSpec spec, PathRules dataRoots) {
        String name = Grammar.require(spec.getName(), Grammar.MEMBER_NAME, "member.name",
                "a member name of [A-Za-z0-9._-] (up to 128 characters)");
        List<String> peerUrls = urls(spec.getPeerUrlsList(), "member.peer_urls", true);
        List<String> clientUrls = urls(spec.getClientUrlsList(), "member.client_urls", false);
        List<String> listenPeer = urls(spec.getListenPeerUrlsList(), "member.listen_peer_urls", false);
        List<String> listenClient = urls(spec.getListenClientUrlsList(), "member.listen_client_urls", false);
        Path dataDir = dataRoots.requireInside(spec.getDataDir(), "member.data_dir");
        Optional<Path> walDir = spec.getWalDir().isEmpty() ? Optional.empty()
                : Optional.of(dataRoots.requireInside(spec.getWalDir(), "member.wal_dir"));
        if (walDir.isPresent() && (walDir.get().startsWith(dataDir) || dataDir.startsWith(walDir.get()))) {
            throw AgentException.invalidField("member.wal_dir", "member.wal_dir " + walDir.get()
                    + " must not lie inside member.data_dir " + dataDir + " or contain it; leave it empty to keep the WAL in the data dir");
        }
        String token = Grammar.require(spec.getInitialClusterToken(), Grammar.MEMBER_NAME,
                "member.initial_cluster_token", "a token of [A-Za-z0-9._-] (up to 128 characters)");
        String initialCluster = initialCluster(spec.getInitialClusterList(), name, peerUrls);
        return new MemberPlan(name, peerUrls, clientUrls,
                listenPeer.isEmpty() ? peerUrls : listenPeer,
                listenClient.isEmpty() ? clientUrls : listenClient,
                dataDir, walDir, initialCluster, token);
    }

    private static List<String> urls(List<String> urls, String field, boolean required) {
        if (required && urls.isEmpty()) {
            throw AgentException.invalidField(field, field + " must hold at least one URL");
        }
        List<String> checked = new ArrayList<>();
        for (int i = 0; i < urls.size(); i++) {
            checked.add(Grammar.url(urls.get(i), field + "[" + i + "]"));
        }
        return List.copyOf(checked);
    }

    private static String initialCluster(List<Member> members, String self, List<String> selfPeerUrls) {
        if (members.isEmpty()) {
            throw AgentException.invalidField("member.initial_cluster", "member.initial_cluster must list every member, this one included");
        }
        Set<String> names = new HashSet<>();
        List<String> entries = new ArrayList<>();
        boolean selfListed = false;
        for (int i = 0; i < members.size(); i++) {
            Member m = members.get(i);
            String field = "member.initial_cluster[" + i + "]";
            String name = Grammar.require(m.getName(), Grammar.MEMBER_NAME, field + ".name", "a member name");
            if (!names.add(name)) {
                throw AgentException.invalidField(field + ".name", field + ".name " + name + " appears twice in the initial cluster");
            }
            List<String> urls = urls(m.getPeerUrlsList(), field + ".peer_urls", true);
            if (name.equals(self)) {
                selfListed = true;
                if (!Set.copyOf(urls).equals(Set.copyOf(selfPeerUrls))) {
                    throw AgentException.invalidField(field + ".peer_urls", field + ".peer_urls " + urls
                            + " differ from member.peer_urls " + selfPeerUrls + " for " + name);
                }
            }
            urls.forEach(u -> entries.add(name + "=" + u));
        }
        if (!selfListed) {
            throw AgentException.invalidField("member.initial_cluster", "member.initial_cluster does not list this member " + self);
        }
        return String.join(",", entries);
    }
}
