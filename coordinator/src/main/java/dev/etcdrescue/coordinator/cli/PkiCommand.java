package dev.etcdrescue.coordinator.cli;

import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.pki.CertificateAuthority;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(name = "pki", mixinStandardHelpOptions = true,
        description = {
            "Creates the fleet CA and issues the coordinator's and the agents' certificates.",
            "",
            "The coordinator and every agent talk over mutual TLS: both sides present a certificate of the same CA,",
            "and the subject's OU says who is who (OU=coordinator, OU=agent)."
        },
        subcommands = {PkiInit.class, PkiIssue.class, PkiIssueCoordinator.class, PkiRevoke.class,
            PkiInitEtcdCa.class, PkiIssueEtcd.class, CommandLine.HelpCommand.class},
        footer = {
            "",
            "Typical first run (an inventory's tls_dir defaults to ./pki beside it; the CA goes to ./pki-ca):",
            "  etcd-rescue pki init  --dir ./pki",
            "  etcd-rescue pki issue --dir ./pki --inventory inventory.yaml",
            "  then copy ./pki/agents/<host>/* to /etc/etcd-rescue/tls/ on each host, and ./pki-ca somewhere offline.",
            "At an incident, a coordinator certificate valid for a few days:",
            "  etcd-rescue pki issue-coordinator --dir ./pki --ca-dir /media/offline/pki-ca",
            "",
            "etcd's own certificates (https client and peer URLs), from the etcd cluster's CA:",
            "  etcd-rescue pki init-etcd-ca --ca-dir ./etcd-pki          (or use the cluster's existing CA files)",
            "  etcd-rescue pki issue-etcd   --ca-dir ./etcd-pki --inventory inventory.yaml"
        })
public final class PkiCommand implements Runnable {
    /** Where the agent's configuration expects its TLS files (docs/architecture.md, agent.yaml). */
    static final String AGENT_TLS_DIR = "/etc/etcd-rescue/tls/";
    static final String DEFAULT_COORDINATOR_CN = "etcd-rescue-coordinator";
    /** The fleet CA's subject CN: issue-etcd refuses a CA of that name, so etcd's certificates never come from it. */
    static final String FLEET_CA_CN = "etcd-rescue fleet CA";

    @Override
    public void run() {
        throw usage("missing command: 'pki init', 'pki issue', 'pki init-etcd-ca' or 'pki issue-etcd' (see 'etcd-rescue pki --help')");
    }

    /** Where 'pki init' puts the CA when --ca-dir is not given: beside DIR, named DIR-ca. */
    static Path defaultCaDir(Path dir) {
        Path absolute = dir.toAbsolutePath().normalize();
        return absolute.resolveSibling(absolute.getFileName() + "-ca");
    }

    /**
     * The fleet CA from {@code caDir}; without one, from DIR-ca, or from DIR itself for a PKI made
     * before the CA had its own directory.
     */
    static CertificateAuthority loadCa(Path caDir, Path dir) {
        Path cas = caDir != null ? caDir
                : Files.isRegularFile(dir.resolve("ca-key.pem")) ? dir : defaultCaDir(dir);
        Path cert = cas.resolve("ca.pem");
        Path key = cas.resolve("ca-key.pem");
        if (!Files.isRegularFile(cert) || !Files.isRegularFile(key)) {
            throw new UserException(FailureKind.BAD_INPUT, "no CA in " + cas + " (" + cert + " and " + key + " are needed): "
                    + "create it with 'etcd-rescue pki init --dir " + dir + "', or name its directory with --ca-dir");
        }
        try {
            return CertificateAuthority.load(cert, key);
        } catch (IOException | RuntimeException e) {
            throw new UserException(FailureKind.BAD_INPUT, "cannot load the CA from " + cas + ": " + e.getMessage(), e);
        }
    }

    static List<Path> existing(List<Path> files) {
        return files.stream().filter(f -> Files.exists(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)).toList();
    }

    static String join(List<Path> files) {
        return String.join(", ", files.stream().map(Path::toString).toList());
    }

    /**
     * Bad arguments found while running: a {@link UserException}, because the execution handler
     * would report a picocli ParameterException thrown from here as an internal error.
     */
    static UserException usage(String message) {
        return new UserException(FailureKind.BAD_INPUT, message);
    }

    static void requirePositive(String option, Duration value) {
        if (value.isNegative() || value.isZero()) {
            throw usage(option + " must be positive, got " + value);
        }
    }
}
