package dev.etcdrescue.systemtest.testbed;

/** Which etcd a testbed host runs under Debian's {@code etcd.service}. */
public enum EtcdVersion {
    /** Debian 12's etcd 3.4.23 as installed on the machine: no {@code etcdutl}. */
    DEBIAN_3_4("3.4"),
    /**
     * etcd 3.5.16 from {@code .tools/etcd-3.5.16} (testbed/fetch-etcd-3.5.sh), bound over /usr/bin/etcd,
     * /usr/bin/etcdctl and /usr/local/bin (which also holds {@code etcdutl}).
     */
    V3_5_16("3.5");

    private final String testbedFlag;

    EtcdVersion(String testbedFlag) {
        this.testbedFlag = testbedFlag;
    }

    String testbedFlag() {
        return testbedFlag;
    }
}
