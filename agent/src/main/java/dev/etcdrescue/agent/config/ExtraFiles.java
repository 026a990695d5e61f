package dev.etcdrescue.agent.config;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.proto.v1.EnvSetting;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The files extras point at (certificates, keys, CAs) must already be on this host: etcd reads them
 * only when it starts, and a missing one would surface as a failed start after the old member is gone.
 */
final class ExtraFiles {
    private ExtraFiles() {}

    /** Throws INVALID_ARGUMENT naming the extra whose file is missing or no regular file. Grammar was checked before. */
    static void requirePresent(List<EnvSetting> extras) {
        for (int i = 0; i < extras.size(); i++) {
            EnvSetting extra = extras.get(i);
            boolean isFile = ExtraSetting.byName(extra.getKey()).map(ExtraSetting::isFile).orElse(false);
            if (!isFile) {
                continue;
            }
            Path file = Path.of(extra.getValue());
            if (!Files.isRegularFile(file)) {
                String field = "extra[" + i + "].value";
                throw AgentException.invalidField(field, field + " (" + extra.getKey() + ") " + file
                        + (Files.exists(file) ? " is not a regular file" : " does not exist on this host")
                        + ": put the file there (readable by etcd's service user) before the member is configured");
            }
        }
    }
}
