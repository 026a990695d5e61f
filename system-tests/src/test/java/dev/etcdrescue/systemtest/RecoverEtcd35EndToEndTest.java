package dev.etcdrescue.systemtest;

import dev.etcdrescue.systemtest.testbed.EtcdVersion;

/** etcd 3.5.16: the agents find etcdutl and restore with it. */
class RecoverEtcd35EndToEndTest extends RecoverEndToEndBase {
    RecoverEtcd35EndToEndTest() {
        super(EtcdVersion.V3_5_16, "etcdutl");
    }
}
