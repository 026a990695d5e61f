package dev.etcdrescue.coordinator.cli;

import static dev.etcdrescue.coordinator.cli.PkiCommand.*;

import dev.etcdrescue.coordinator.IoErrors;
import dev.etcdrescue.coordinator.failure.FailureKind;
import dev.etcdrescue.coordinator.failure.UserException;
import dev.etcdrescue.coordinator.pki.EtcdCertificateIssuer;
import dev.etcdrescue.pki.CertificateAuthority;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "init-etcd-ca", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Creates a CA for etcd's own certificates (https client and peer URLs).",
        description = {
            "Creates DIR/ca.pem and DIR/ca-key.pem: the CA that signs the etcd members' certificates and the",
            "coordinator's etcd client certificate (see 'pki issue-etcd'). It is not the fleet CA of 'pki init'.",
            "A cluster that already has a CA (kubeadm: /etc/kubernetes/pki/etcd/ca.crt and ca.key) needs none:",
            "copy those two files to DIR/ca.pem and DIR/ca-key.pem instead (RSA and EC keys both work).",
            ""
        },
        footer = {"", "Example:", "  etcd-rescue pki init-etcd-ca --ca-dir ./etcd-pki"})
final class PkiInitEtcdCa implements java.util.concurrent.Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--ca-dir", required = true, paramLabel = "DIR", description = "Directory for the etcd CA (created if missing).")
    Path caDir;

    @Option(names = "--ca-validity", defaultValue = "P3650D", paramLabel = "DURATION",
            description = "How long the CA is valid, ISO-8601 (default: ${DEFAULT-VALUE}).")
    Duration caValidity;

    @Override
    public Integer call() {
        requirePositive("--ca-validity", caValidity);
        Path cert = EtcdCertificateIssuer.caCert(caDir);
        Path key = EtcdCertificateIssuer.caKey(caDir);
        List<Path> present = existing(List.of(cert, key));
        if (!present.isEmpty()) {
            throw new UserException(FailureKind.BAD_INPUT, "refusing to create a new etcd CA: " + join(present) + " already exist"
                    + (present.size() == 1 ? "s" : "") + ". Members certified by the old CA would no longer trust the new ones;"
                    + " issue from it with 'etcd-rescue pki issue-etcd --ca-dir " + caDir + "', or pick another --ca-dir");
        }
        try {
            CertificateAuthority.create("etcd-rescue etcd CA", caValidity).writeTo(cert, key);
        } catch (FileAlreadyExistsException e) {
            throw new UserException(FailureKind.BAD_INPUT, "refusing to overwrite " + e.getFile() + ", created meanwhile by someone else", e);
        } catch (IOException e) {
            throw new UserException(FailureKind.PHASE_FAILED, "cannot write the etcd CA in " + caDir + ": " + IoErrors.describe(e), e);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println("created etcd CA: " + cert + ", " + key + " (mode 0600; keep it off the etcd hosts)");
        out.println("next: etcd-rescue pki issue-etcd --ca-dir " + caDir + " --inventory INVENTORY");
        out.flush();
        return ExitCodes.OK;
    }
}
