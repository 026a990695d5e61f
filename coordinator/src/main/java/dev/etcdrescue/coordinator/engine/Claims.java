package dev.etcdrescue.coordinator.engine;

import dev.etcdrescue.coordinator.inventory.MemberPlan;
import dev.etcdrescue.coordinator.report.PhaseName;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A run's claims on its agents: taken in preflight (or again on resume), renewed while the run lasts so
 * that no other operation changes a host under it, released at the end or left to expire after a failure.
 */
final class Claims {
    private static final Logger log = LoggerFactory.getLogger(Claims.class);

    private Claims() {}

    /** A resumed run takes the claims back under the same operation id (the agents accept their own operation). */
    static void reclaim(RecoveryRun run) throws InterruptedException {
        run.forEachHost(PhaseName.PREFLIGHT, (m, agent) -> {
            agent.claim(run.header(m), run.options.claimTtl());
            return RecoveryRun.Done.ok("claimed again for resumed operation " + run.operationId);
        });
    }

    static void startRenewing(ScheduledExecutorService renewer, RecoveryRun run) {
        long every = Math.max(1000, run.options.claimTtl().toMillis() / 3);
        renewer.scheduleAtFixedRate(() -> renew(run), every, every, TimeUnit.MILLISECONDS);
    }

    private static void renew(RecoveryRun run) {
        for (MemberPlan m : run.plan.members()) {
            try {
                run.agents.get(m.hostName()).renewClaim(run.header(m), run.options.claimTtl());
            } catch (RuntimeException e) {
                log.warn("could not renew the claim on {}: {}", m.hostName(), e.getMessage());
            }
        }
    }

    /** All hosts at once, each briefly: a frozen host must not hold up the answer (its claim expires by itself). */
    static void release(RecoveryRun run) {
        List<java.util.concurrent.CompletableFuture<Void>> calls = new ArrayList<>();
        for (MemberPlan m : run.plan.members()) {
            calls.add(java.util.concurrent.CompletableFuture.runAsync(() -> {
                try {
                    run.agents.get(m.hostName()).releaseClaim(run.header(m), Duration.ofSeconds(5));
                } catch (RuntimeException e) {
                    log.info("could not release the claim on {} (it expires by itself): {}", m.hostName(), e.getMessage());
                }
            }, run.executor));
        }
        calls.forEach(c -> {
            try {
                c.join();
            } catch (RuntimeException ignored) {
                // logged above
            }
        });
    }
}
