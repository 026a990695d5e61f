package dev.etcdrescue.agent.preflight;

import dev.etcdrescue.agent.AgentException;
import dev.etcdrescue.agent.oldmember.BaseUnit;
import dev.etcdrescue.agent.oldmember.BaseUnits;
import dev.etcdrescue.agent.oldmember.OldMember;
import dev.etcdrescue.agent.oldmember.OldMemberReader;
import dev.etcdrescue.agent.oldmember.Setting;
import dev.etcdrescue.agent.oldmember.Specifiers;
import dev.etcdrescue.proto.v1.EnvSetting;
import dev.etcdrescue.agent.config.ConfigWriter;
import dev.etcdrescue.agent.io.SafeFiles;
import dev.etcdrescue.agent.journal.JournaledMoves;
import dev.etcdrescue.agent.restore.DetectedTool;
import dev.etcdrescue.agent.restore.RestoreCommand;
import dev.etcdrescue.agent.restore.RestoreOptions;
import dev.etcdrescue.agent.spec.Grammar;
import dev.etcdrescue.agent.spec.MemberPlan;
import dev.etcdrescue.agent.spec.PathRules;
import dev.etcdrescue.agent.spec.UnitNames;
import dev.etcdrescue.proto.v1.AgentStatus;
import dev.etcdrescue.proto.v1.Finding;
import dev.etcdrescue.proto.v1.PortCheck;
import dev.etcdrescue.proto.v1.PreflightReport;
import dev.etcdrescue.proto.v1.PreflightRequest;
import dev.etcdrescue.proto.v1.RenderedPlan;
import dev.etcdrescue.proto.v1.Severity;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;
import java.util.regex.Matcher;

/**
 * Checks this host against one member's plan without changing anything: tools, disk, paths, the
 * base unit, ports. Problems become findings (with a stable code and the field concerned), not
 * errors, so the coordinator can show every host's problems at once.
 *
 * <p>It also renders the plan (the dry run of {@code etcd-rescue plan}) through the very code that
 * acts: {@link RestoreCommand} for the argv, {@link ConfigWriter}'s renderers for the env file and
 * unit, {@link JournaledMoves#asideName} for where an existing data dir would go.
 */
public final class PreflightChecker {
    /** Stands for the staged snapshot in the rendered restore argv (its transfer id is not known yet). */
    public static final String SNAPSHOT_PLACEHOLDER = "<snapshot>";
    /** Files larger than this are not unit or env files; their content is not read into the report. */
    private static final long MAX_SHOWN_FILE = 256 * 1024;
    /** Restore writes the db plus a preallocated 64 MiB WAL segment; keep room for both and then some. */
    private static final long DATA_DIR_OVERHEAD = 128L << 20;
    private static final long STAGING_MARGIN = 64L << 20;
    /** Where kubeadm (and kubespray's etcd_deployment_type: kubeadm) keeps etcd's static pod. */
    private static final Path STATIC_POD = Path.of("/etc/kubernetes/manifests/etcd.yaml");

    private final HostTools hostTools;
    private final BaseUnits baseUnits;
    private final PathRules dataRoots;
    private final ConfigWriter configWriter;
    private final JournaledMoves moves;
    private final Path stagingDir;
    private final String configuredListen;
    private final PortHolders portHolders;
    /** The main pid of a unit, 0 when it runs none (systemctl show's MainPID). */
    private final ToLongFunction<String> mainPid;

    public PreflightChecker(HostTools hostTools, BaseUnits baseUnits, PathRules dataRoots, ConfigWriter configWriter,
                            JournaledMoves moves, Path stagingDir, String configuredListen, PortHolders portHolders,
                            ToLongFunction<String> mainPid) {
        this.portHolders = portHolders;
        this.mainPid = mainPid;
        this.hostTools = hostTools;
        this.baseUnits = baseUnits;
        this.dataRoots = dataRoots;
        this.configWriter = configWriter;
        this.moves = moves;
        this.stagingDir = stagingDir;
        this.configuredListen = configuredListen;
    }

