package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.proto.v1.ToolInfo;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Kubernetes watchers remember revisions: a cluster restored to an older revision makes them miss
 * changes. Where every host's tool can, the restore moves all revisions forward and marks the old ones
 * compacted, so watchers re-list instead. One amount for the whole cluster: members restored with
 * different bumps would disagree on every revision. Preflight (recover) and the dry run (plan) both
 * decide here.
 */
final class RevisionBump {
    private RevisionBump() {}

    /**
     * @param bump what every host's restore adds to every revision (0: none)
     * @param refused true when a bump was asked for explicitly and some host's tool cannot do it: recover refuses
     * @param why one sentence for the report and plan (the refusal's message when refused)
     */
    record Decision(long bump, boolean refused, String why) {}

    /**
     * @param wanted the option: {@link RecoveryOptions#BUMP_AUTO}, 0 for none, or the amount asked for
     * @param tools every host's restore tool, by host
     */
    static Decision decide(long wanted, Map<String, ToolInfo> tools) {
        List<String> lacking = tools.entrySet().stream()
                .filter(e -> !e.getValue().getSupportsBumpRevision() || !e.getValue().getSupportsMarkCompacted())
                .map(e -> e.getKey() + " (" + e.getValue().getKind().name().toLowerCase(Locale.ROOT) + " " + e.getValue().getVersion() + ")")
                .sorted().toList();
        if (wanted == 0) {
            return new Decision(0, false, "off (--bump-revision 0); revisions restart at the snapshot's");
        }
        if (wanted == RecoveryOptions.BUMP_AUTO) {
            return lacking.isEmpty()
                    ? new Decision(RecoveryOptions.DEFAULT_BUMP, false, "+" + RecoveryOptions.DEFAULT_BUMP
                            + " with --mark-compacted, so watchers never see revisions go backwards")
                    : new Decision(0, false, "not possible, no --bump-revision in " + lacking
                            + "; revisions restart at the snapshot's, so Kubernetes watchers must re-list");
        }
        if (!lacking.isEmpty()) {
            return new Decision(0, true, "--bump-revision " + wanted + " asked for, but these hosts' restore tools lack"
                    + " --bump-revision/--mark-compacted: " + lacking + ". Install etcd 3.5+ (etcdutl) there, or pass --bump-revision 0");
        }
        return new Decision(wanted, false, "+" + wanted + " with --mark-compacted (as asked)");
    }
}
