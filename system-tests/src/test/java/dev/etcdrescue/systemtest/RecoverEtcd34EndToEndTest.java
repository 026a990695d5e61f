package dev.etcdrescue.systemtest;

import dev.etcdrescue.systemtest.testbed.EtcdVersion;

/** Debian's etcd 3.4.23: no etcdutl, so the agents restore with etcdctl. */
class RecoverEtcd34EndToEndTest extends RecoverEndToEndBase {
    RecoverEtcd34EndToEndTest() {
        super(EtcdVersion.DEBIAN_3_4, "etcdctl");
    }
}