    public PreflightReport check(PreflightRequest request, AgentStatus status) {
        List<Finding> findings = new ArrayList<>();
        PreflightReport.Builder report = PreflightReport.newBuilder().setStatus(status);
        HostTools.Snapshot tools = hostTools.get();
        if (tools.restoreTool().isEmpty()) {
            findings.add(finding(Severity.ERROR, "restore-tool-missing", "tool_dirs",
                    "neither etcdutl nor etcdctl is installed in the agent's tool_dirs" + hostTools.refusedNote()
                            + ": install etcd's client tools"));
        }
        tools.restoreTool().filter(tool -> !tool.restores()).ifPresent(tool -> findings.add(finding(Severity.ERROR,
                "restore-tool-cannot-restore", "tool_dirs", tool.cannotRestore(tools.etcdVersion().orElse(tool.version()),
                        hostTools.toolDirs()))));
        if (tools.etcdVersion().isEmpty()) {
            findings.add(finding(Severity.ERROR, "etcd-missing", "tool_dirs",
                    "no etcd binary in the agent's tool_dirs: install etcd before restoring a member here"));
        }

        Optional<Path> dataDir = attempt(() -> dataRoots.requireInside(request.getMember().getDataDir(), "member.data_dir"),
                "path-outside-roots", "member.data_dir", findings);
        if (!request.getMember().getWalDir().isEmpty()) {
            attempt(() -> dataRoots.requireInside(request.getMember().getWalDir(), "member.wal_dir"),
                    "path-outside-roots", "member.wal_dir", findings);
        }
        Optional<MemberPlan> plan = dataDir.isPresent()
                ? attempt(() -> MemberPlan.from(request.getMember(), dataRoots), "invalid-member", "member", findings)
                : Optional.empty();

        long stagingFree = usableSpace(stagingDir);
        report.setFreeBytesStaging(stagingFree);
        if (stagingFree < request.getSnapshotSize() + STAGING_MARGIN) {
            findings.add(finding(Severity.ERROR, "low-disk-staging", "state_dir", "the staging dir " + stagingDir
                    + " has " + stagingFree + " bytes free; the snapshot needs " + request.getSnapshotSize()
                    + " plus a margin of " + STAGING_MARGIN));
        }
        RenderedPlan.Builder rendered = RenderedPlan.newBuilder();
        dataDir.ifPresent(dir -> {
            rendered.setDataDir(dir.toString());
            long free = usableSpace(dir);
            report.setFreeBytesDataDir(free);
            if (free < request.getSnapshotSize() + DATA_DIR_OVERHEAD) {
                findings.add(finding(Severity.ERROR, "low-disk-data", "member.data_dir", "the file system of " + dir
                        + " has " + free + " bytes free; the restored member needs about "
                        + (request.getSnapshotSize() + DATA_DIR_OVERHEAD)));
            }
            if (!Files.isDirectory(dir.getParent())) {
                // RestoreMember refuses this too; said here so that no host is changed before it is fixed.
                findings.add(finding(Severity.ERROR, "data-dir-parent-missing", "member.data_dir", "the parent directory "
                        + dir.getParent() + " of " + dir + " does not exist: create it (owned by the service user) or choose"
                        + " another data dir"));
            }
            if (Files.exists(dir)) {
                report.setDataDirExists(true);
                String aside = attempt(() -> asideName(request, dir), "data-dir-unreadable", "member.data_dir", findings)
                        .orElse(dir + ".etcd-rescue-<operation id>");
                rendered.setDataDirMovedAsideTo(aside);
                findings.add(finding(Severity.WARNING, "data-dir-exists", "member.data_dir", dir
                        + " exists: the restore will move it aside to " + aside));
            }
        });
        tools.restoreTool().filter(DetectedTool::restores).ifPresent(tool -> plan.flatMap(p -> attempt(() -> RestoreCommand.build(tool,
                        Path.of(SNAPSHOT_PLACEHOLDER), p, restoreOptions(request)), "restore-option-unsupported",
                        "bump_revision", findings))
                .ifPresent(command -> rendered.addAllRestoreCommand(command.argv())));

        plan.ifPresent(p -> findings.addAll(TlsFiles.check(p, request.getExtraList(), Instant.now())));
        Optional<OldMember> old = checkUnits(request, plan, report, rendered, findings);
        plan.ifPresent(p -> checkPorts(p, new OldMemberPorts(oldMemberPid(request), request.getBaseUnit(), oldListenPorts(old)),
                report, findings));
        report.addAllLocalAddresses(localAddresses());
        return report.addAllFindings(findings).setPlan(rendered).build();
    }

