package dev.etcdrescue.systemtest.testbed;

import dev.etcdrescue.pki.CertificateAuthority;
import dev.etcdrescue.pki.IssuedCertificate;
import dev.etcdrescue.pki.Pem;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * How real hosts lay an etcd member out (/work/shared/research/layouts.md): where the unit is, where its
 * settings live (env file, ExecStart flags, a --config-file YAML, a drop-in, DAEMON_ARGS), which user
 * runs it, TLS or not. {@link #start} writes every host's files for one old cluster of all the hosts in
 * that layout, starts unit {@code etcd} everywhere and waits until every member is healthy; {@link
 * OldCluster} is the Debian layout alone.
 *
 * <p>Every layout carries the same operator tuning in its own place, so a test can look for it on the
 * restored member: {@link #QUOTA_BACKEND_BYTES}, {@link #HEARTBEAT_MS}/{@link #ELECTION_MS} (also what
 * keeps elections steady on 2 shared cores) and {@link #SNAPSHOT_COUNT}.
 *
 * <p>Testbed facts the layouts rely on: hosts run etcd 3.5.16 ({@link EtcdVersion#V3_5_16}), whose bin dir
 * is bound over /usr/local/bin inside each host, so {@code /usr/local/bin/etcd} exists there (and the
 * machine's own /usr/local/bin, docker included, does not); a host's /opt is its own, so the docker
 * layout's wrapper and the testbed's stand-in for docker live in /opt/bin (kubespray's {@code bin_dir} on
 * Flatcar). Hosts share the loopback, so no layout listens on 127.0.0.1 as kubespray and the Hard Way do.
 */
public enum Layout {
    /** Debian's packaged unit (/lib/systemd/system/etcd.service), settings in /etc/default/etcd. */
    DEBIAN("debian", false, "/var/lib/etcd/default", "/var/lib/etcd/new.etcd", "/lib/systemd/system/etcd.service"),
    /** Fedora/RHEL's unit (here in /etc/systemd/system): quoted /etc/etcd/etcd.conf, User=etcd, a bash -c wrapper. */
    RPM("rpm", false, "/var/lib/etcd/default.etcd", "/var/lib/etcd/new.etcd", "/etc/systemd/system/etcd.service"),
    /** kubespray's host mode: /etc/etcd.env with https, per-host certificates, ETCDCTL_* lines; root; etcd in /usr/local/bin. */
    KUBESPRAY_HOST("kubespray", true, "/var/lib/etcd", "/var/lib/etcd-new", "/etc/systemd/system/etcd.service"),
    /** Kubernetes The Hard Way: every setting a flag of ExecStart (backslash-continued), TLS, no env file, no User=. */
    HARD_WAY("hardway", true, "/var/lib/etcd", "/var/lib/etcd-new", "/etc/systemd/system/etcd.service"),
    /** {@code ExecStart=/usr/local/bin/etcd --config-file=/etc/etcd/etcd.config.yml} (the binary-install guides' unit). */
    CONFIG_FILE("configfile", false, "/var/lib/etcd", "/var/lib/etcd-new", "/etc/systemd/system/etcd.service"),
    /** Debian's unit and env file, tuned with {@code systemctl edit etcd}: quota and a file limit in a drop-in. */
    DROP_IN("dropin", false, "/var/lib/etcd/default", "/var/lib/etcd/new.etcd", "/lib/systemd/system/etcd.service"),
    /** Debian's unit, flags in DAEMON_ARGS of /etc/default/etcd (the unit runs {@code /usr/bin/etcd $DAEMON_ARGS}). */
    DAEMON_ARGS("daemonargs", false, "/var/lib/etcd/default", "/var/lib/etcd/new.etcd", "/lib/systemd/system/etcd.service"),
    /**
     * kubespray's docker mode: {@code ExecStartPre=-docker rm -f <member>}, ExecStart a wrapper script that runs
     * {@code docker run ... --env-file=/etc/etcd.env}. The docker that unit and script name is {@link #DOCKER},
     * the testbed's stand-in (logs each call, runs the container's command on the host), never the real one.
     */
    KUBESPRAY_DOCKER("docker", false, "/var/lib/etcd", "/var/lib/etcd-new", "/etc/systemd/system/etcd.service");

    public static final long QUOTA_BACKEND_BYTES = 4L << 30;
    public static final int HEARTBEAT_MS = 250;
    public static final int ELECTION_MS = 2500;
    public static final int SNAPSHOT_COUNT = 5000;
    /**
     * The drop-in's file limit. Not 65536: Debian's unit already has {@code LimitNOFILE=65536}, which a copy of
     * the unit keeps without reading any drop-in, so only another figure shows the drop-in was honoured. Below
     * 20000 because that is the hard limit this machine's sessions and CI run under, without CAP_SYS_RESOURCE
     * to raise it: a host's systemd caps every unit's limit there (65536 becomes 20000).
     */
    public static final int DROP_IN_NOFILE = 16384;
    public static final String DOCKER = "/opt/bin/docker";
    /** Where the stand-in for docker logs every call (the host's private /run). */
    public static final String DOCKER_LOG = "/run/testbed-docker.log";
    public static final String WRAPPER = "/opt/bin/etcd";
    public static final String UNIT = "etcd";
    public static final String KUBESPRAY_SSL = "/etc/ssl/etcd/ssl";
    public static final String HARD_WAY_PKI = "/etc/etcd";
    static final int CLIENT_PORT = 2379;
    static final int PEER_PORT = 2380;
    private static final Duration HEALTHY_DEADLINE = Duration.ofSeconds(90);
    private static final Duration VALIDITY = Duration.ofDays(1);

    private final String shortName;
    private final boolean tls;
    private final String oldDataDir;
    private final String newDataDir;
    private final String unitFile;

    Layout(String shortName, boolean tls, String oldDataDir, String newDataDir, String unitFile) {
        this.shortName = shortName;
        this.tls = tls;
        this.oldDataDir = oldDataDir;
        this.newDataDir = newDataDir;
        this.unitFile = unitFile;
    }

    /** Lower-case letters only: usable as an inventory group, token or host-name part. */
    public String shortName() {
        return shortName;
    }

    public boolean tls() {
        return tls;
    }

    public String scheme() {
        return tls ? "https" : "http";
    }

    public String oldDataDir() {
        return oldDataDir;
    }

    /** Where the inventory puts the restored member: never inside the old member's data dir. */
    public String newDataDir() {
        return newDataDir;
    }

    /** The unit file systemd loads for {@code etcd.service} in this layout. */
    public String unitFile() {
        return unitFile;
    }

    /** kubespray names its members etcd1, etcd2, ...; every other layout here the host's name. */
    public String memberName(List<TestHost> hosts, TestHost host) {
        return this == KUBESPRAY_HOST ? "etcd" + (hosts.indexOf(host) + 1) : host.name();
    }

    public String clientUrl(TestHost host) {
        return scheme() + "://" + host.address() + ":" + CLIENT_PORT;
    }

    public String peerUrl(TestHost host) {
        return scheme() + "://" + host.address() + ":" + PEER_PORT;
    }

    /** TLS layouts: the member's CA, certificate and key on the host (also what the test's etcdctl uses). */
    public String caFile() {
        return this == KUBESPRAY_HOST ? KUBESPRAY_SSL + "/ca.pem" : HARD_WAY_PKI + "/ca.pem";
    }

    public String certFile(TestHost host) {
        return this == KUBESPRAY_HOST ? KUBESPRAY_SSL + "/member-" + host.name() + ".pem" : HARD_WAY_PKI + "/kubernetes.pem";
    }

    public String keyFile(TestHost host) {
        return this == KUBESPRAY_HOST ? KUBESPRAY_SSL + "/member-" + host.name() + "-key.pem" : HARD_WAY_PKI + "/kubernetes-key.pem";
    }

    /**
     * The file limit the old unit (with its drop-ins) asks for, which the new member must keep; empty: systemd's
     * default. What etcd gets is this capped at the hard limit the host's systemd itself runs under.
     */
    public Optional<Integer> maxOpenFiles() {
        return switch (this) {
            case DEBIAN, RPM, DAEMON_ARGS, CONFIG_FILE -> Optional.of(65536);
            case KUBESPRAY_HOST -> Optional.of(40000);
            case DROP_IN -> Optional.of(DROP_IN_NOFILE);
            case HARD_WAY, KUBESPRAY_DOCKER -> Optional.empty();
        };
    }

    /** Every file of the old member's unit and settings on the host: the unit, its drop-ins, env/config files, wrapper. */
    public List<String> oldFiles() {
        List<String> files = new ArrayList<>(List.of(unitFile));
        switch (this) {
            case DEBIAN, DAEMON_ARGS -> files.add("/etc/default/etcd");
            case DROP_IN -> files.addAll(List.of("/etc/systemd/system/etcd.service.d/override.conf", "/etc/default/etcd"));
            case RPM -> files.add("/etc/etcd/etcd.conf");
            case KUBESPRAY_HOST -> files.add("/etc/etcd.env");
            case CONFIG_FILE -> files.add("/etc/etcd/etcd.config.yml");
            case KUBESPRAY_DOCKER -> files.addAll(List.of(WRAPPER, "/etc/etcd.env"));
            case HARD_WAY -> { }
        }
        return files;
    }

    /**
     * Writes every host's files for an old cluster of all {@code hosts} in this layout (TLS layouts: certificates
     * of {@code etcdCa}, SAN the host's address and 127.0.0.1), starts unit etcd everywhere and waits until every
     * member is healthy.
     */
    public void start(List<TestHost> hosts, String token, CertificateAuthority etcdCa) {
        for (TestHost host : hosts) {
            write(hosts, host, token, etcdCa);
        }
        for (TestHost host : hosts) {
            host.systemctl("daemon-reload").requireOk();
        }
        // --no-block: Type=notify waits for quorum, so a blocking start of the first member would hang.
        for (TestHost host : hosts) {
            host.systemctl("start", "--no-block", UNIT).requireOk();
        }
        String endpoints = hosts.stream().map(this::clientUrl).collect(Collectors.joining(","));
        Instant deadline = Instant.now().plus(HEALTHY_DEADLINE);
        ExecResult last;
        do {
            last = hosts.get(0).exec(Duration.ofSeconds(15), etcdctl(hosts.get(0), endpoints, "endpoint", "health"));
            if (last.ok()) {
                return;
            }
            OldCluster.sleep(Duration.ofMillis(500));
        } while (Instant.now().isBefore(deadline));
        StringBuilder journals = new StringBuilder();
        for (TestHost host : hosts) {
            journals.append("\n--- ").append(host.name()).append(" journal of ").append(UNIT).append('\n')
                    .append(tail(host.journal(UNIT), 15));
        }
        throw new IllegalStateException("the old cluster in layout " + this + " did not become healthy within "
                + HEALTHY_DEADLINE.toSeconds() + " s\n" + last.describe() + journals);
    }

    /** An etcdctl command line run inside {@code host} against {@code endpoints}, with the host's certificate in TLS layouts. */
    public String[] etcdctl(TestHost host, String endpoints, String... command) {
        List<String> argv = new ArrayList<>(List.of("etcdctl", "--endpoints=" + endpoints, "--dial-timeout=2s", "--command-timeout=5s"));
        if (tls) {
            argv.addAll(List.of("--cacert=" + caFile(), "--cert=" + certFile(host), "--key=" + keyFile(host)));
        }
        argv.addAll(List.of(command));
        return argv.toArray(String[]::new);
    }

    private void write(List<TestHost> hosts, TestHost host, String token, CertificateAuthority etcdCa) {
        if (tls) {
            writeCertificates(host, etcdCa);
        }
        String name = memberName(hosts, host);
        String initialCluster = hosts.stream().map(h -> memberName(hosts, h) + "=" + peerUrl(h)).collect(Collectors.joining(","));
        switch (this) {
            case DEBIAN -> host.writeFile("/etc/default/etcd", debianEnv(host, name, initialCluster, token)
                    + "ETCD_QUOTA_BACKEND_BYTES=" + QUOTA_BACKEND_BYTES + "\n"
                    + "ETCD_SNAPSHOT_COUNT=" + SNAPSHOT_COUNT + "\n");
            case DROP_IN -> {
                host.writeFile("/etc/default/etcd", debianEnv(host, name, initialCluster, token)
                        + "ETCD_SNAPSHOT_COUNT=" + SNAPSHOT_COUNT + "\n");
                // What `systemctl edit etcd` leaves.
                host.writeFile("/etc/systemd/system/etcd.service.d/override.conf", "[Service]\n"
                        + "Environment=ETCD_QUOTA_BACKEND_BYTES=" + QUOTA_BACKEND_BYTES + "\n"
                        + "LimitNOFILE=" + DROP_IN_NOFILE + "\n");
            }
            case DAEMON_ARGS -> host.writeFile("/etc/default/etcd", debianEnv(host, name, initialCluster, token)
                    + "# Flags for etcd, read by the unit's ExecStart=/usr/bin/etcd $DAEMON_ARGS\n"
                    + "DAEMON_ARGS=\"--quota-backend-bytes=" + QUOTA_BACKEND_BYTES + " --snapshot-count=" + SNAPSHOT_COUNT + "\"\n");
            case RPM -> {
                host.writeFile(unitFile, RPM_UNIT);
                host.writeFile("/etc/etcd/etcd.conf", rpmConf(host, name, initialCluster, token));
            }
            case KUBESPRAY_HOST -> {
                host.writeFile(unitFile, KUBESPRAY_HOST_UNIT);
                host.writeFile("/etc/etcd.env", kubesprayEnv(host, name, initialCluster));
            }
            case HARD_WAY -> host.writeFile(unitFile, hardWayUnit(host, name, initialCluster));
            case CONFIG_FILE -> {
                host.writeFile(unitFile, CONFIG_FILE_UNIT);
                host.writeFile("/etc/etcd/etcd.config.yml", configYaml(host, name, initialCluster, token));
            }
            case KUBESPRAY_DOCKER -> {
                String member = "etcd" + (hosts.indexOf(host) + 1);
                host.writeFile(unitFile, kubesprayDockerUnit(member));
                host.writeFile(WRAPPER, kubesprayDockerWrapper(member));
                host.writeFile(DOCKER, DOCKER_STAND_IN);
                host.writeFile("/etc/etcd.env", debianEnv(host, name, initialCluster, token)
                        + "ETCD_QUOTA_BACKEND_BYTES=" + QUOTA_BACKEND_BYTES + "\n"
                        + "ETCD_SNAPSHOT_COUNT=" + SNAPSHOT_COUNT + "\n");
                host.execOk(Duration.ofSeconds(10), "chmod", "0755", WRAPPER, DOCKER);
            }
        }
    }

    private void writeCertificates(TestHost host, CertificateAuthority etcdCa) {
        // 127.0.0.1 too: testbed hosts share the loopback, so peer connections come from 127.0.0.1, and etcd
        // checks a peer's certificate against the address the connection comes from.
        IssuedCertificate member = etcdCa.issueEtcdMember(host.name(), List.of(host.address(), "127.0.0.1"), VALIDITY);
        host.writeFile(caFile(), Pem.toPem(etcdCa.certificate()));
        host.writeFile(certFile(host), Pem.toPem(member.certificate()));
        host.writeFile(keyFile(host), Pem.toPem(member.privateKey()));
        if (this == KUBESPRAY_HOST) {
            IssuedCertificate admin = etcdCa.issueEtcdClient("admin-" + host.name(), VALIDITY);
            host.writeFile(KUBESPRAY_SSL + "/admin-" + host.name() + ".pem", Pem.toPem(admin.certificate()));
            host.writeFile(KUBESPRAY_SSL + "/admin-" + host.name() + "-key.pem", Pem.toPem(admin.privateKey()));
        }
        host.execOk(Duration.ofSeconds(10), "sh", "-c", "chmod 0600 " + keyFile(host) + " " + (this == KUBESPRAY_HOST
                ? KUBESPRAY_SSL + "/admin-" + host.name() + "-key.pem" : ""));
    }

    private String debianEnv(TestHost host, String name, String initialCluster, String token) {
        return "# etcd settings, tuned by the operator over the years\n"
                + "ETCD_NAME=" + name + "\n"
                + "ETCD_DATA_DIR=" + oldDataDir + "\n"
                + "ETCD_LISTEN_PEER_URLS=" + peerUrl(host) + "\n"
                + "ETCD_LISTEN_CLIENT_URLS=" + clientUrl(host) + "\n"
                + "ETCD_INITIAL_ADVERTISE_PEER_URLS=" + peerUrl(host) + "\n"
                + "ETCD_ADVERTISE_CLIENT_URLS=" + clientUrl(host) + "\n"
                + "ETCD_INITIAL_CLUSTER=" + initialCluster + "\n"
                + "ETCD_INITIAL_CLUSTER_TOKEN=" + token + "\n"
                + "ETCD_INITIAL_CLUSTER_STATE=new\n"
                + "ETCD_HEARTBEAT_INTERVAL=" + HEARTBEAT_MS + "\n"
                + "ETCD_ELECTION_TIMEOUT=" + ELECTION_MS + "\n";
    }

    /** Fedora's etcd.service (etcd.spec), as an operator copies it to /etc/systemd/system to edit it. */
    private static final String RPM_UNIT = """
            [Unit]
            Description=Etcd Server
            After=network.target
            After=network-online.target
            Wants=network-online.target

            [Service]
            Type=notify
            WorkingDirectory=/var/lib/etcd/
            EnvironmentFile=-/etc/etcd/etcd.conf
            User=etcd
            # set GOMAXPROCS to number of processors
            ExecStart=/bin/bash -c "GOMAXPROCS=$(nproc) /usr/bin/etcd"
            Restart=on-failure
            LimitNOFILE=65536

            [Install]
            WantedBy=multi-user.target
            """;

    /** The RPM's /etc/etcd/etcd.conf: sections as comments, every value double-quoted, the unused keys commented out. */
    private String rpmConf(TestHost host, String name, String initialCluster, String token) {
        return "#[Member]\n"
                + "#ETCD_CORS=\"\"\n"
                + "ETCD_DATA_DIR=\"" + oldDataDir + "\"\n"
                + "#ETCD_WAL_DIR=\"\"\n"
                + "ETCD_LISTEN_PEER_URLS=\"" + peerUrl(host) + "\"\n"
                + "ETCD_LISTEN_CLIENT_URLS=\"" + clientUrl(host) + "\"\n"
                + "#ETCD_MAX_SNAPSHOTS=\"5\"\n"
                + "#ETCD_MAX_WALS=\"5\"\n"
                + "ETCD_NAME=\"" + name + "\"\n"
                + "ETCD_SNAPSHOT_COUNT=\"" + SNAPSHOT_COUNT + "\"\n"
                + "ETCD_HEARTBEAT_INTERVAL=\"" + HEARTBEAT_MS + "\"\n"
                + "ETCD_ELECTION_TIMEOUT=\"" + ELECTION_MS + "\"\n"
                + "ETCD_QUOTA_BACKEND_BYTES=\"" + QUOTA_BACKEND_BYTES + "\"\n"
                + "#\n"
                + "#[Clustering]\n"
                + "ETCD_INITIAL_ADVERTISE_PEER_URLS=\"" + peerUrl(host) + "\"\n"
                + "ETCD_ADVERTISE_CLIENT_URLS=\"" + clientUrl(host) + "\"\n"
                + "#ETCD_DISCOVERY=\"\"\n"
                + "ETCD_INITIAL_CLUSTER=\"" + initialCluster + "\"\n"
                + "ETCD_INITIAL_CLUSTER_TOKEN=\"" + token + "\"\n"
                + "ETCD_INITIAL_CLUSTER_STATE=\"new\"\n"
                + "#ETCD_STRICT_RECONFIG_CHECK=\"true\"\n"
                + "#ETCD_ENABLE_V2=\"true\"\n";
    }

    /** kubespray's etcd-host.service.j2 with bin_dir /usr/local/bin. */
    private static final String KUBESPRAY_HOST_UNIT = """
            [Unit]
            Description=etcd
            After=network.target

            [Service]
            Type=notify
            User=root
            EnvironmentFile=/etc/etcd.env
            ExecStart=/usr/local/bin/etcd
            NotifyAccess=all
            Restart=always
            RestartSec=10s
            LimitNOFILE=40000

            [Install]
            WantedBy=multi-user.target
            """;

    /** kubespray's etcd.env.j2 as rendered for one member (no 127.0.0.1 listener: hosts share the loopback). */
    private String kubesprayEnv(TestHost host, String name, String initialCluster) {
        String ssl = KUBESPRAY_SSL;
        return "# Environment file for etcd v3.5.16\n"
                + "ETCD_DATA_DIR=" + oldDataDir + "\n"
                + "ETCD_ADVERTISE_CLIENT_URLS=" + clientUrl(host) + "\n"
                + "ETCD_INITIAL_ADVERTISE_PEER_URLS=" + peerUrl(host) + "\n"
                + "ETCD_INITIAL_CLUSTER_STATE=new\n"
                + "ETCD_METRICS=basic\n"
                + "ETCD_LISTEN_CLIENT_URLS=" + clientUrl(host) + "\n"
                + "ETCD_ELECTION_TIMEOUT=" + ELECTION_MS + "\n"
                + "ETCD_HEARTBEAT_INTERVAL=" + HEARTBEAT_MS + "\n"
                + "ETCD_INITIAL_CLUSTER_TOKEN=k8s_etcd\n"
                + "ETCD_LISTEN_PEER_URLS=" + peerUrl(host) + "\n"
                + "ETCD_NAME=" + name + "\n"
                + "ETCD_PROXY=off\n"
                + "ETCD_INITIAL_CLUSTER=" + initialCluster + "\n"
                + "ETCD_AUTO_COMPACTION_RETENTION=8\n"
                + "ETCD_SNAPSHOT_COUNT=" + SNAPSHOT_COUNT + "\n"
                + "ETCD_QUOTA_BACKEND_BYTES=" + QUOTA_BACKEND_BYTES + "\n"
                + "ETCD_MAX_REQUEST_BYTES=1572864\n"
                + "ETCD_LOG_LEVEL=info\n"
                + "ETCD_MAX_SNAPSHOTS=5\n"
                + "ETCD_MAX_WALS=5\n"
                + "# Flannel need etcd v2 API\n"
                + "ETCD_ENABLE_V2=true\n"
                + "\n"
                + "# TLS settings\n"
                + "ETCD_TRUSTED_CA_FILE=" + ssl + "/ca.pem\n"
                + "ETCD_CERT_FILE=" + ssl + "/member-" + host.name() + ".pem\n"
                + "ETCD_KEY_FILE=" + ssl + "/member-" + host.name() + "-key.pem\n"
                + "ETCD_CLIENT_CERT_AUTH=true\n"
                + "\n"
                + "ETCD_PEER_TRUSTED_CA_FILE=" + ssl + "/ca.pem\n"
                + "ETCD_PEER_CERT_FILE=" + ssl + "/member-" + host.name() + ".pem\n"
                + "ETCD_PEER_KEY_FILE=" + ssl + "/member-" + host.name() + "-key.pem\n"
                + "ETCD_PEER_CLIENT_CERT_AUTH=True\n"
                + "\n"
                + "# CLI settings\n"
                + "ETCDCTL_ENDPOINTS=" + clientUrl(host) + "\n"
                + "ETCDCTL_CACERT=" + ssl + "/ca.pem\n"
                + "ETCDCTL_KEY=" + ssl + "/admin-" + host.name() + "-key.pem\n"
                + "ETCDCTL_CERT=" + ssl + "/admin-" + host.name() + ".pem\n"
                + "\n"
                + "ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK=True\n"
                + "ETCD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL=5s\n";
    }

    /** The Hard Way's etcd.service (3-node edition), as its heredoc leaves it: literal values, backslash-continued flags. */
    private String hardWayUnit(TestHost host, String name, String initialCluster) {
        return "[Unit]\n"
                + "Description=etcd\n"
                + "Documentation=https://github.com/coreos\n"
                + "\n"
                + "[Service]\n"
                + "Type=notify\n"
                + "ExecStart=/usr/local/bin/etcd \\\n"
                + "  --name " + name + " \\\n"
                + "  --cert-file=" + certFile(host) + " \\\n"
                + "  --key-file=" + keyFile(host) + " \\\n"
                + "  --peer-cert-file=" + certFile(host) + " \\\n"
                + "  --peer-key-file=" + keyFile(host) + " \\\n"
                + "  --trusted-ca-file=" + caFile() + " \\\n"
                + "  --peer-trusted-ca-file=" + caFile() + " \\\n"
                + "  --peer-client-cert-auth \\\n"
                + "  --client-cert-auth \\\n"
                + "  --initial-advertise-peer-urls " + peerUrl(host) + " \\\n"
                + "  --listen-peer-urls " + peerUrl(host) + " \\\n"
                + "  --listen-client-urls " + clientUrl(host) + " \\\n"
                + "  --advertise-client-urls " + clientUrl(host) + " \\\n"
                + "  --initial-cluster-token etcd-cluster-0 \\\n"
                + "  --initial-cluster " + initialCluster + " \\\n"
                + "  --initial-cluster-state new \\\n"
                + "  --heartbeat-interval " + HEARTBEAT_MS + " \\\n"
                + "  --election-timeout " + ELECTION_MS + " \\\n"
                + "  --quota-backend-bytes=" + QUOTA_BACKEND_BYTES + " \\\n"
                + "  --snapshot-count=" + SNAPSHOT_COUNT + " \\\n"
                + "  --data-dir=" + oldDataDir + "\n"
                + "Restart=on-failure\n"
                + "RestartSec=5\n"
                + "\n"
                + "[Install]\n"
                + "WantedBy=multi-user.target\n";
    }

    /** The binary-install guides' unit (cby-chen's Kubernetes family): everything in the YAML. */
    private static final String CONFIG_FILE_UNIT = """
            [Unit]
            Description=Etcd Service
            Documentation=https://coreos.com/etcd/docs/latest/
            After=network.target

            [Service]
            Type=notify
            ExecStart=/usr/local/bin/etcd --config-file=/etc/etcd/etcd.config.yml
            Restart=on-failure
            RestartSec=10
            LimitNOFILE=65536

            [Install]
            WantedBy=multi-user.target
            Alias=etcd3.service
            """;

    /** etcd.conf.yml.sample's keys, as those guides fill them in. */
    private String configYaml(TestHost host, String name, String initialCluster, String token) {
        return "name: '" + name + "'\n"
                + "data-dir: " + oldDataDir + "\n"
                + "snapshot-count: " + SNAPSHOT_COUNT + "\n"
                + "heartbeat-interval: " + HEARTBEAT_MS + "\n"
                + "election-timeout: " + ELECTION_MS + "\n"
                + "quota-backend-bytes: " + QUOTA_BACKEND_BYTES + "\n"
                + "listen-peer-urls: '" + peerUrl(host) + "'\n"
                + "listen-client-urls: '" + clientUrl(host) + "'\n"
                + "max-snapshots: 3\n"
                + "max-wals: 5\n"
                + "cors:\n"
                + "initial-advertise-peer-urls: '" + peerUrl(host) + "'\n"
                + "advertise-client-urls: '" + clientUrl(host) + "'\n"
                + "discovery:\n"
                + "discovery-fallback: 'proxy'\n"
                + "discovery-proxy:\n"
                + "discovery-srv:\n"
                + "initial-cluster: '" + initialCluster + "'\n"
                + "initial-cluster-token: '" + token + "'\n"
                + "initial-cluster-state: 'new'\n"
                + "strict-reconfig-check: false\n"
                + "enable-pprof: true\n"
                + "proxy: 'off'\n"
                + "proxy-failure-wait: 5000\n"
                + "proxy-refresh-interval: 30000\n"
                + "proxy-dial-timeout: 1000\n"
                + "proxy-write-timeout: 5000\n"
                + "proxy-read-timeout: 0\n"
                + "force-new-cluster: false\n"
                + "auto-compaction-retention: \"1\"\n";
    }

    /** kubespray's etcd-docker.service.j2 with docker_bin_dir and bin_dir /opt/bin. */
    private static String kubesprayDockerUnit(String member) {
        return "[Unit]\n"
                + "Description=etcd docker wrapper\n"
                + "Wants=docker.socket\n"
                + "After=docker.service\n"
                + "\n"
                + "[Service]\n"
                + "User=root\n"
                + "PermissionsStartOnly=true\n"
                + "EnvironmentFile=-/etc/etcd.env\n"
                + "ExecStart=" + WRAPPER + "\n"
                + "ExecStartPre=-" + DOCKER + " rm -f " + member + "\n"
                + "ExecReload=" + DOCKER + " restart " + member + "\n"
                + "ExecStop=" + DOCKER + " stop " + member + "\n"
                + "Restart=always\n"
                + "RestartSec=15s\n"
                + "TimeoutStartSec=30s\n"
                + "\n"
                + "[Install]\n"
                + "WantedBy=multi-user.target\n";
    }

    /** kubespray's etcd.j2 launch script. */
    private static String kubesprayDockerWrapper(String member) {
        return "#!/bin/bash\n"
                + DOCKER + " run \\\n"
                + "  --restart=on-failure:5 \\\n"
                + "  --env-file=/etc/etcd.env \\\n"
                + "  --net=host \\\n"
                + "  -v /etc/ssl/certs:/etc/ssl/certs:ro \\\n"
                + "  -v /etc/ssl/etcd/ssl:/etc/ssl/etcd/ssl:ro \\\n"
                + "  -v /var/lib/etcd:/var/lib/etcd:rw \\\n"
                + "  --memory=512M \\\n"
                + "  --blkio-weight=1000 \\\n"
                + "  --name=" + member + " \\\n"
                + "  quay.io/coreos/etcd:v3.5.16 \\\n"
                + "  /usr/local/bin/etcd \\\n"
                + "  \"$@\"\n";
    }

    /**
     * The testbed's stand-in for docker, at {@link #DOCKER} inside the host: never the real docker. It logs every
     * call to {@link #DOCKER_LOG}; {@code rm}/{@code stop}/{@code restart} do nothing; {@code run} runs the
     * container's command on the host with the variables of its --env-file, as the container would.
     */
    private static final String DOCKER_STAND_IN = """
            #!/bin/bash
            # The testbed's stand-in for docker (never the real one): logs each call, runs a container's command on the host.
            echo "$*" >> /run/testbed-docker.log
            case "${1:-}" in
              rm|stop|restart) exit 0 ;;
              run) shift ;;
              *) echo "testbed docker stand-in: '${1:-}' is not supported" >&2; exit 1 ;;
            esac
            env_file=
            while [ $# -gt 0 ]; do
              case "$1" in
                --env-file=*) env_file=${1#--env-file=} ;;
                --env-file) env_file=$2; shift ;;
                -v|-e|--name|--restart|--memory|--net) shift ;;
                -*) ;;
                *) break ;;
              esac
              shift
            done
            shift  # the image
            if [ -n "$env_file" ]; then set -a; . "$env_file"; set +a; fi
            exec "$@"
            """;

    private static String tail(String text, int lines) {
        String[] all = text.split("\n");
        return String.join("\n", List.of(all).subList(Math.max(0, all.length - lines), all.length));
    }
}
