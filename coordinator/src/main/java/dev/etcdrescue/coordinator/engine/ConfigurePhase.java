package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.report.PhaseName;
import dev.etcdrescue.proto.v1.ConfigureRequest;
import dev.etcdrescue.proto.v1.ConfigureResult;
import dev.etcdrescue.proto.v1.MovedFile;
import java.util.stream.Collectors;

/** Every agent renders the new env file and unit from typed fields (it never receives file text). */
final class ConfigurePhase implements Phase {
    @Override
    public PhaseName name() {
        return PhaseName.CONFIGURE;
    }

    @Override
    public void run(RecoveryRun run) throws Exception {
        run.forEachHost(name(), (m, agent) -> {
            ConfigureResult r = agent.configure(ConfigureRequest.newBuilder()
                    .setHeader(run.header(m))
                    .setMember(MemberSpecs.of(run.plan, run.running(m)))
                    .setNewUnit(m.newUnit())
                    .setBaseUnit(m.baseUnit())
                    .addAllExtra(MemberSpecs.extras(m, run.snapshot == null ? 0 : run.snapshot.size()))
                    .build());
            String msg = "wrote " + r.getEnvFile() + " and " + r.getUnitFile()
                    + (run.fenced() ? " (clients fenced off: serving on " + run.running(m).clientUrls().get(0) + " until verify passes)" : "");
            msg += MemberSpecs.quotaNote(m, run.snapshot == null ? 0 : run.snapshot.size()).map(n -> "; " + n).orElse("");
            if (r.getMovedAsideCount() > 0) {
                msg += "; kept the previous files at " + r.getMovedAsideList().stream()
                        .map(MovedFile::getMovedTo).collect(Collectors.joining(", "));
            }
            return RecoveryRun.Done.changed(msg);
        });
    }
}
