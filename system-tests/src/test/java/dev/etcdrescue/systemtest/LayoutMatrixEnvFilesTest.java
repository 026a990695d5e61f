package dev.etcdrescue.systemtest;

import dev.etcdrescue.systemtest.testbed.Layout;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * The layout matrix, layouts whose old settings live in files systemd reads for the unit: Debian's env file,
 * the RPM's quoted etcd.conf behind a bash -c wrapper, kubespray's host mode with TLS, a Debian unit tuned by a
 * drop-in, and flags in Debian's DAEMON_ARGS. Each: three hosts, two members lost, one {@code recover}, then
 * the running new members checked against the plan and the old tuning ({@link LayoutMatrixBase#assertRecovered}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class LayoutMatrixEnvFilesTest extends LayoutMatrixBase {
    @Override
    String hostPrefix() {
        return "lmenv";
    }

    @Test
    @Order(1)
    void debianEnvFile() throws Exception {
        recoversInPlace(Layout.DEBIAN);
    }

    @Test
    @Order(2)
    void rpmQuotedEtcdConfBehindBashWrapper() throws Exception {
        recoversInPlace(Layout.RPM);
    }

    @Test
    @Order(3)
    void kubesprayHostModeWithTls() throws Exception {
        recoversInPlace(Layout.KUBESPRAY_HOST);
    }

    @Test
    @Order(4)
    void debianUnitTunedByADropIn() throws Exception {
        recoversInPlace(Layout.DROP_IN);
    }

    @Test
    @Order(5)
    void flagsInDebiansDaemonArgs() throws Exception {
        recoversInPlace(Layout.DAEMON_ARGS);
    }

    private void recoversInPlace(Layout layout) throws Exception {
        OldState before = oldClusterLosesQuorum(layout);
        Cli.Result r = recover(layout);
        assertSucceeded("recover in layout " + layout, r);
        assertRecovered(layout, before);
    }
}