    private static RestoreOptions restoreOptions(PreflightRequest request) {
        // RestoreMember is asked for mark_compacted exactly when it bumps (RestoreCommand pairs the flags).
        return new RestoreOptions(request.getSkipHashCheck(), request.getBumpRevision(), request.getBumpRevision() > 0);
    }

    private String asideName(PreflightRequest request, Path dir) {
        try {
            return moves.asideName(request.getHeader().getOperationId(), dir).toString();
        } catch (IOException e) {
            throw AgentException.failedPrecondition("cannot look beside " + dir + ": " + e.getMessage());
        }
    }

    private Optional<OldMember> checkUnits(PreflightRequest request, Optional<MemberPlan> plan, PreflightReport.Builder report,
                                           RenderedPlan.Builder rendered, List<Finding> findings) {
        Optional<String> newUnit = attempt(() -> configWriter.units().managed(request.getNewUnit(), "new_unit"),
                "invalid-unit", "new_unit", findings);
        Optional<String> baseUnit = attempt(() -> configWriter.units().managed(request.getBaseUnit(), "base_unit"),
                "invalid-unit", "base_unit", findings);
        Optional<BaseUnit> base = baseUnit.flatMap(unit -> {
            Optional<BaseUnit> found = attempt(() -> baseUnits.find(unit), "base-unit-unreadable", "base_unit", findings)
                    .flatMap(o -> o);
            if (found.isEmpty() && Files.isRegularFile(STATIC_POD)) {
                findings.add(finding(Severity.ERROR, "base-unit-static-pod", "base_unit", unit + ".service was not found in "
                        + baseUnits.dirs() + ", and " + STATIC_POD + " exists: etcd runs here as a kubeadm static pod, which"
                        + " etcd-rescue does not recover (it restores members run by systemd). Restore it with kubeadm's"
                        + " procedure (etcdutl snapshot restore, then point the manifest's hostPath at the restored data dir)"));
            } else if (found.isEmpty()) {
                findings.add(finding(Severity.ERROR, "base-unit-missing", "base_unit", unit + ".service was not found in "
                        + baseUnits.dirs() + ": install etcd's unit or name the right base unit"));
            } else {
                report.setServiceUser(found.get().serviceUser());
            }
            return found;
        });
        Optional<OldMember> old = base.map(b -> OldMemberReader.read(b, Specifiers.forHost(b.name())));
        old.ifPresent(o -> {
            o.settings().values().forEach(s -> report.addBaseEnv(EnvSetting.newBuilder().setKey(s.env()).setValue(s.value())
                    .setSource(s.describe())));
            report.setBaseEnvFile(String.join(",", o.envFiles().stream().map(Path::toString).toList()))
                    .setBaseLayout(o.describe());
            findings.addAll(o.findings());
            plan.ifPresent(p -> checkInsideOldDataDir(p, o, oldMemberPid(request), findings));
        });
        if (newUnit.isEmpty()) {
            return old;
        }
        String unit = newUnit.get();
        if (baseUnit.isPresent() && baseUnit.get().equals(unit)) {
            findings.add(finding(Severity.ERROR, "new-unit-is-base-unit", "new_unit",
                    "new_unit and base_unit are both " + unit + ": the new member needs its own unit"));
        }
        if (attempt(() -> {
            configWriter.units().requireNotShadowing(unit, "new_unit");
            return unit;
        }, "unit-would-shadow", "new_unit", findings).isEmpty()) {
            return old;
        }
        Path envFile = configWriter.envFile(unit);
        Path unitFile = configWriter.unitFile(unit);
        rendered.setEnvFile(envFile.toString()).setUnitFile(unitFile.toString());
        Optional<String> envText = plan.flatMap(p -> renderEnv(request, p, findings));
        Optional<String> unitText = old.filter(o -> !o.refused()).map(o -> configWriter.renderUnit(request.getHeader(), o, unit));
        envText.ifPresent(rendered::setEnvFileContent);
        unitText.ifPresent(rendered::setUnitFileContent);

        if (SafeFiles.exists(envFile)) {
            report.setEnvFileExists(true);
            Optional<String> current = shown(envFile, "new_unit", findings);
            current.ifPresent(rendered::setCurrentEnvFileContent);
            if (envText.isEmpty() || current.isEmpty()) {
                findings.add(finding(Severity.WARNING, "env-file-exists", "new_unit", envFile
                        + " exists: ConfigureMember will move it aside"));
            } else if (envText.equals(current)) {
                findings.add(finding(Severity.WARNING, "env-file-exists-same", "new_unit", envFile
                        + " exists and already holds what ConfigureMember would write: it is left as it is"));
            } else {
                findings.add(finding(Severity.WARNING, "env-file-exists-differs", "new_unit", envFile
                        + " exists with other content: ConfigureMember will move it aside to "
                        + envFile + ".etcd-rescue-" + request.getHeader().getOperationId()));
            }
        }
        if (SafeFiles.exists(unitFile)) {
            report.setUnitExists(true);
            Optional<String> current = shown(unitFile, "new_unit", findings);
            current.ifPresent(rendered::setCurrentUnitFileContent);
            if (unitText.isEmpty() || current.isEmpty()) {
                findings.add(finding(Severity.WARNING, "unit-exists", "new_unit", unitFile
                        + " exists: ConfigureMember will move it aside"));
            } else if (unitText.equals(current)) {
                findings.add(finding(Severity.WARNING, "unit-exists-same", "new_unit", unitFile
                        + " exists and already holds what ConfigureMember would write: it is left as it is"));
            } else {
                findings.add(finding(Severity.ERROR, "unit-exists-differs", "new_unit", unitFile
                        + " exists with other content: it may be a member that serves now (a previous recovery's"
                        + " new unit). Choose another new_unit, or move it away after checking it is not in use"));
            }
        }
        return old;
    }

