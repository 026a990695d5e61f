package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.verify.SourceRecord;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;

/** What a restore in place journals before it stops the old members, and reads back on resume. */
final class InPlaceFacts {
    private InPlaceFacts() {}

    static Map<String, Object> of(RecoveryRun run) {
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("oldStoppedAtMillis", run.oldStoppedAtMillis);
        SourceRecord r = run.sourceRecord;
        if (r != null) {
            Map<String, Object> source = new LinkedHashMap<>();
            source.put("source", r.source().toString());
            source.put("revision", r.revision());
            source.put("hashKv", r.hashKv());
            source.put("keys", r.keys());
            source.put("sha256", r.sha256());
            facts.put("sourceRecord", source);
        }
        return facts;
    }

    /** Fills what the run does not know yet from journalled facts (a resumed run). */
    static void read(RecoveryRun run, Map<String, Object> facts) {
        if (run.oldStoppedAtMillis == 0 && facts.get("oldStoppedAtMillis") instanceof Number n) {
            run.oldStoppedAtMillis = n.longValue();
        }
        if (run.sourceRecord == null && facts.get("sourceRecord") instanceof Map<?, ?> s) {
            run.sourceRecord = new SourceRecord(URI.create((String) s.get("source")), ((Number) s.get("revision")).longValue(),
                    s.get("hashKv") == null ? null : ((Number) s.get("hashKv")).intValue(), ((Number) s.get("keys")).longValue(),
                    (String) s.get("sha256"));
        }
    }
}
