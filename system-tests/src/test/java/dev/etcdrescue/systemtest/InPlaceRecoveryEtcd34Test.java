package dev.etcdrescue.systemtest;

import dev.etcdrescue.systemtest.testbed.EtcdVersion;

/** A restore in place on etcd 3.4.23, restored with etcdctl. */
class InPlaceRecoveryEtcd34Test extends InPlaceRecoveryBase {
    InPlaceRecoveryEtcd34Test() {
        super(EtcdVersion.DEBIAN_3_4);
    }
}
