package dev.etcdrescue.systemtest;

import dev.etcdrescue.systemtest.testbed.EtcdVersion;

/** A restore in place on etcd 3.5.16, restored with etcdutl. */
class InPlaceRecoveryEtcd35Test extends InPlaceRecoveryBase {
    InPlaceRecoveryEtcd35Test() {
        super(EtcdVersion.V3_5_16);
    }
}