    /** The ports the old member is configured to listen on (etcd's defaults when unset). */
    private static Set<Integer> oldListenPorts(Optional<OldMember> old) {
        Set<Integer> ports = new LinkedHashSet<>();
        Map<String, String> defaults = Map.of("ETCD_LISTEN_CLIENT_URLS", "http://localhost:2379",
                "ETCD_LISTEN_PEER_URLS", "http://localhost:2380");
        old.ifPresent(o -> defaults.forEach((key, fallback) -> {
            Setting s = o.settings().get(key);
            for (String url : (s == null ? fallback : s.value()).split(",")) {
                Matcher m = Grammar.URL.matcher(url.strip());
                if (m.matches()) {
                    ports.add(Integer.parseInt(m.group(3)));
                }
            }
        }));
        return ports;
    }

    /**
     * kubespray's old data dir is /var/lib/etcd itself, where the default new data dir would lie inside
     * it: whoever later clears the old member's data dir would clear the new member's too.
     */
    private static void checkInsideOldDataDir(MemberPlan plan, OldMember old, long oldPid, List<Finding> findings) {
        Setting oldDir = old.settings().get("ETCD_DATA_DIR");
        if (oldDir == null || !Path.of(oldDir.value()).isAbsolute()) {
            return;
        }
        Path oldPath = Path.of(oldDir.value()).normalize();
        if (plan.dataDir().equals(oldPath) && oldPid > 0) {
            // The restore moves an existing data dir aside; under a running etcd, which still writes its WAL by
            // path, the old member would write into the new member's data dir.
            findings.add(finding(Severity.ERROR, "data-dir-in-use", "member.data_dir", "the new data dir " + plan.dataDir()
                    + " is the data dir of the old member still running here (pid " + oldPid + ", " + oldDir.describe()
                    + "): the restore cannot move it aside under a running etcd. Set data_dir beside it (for example "
                    + oldPath + "-new), or stop the old member first"));
        }
        if (!plan.dataDir().equals(oldPath) && plan.dataDir().startsWith(oldPath)) {
            findings.add(finding(Severity.ERROR, "data-dir-inside-old", "member.data_dir", "the new data dir " + plan.dataDir()
                    + " lies inside the old member's data dir " + oldPath + " (" + oldDir.describe() + "): clearing the old one"
                    + " later would clear the new member too. Set data_dir beside it (for example " + oldPath + "-new) and"
                    + " admit its parent in the agent's allowed_data_roots"));
        }
    }

