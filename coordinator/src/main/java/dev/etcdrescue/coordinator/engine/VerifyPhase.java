package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.report.Outcome;
import dev.etcdrescue.coordinator.report.PhaseName;
import dev.etcdrescue.coordinator.report.RecoveryReport.Check;
import dev.etcdrescue.coordinator.verify.ClusterVerifier;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/** Compares the new cluster with the plan and the snapshot; the run succeeds only if every check holds. */
final class VerifyPhase implements Phase {
    private final ClusterVerifier verifier;

    VerifyPhase(ClusterVerifier verifier) {
        this.verifier = verifier;
    }

    @Override
    public PhaseName name() {
        return PhaseName.VERIFY;
    }

    @Override
    public void run(RecoveryRun run) throws Exception {
        long t0 = System.nanoTime();
        List<Check> checks = verifier.verify(run.verifyPlan(), run.restoredRevision(), run.bump,
                Optional.ofNullable(run.source).map(s -> s.endpoint()), Optional.ofNullable(run.sourceRecord),
                run.options.verifyTimeout());
        run.checks.addAll(checks);
        List<Check> failed = checks.stream().filter(c -> !c.ok()).toList();
        if (!failed.isEmpty()) {
            String msg = failed.stream().map(c -> c.name() + ": " + c.detail()).collect(Collectors.joining("\n  "));
            run.recordCluster(name(), Outcome.FAILED, msg, PreflightPhase.since(t0));
            throw new PhaseFailedException(name(), FailureKind.VERIFY_FAILED, "verify failed:\n  " + msg);
        }
        run.recordCluster(name(), Outcome.OK, checks.size() + " checks passed", PreflightPhase.since(t0));
    }
}
