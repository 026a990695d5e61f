package dev.etcdrescue.agent.oldmember;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * etcd's command line read as Go's flag package reads it: {@code -name} or {@code --name}, a value
 * after {@code =} or in the next argument, except for boolean flags, which take a value only after
 * {@code =}. A flag etcd-rescue does not know takes the next argument unless that is a flag itself.
 */
public final class EtcdFlags {
    /** etcd 3.4 to 3.6's boolean flags (server/etcdmain/config.go, server/embed/config.go). */
    private static final Set<String> BOOLEAN = Set.of("enable-v2", "strict-reconfig-check", "enable-pprof", "auto-tls",
            "peer-auto-tls", "client-cert-auth", "peer-client-cert-auth", "force-new-cluster", "debug", "enable-grpc-gateway",
            "pre-vote", "enable-log-rotation", "unsafe-no-fsync", "socket-reuse-port", "socket-reuse-address", "version",
            "help", "h", "experimental-initial-corrupt-check", "experimental-enable-lease-checkpoint",
            "experimental-enable-lease-checkpoint-persist", "experimental-enable-distributed-tracing",
            "experimental-memory-mlock", "experimental-txn-mode-write-with-shared-buffer",
            "experimental-stop-grpc-service-on-defrag", "experimental-peer-skip-client-san-verification",
            "experimental-compact-hash-check-enabled", "discovery-insecure-transport", "discovery-insecure-skip-tls-verify",
            "experimental-enable-v2v3-lease");
    private static final Pattern FLAG = Pattern.compile("--?([A-Za-z0-9][A-Za-z0-9._-]*)(=(.*))?", Pattern.DOTALL);

    private EtcdFlags() {}

    /** The settings the arguments give, by environment name, in order; a flag given twice keeps its last value, as in Go. */
    public static Map<String, Setting> parse(List<ExecLine.Word> args) throws LayoutException {
        Map<String, Setting> settings = new LinkedHashMap<>();
        for (int i = 0; i < args.size(); i++) {
            ExecLine.Word arg = args.get(i);
            if (arg.text().equals("--")) {
                if (i + 1 < args.size()) {
                    throw new LayoutException(args.get(i + 1).source(), "etcd takes no arguments after --, but has "
                            + ExecLine.quote(args.get(i + 1).text()) + ": etcd would not start with it");
                }
                break;
            }
            var m = FLAG.matcher(arg.text());
            if (!m.matches()) {
                throw new LayoutException(arg.source(), ExecLine.quote(arg.text()) + " is not a flag: etcd takes only flags"
                        + " (it would refuse to start with this)");
            }
            String name = m.group(1);
            String value;
            if (m.group(2) != null) {
                value = m.group(3);
            } else if (BOOLEAN.contains(name) || i + 1 == args.size() || args.get(i + 1).text().startsWith("-")) {
                value = "true";
            } else {
                value = args.get(++i).text();
            }
            String env = Setting.envName(name);
            settings.remove(env);
            settings.put(env, new Setting(env, value, "--" + name, arg.source()));
        }
        return settings;
    }
}