    /** The env file as ConfigureMember would write it; a refused setting becomes a finding naming its field. */
    private Optional<String> renderEnv(PreflightRequest request, MemberPlan plan, List<Finding> findings) {
        try {
            return Optional.of(configWriter.renderEnv(request.getHeader(), plan, request.getExtraList()));
        } catch (AgentException e) {
            String field = e.field().orElse("extra");
            findings.add(finding(Severity.ERROR, field.startsWith("extra") ? "invalid-extra" : "invalid-member", field,
                    e.getMessage()));
            return Optional.empty();
        }
    }

    /** A file's current content for the report; empty (with a finding) when it cannot or should not be shown. */
    private static Optional<String> shown(Path file, String field, List<Finding> findings) {
        try {
            if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) || Files.size(file) > MAX_SHOWN_FILE) {
                findings.add(finding(Severity.WARNING, "file-not-shown", field, file
                        + " is not a regular file of at most " + MAX_SHOWN_FILE + " bytes: its content is not shown"));
                return Optional.empty();
            }
            return ConfigWriter.current(file);
        } catch (IOException e) {
            findings.add(finding(Severity.WARNING, "file-not-shown", field, "cannot read " + file + ": " + e.getMessage()));
            return Optional.empty();
        }
    }

    /** The old member's main pid (the base unit's), 0 when it is not running or the unit is not named. */
    private long oldMemberPid(PreflightRequest request) {
        try {
            return mainPid.applyAsLong(UnitNames.bare(request.getBaseUnit(), "base_unit"));
        } catch (RuntimeException e) {
            return 0;
        }
    }

    /**
     * Every port the member will listen on must be free, or held by the old member it replaces: a restore
     * in place, where the recovery stops the old member just before the new one starts.
     */
    /** The old member as the port check needs it: its main pid (0: not running), unit and configured listen ports. */
    private record OldMemberPorts(long pid, String unit, Set<Integer> ports) {}

    private void checkPorts(MemberPlan plan, OldMemberPorts old, PreflightReport.Builder report, List<Finding> findings) {
        Set<String> urls = new LinkedHashSet<>(plan.listenPeerUrls());
        urls.addAll(plan.listenClientUrls());
        for (String url : urls) {
            Matcher m = Grammar.URL.matcher(url);
            if (!m.matches()) {
                continue;
            }
            String host = m.group(2).replaceAll("^\\[|\\]$", "");
            int port = Integer.parseInt(m.group(3));
            PortCheck.Builder check = PortCheck.newBuilder().setAddress(host).setPort(port);
            try (ServerSocket socket = new ServerSocket()) {
                socket.setReuseAddress(true);
                socket.bind(new InetSocketAddress(InetAddress.getByName(host), port), 1);
                check.setFree(true);
            } catch (IOException e) {
                check.setFree(false);
                busy(url, host, port, e.getMessage(), old, check, findings);
            }
            report.addPorts(check);
        }
    }

    private void busy(String url, String host, int port, String error, OldMemberPorts old, PortCheck.Builder check,
                      List<Finding> findings) {
        InetAddress address;
        try {
            address = InetAddress.getByName(host);
        } catch (IOException e) {
            findings.add(finding(Severity.ERROR, "port-busy", "member.listen_urls", "cannot bind " + host + ":" + port + " for " + url
                    + " (" + error + "): stop what holds it, or check the address is this host's"));
            return;
        }
        List<Long> holders = portHolders.holders(address, port);
        holders.stream().findFirst().ifPresent(check::setHolderPid);
        Optional<String> evidence = heldByOldMember(address, port, holders, old);
        if (evidence.isPresent()) {
            check.setHeldByOldMember(true);
            findings.add(finding(Severity.INFO, "port-held-by-old-member", "member.listen_urls", host + ":" + port + " is held by "
                    + old.unit() + "'s old member (" + evidence.get() + "): freed by the recovery, which stops " + old.unit()
                    + " after every host is restored and configured, just before the new members start"));
            return;
        }
        String who = holders.isEmpty() ? "" : ", held by pid " + holders.get(0) + " (" + portHolders.command(holders.get(0)) + ")"
                + (old.pid() > 0 ? ", not by " + old.unit() + "'s old member (pid " + old.pid() + ")" : "");
        findings.add(finding(Severity.ERROR, "port-busy", "member.listen_urls", "cannot bind " + host + ":" + port
                + " for " + url + " (" + error + who + "): stop what holds it, or check the address is this host's"));
    }

    /**
     * Why the port is the old member's, if it is: the listening process is in the old unit's cgroup; or, where
     * other users' fds cannot be read, every listening socket belongs to the user the old member runs as and
     * the old member is configured to listen on that port.
     */
    private Optional<String> heldByOldMember(InetAddress address, int port, List<Long> holders, OldMemberPorts old) {
        if (old.pid() <= 0) {
            return Optional.empty();
        }
        if (!holders.isEmpty()) {
            return holders.stream().allMatch(pid -> portHolders.sameUnit(pid, old.pid()))
                    ? Optional.of("pid " + holders.get(0)) : Optional.empty();
        }
        if (old.ports().contains(port) && portHolders.ownedBy(portHolders.listeners(address, port), old.pid())) {
            return Optional.of("pid " + old.pid() + " is configured to listen there, and the socket is its user's");
        }
        return Optional.empty();
    }

    private List<String> localAddresses() {
        Set<String> addresses = new LinkedHashSet<>();
        // Testbed hosts share one network namespace, so interfaces alone cannot tell them apart:
        // the configured listen address says which one this agent is.
        addresses.add(configuredListen);
        try {
            for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                for (InetAddress address : Collections.list(nic.getInetAddresses())) {
                    addresses.add(address.getHostAddress().replaceFirst("%.*$", ""));
                }
            }
        } catch (SocketException e) {
            // No interface list: the configured address is still reported.
        }
        return List.copyOf(addresses);
    }

    private static long usableSpace(Path path) {
        Path existing = path;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        try {
            return Files.getFileStore(existing == null ? Path.of("/") : existing).getUsableSpace();
        } catch (IOException e) {
            return 0;
        }
    }

    private static <T> Optional<T> attempt(Supplier<T> check, String code, String field,
                                           List<Finding> findings) {
        try {
            return Optional.of(check.get());
        } catch (AgentException e) {
            findings.add(finding(Severity.ERROR, code, e.field().orElse(field), e.getMessage()));
            return Optional.empty();
        }
    }

    private static Finding finding(Severity severity, String code, String field, String message) {
        return Finding.newBuilder().setSeverity(severity).setCode(code).setField(field).setMessage(message).build();
    }
}
