"""Turns one bench run's measurements (environment from bench/run.sh) and etcd-rescue's JSON report
into the printed figures, the result JSON (one line) and the chart's data file."""
import json
import os

env = os.environ


def num(name):
    value = env.get(name, "")
    return float(value) if value not in ("", "null") else None


def ratio(a, b):
    return round(a / b, 3) if a is not None and b else None


def verdict(value, limit):
    if value is None:
        return "n/a"
    return "met" if value <= limit else "NOT met"


with open(env["BENCH_REPORT"]) as f:
    report = json.load(f)
phase_names = env["BENCH_PHASES"].split()
rescue_phases = {p: round(ms / 1000.0, 3) for p, ms in report["phaseMillis"].items()}
manual_phases = {}
for item in env["BENCH_MANUAL_PHASES"].split():
    name, value = item.split("=")
    manual_phases[name] = float(value)
manual_phases = {p: manual_phases[p] for p in phase_names if p in manual_phases}
rescue_phases["other"] = round(float(env["BENCH_RTO"]) - sum(rescue_phases.values()), 3)
manual_phases["other"] = round(float(env["BENCH_MANUAL"]) - sum(manual_phases.values()), 3)

hosts = int(env["BENCH_HOSTS"])
# The relay measurement (bench/DistributionProbe.java after recover): one JSON line, or nothing.
relay = json.loads(env["BENCH_RELAY"]) if env.get("BENCH_RELAY") else {}
# Distribution alone: the same probe, direct, sending the finished file. recover itself streams the snapshot
# on while taking it, so its distribute phase holds only the tail of the transfer.
direct = json.loads(env["BENCH_DIRECT"]) if env.get("BENCH_DIRECT") else {}
# One hop (bench/hop.sh run inside run.sh on the recovery's snapshot, after the probes): its JSON line, or nothing.
hop = json.loads(env["BENCH_HOP"]) if env.get("BENCH_HOP") else {}
rto = num("BENCH_RTO")
manual = num("BENCH_MANUAL")
dist = direct.get("seconds")
snapshot_and_distribute = round(rescue_phases.get("snapshot", 0) + rescue_phases.get("distribute", 0), 3)
manual_snapshot_and_distribute = round(manual_phases.get("snapshot", 0) + manual_phases.get("distribute", 0), 3)
dist_baseline = num("BENCH_DIST_BASELINE")
scp = num("BENCH_SCP")
snapshot_bytes = int(report.get("snapshot", {}).get("size") or env["BENCH_SNAPSHOT_BYTES"])
# CPU-seconds per phase by kind of process (bench/phase_cpu.py), when it ran.
phase_cpu = {}
if env.get("BENCH_PHASE_CPU") and os.path.exists(env["BENCH_PHASE_CPU"]):
    with open(env["BENCH_PHASE_CPU"]) as f:
        phase_cpu = json.load(f)
idle = num("BENCH_IDLE")
peak = num("BENCH_PEAK")

results = {
    "preset": env["BENCH_PRESET"],
    "distribution": env.get("BENCH_DISTRIBUTION", "auto"),
    "keys": int(env["BENCH_KEYS"]),
    "value_bytes": int(env["BENCH_VALUE_BYTES"]),
    "snapshot_bytes": snapshot_bytes,
    "load_s": num("BENCH_LOAD_S"),
    "load_avg_start": num("BENCH_LOAD_START"),
    "load_avg_end": num("BENCH_LOAD_END"),
    "in_place": env.get("BENCH_NEW_CLIENT_PORT") == "2379",
    "rto_s": rto,
    # A restore in place: from stop-old to the new cluster serving the planned client URLs (the report's figure).
    "survivor_downtime_s": round(report["survivorDowntimeMillis"] / 1000.0, 3) if report.get("survivorDowntimeMillis") is not None else None,
    "manual_s": manual,
    "rto_ratio": ratio(rto, manual),
    "rto_steal_s": num("BENCH_RTO_STEAL"),
    "manual_steal_s": num("BENCH_MANUAL_STEAL"),
    "snapshot_and_distribute_s": snapshot_and_distribute,
    "manual_snapshot_and_distribute_s": manual_snapshot_and_distribute,
    "dist_s": dist,
    "dist_baseline_s": dist_baseline,
    "dist_ratio": ratio(dist, dist_baseline),
    "scp_s": scp,
    "scp_na_reason": env.get("BENCH_SCP_REASON") or None,
    "dist_vs_scp_ratio": ratio(dist, scp),
    # Measured on the coordinator's agent channels (message bytes), from the report.
    "coordinator_bytes_sent": report.get("snapshot", {}).get("coordinatorBytesSent"),
    # What the coordinator sent and received for the snapshot (etcd's bytes too when it took it) over its size.
    "coordinator_wire_bytes_ratio": report.get("snapshot", {}).get("coordinatorWireBytesRatio"),
    "relay_s": relay.get("seconds"),
    "relay_coordinator_bytes_sent": relay.get("egress_bytes"),
    "relay_egress_ratio": relay.get("egress_ratio"),
    # One hop: the recovery's snapshot to one agent (plain process, the unit's options) beside one scp, bench/hop.sh.
    "receiver_cpu_s_per_gb": hop.get("receiver_cpu_s_per_gb"),
    "sender_cpu_s_per_gb": hop.get("sender_cpu_s_per_gb"),
    "scp_cpu_s_per_gb": hop.get("scp_cpu_s_per_gb"),
    "single_stream_mb_s": hop.get("single_stream_mb_s"),
    "scp_single_stream_mb_s": hop.get("scp_single_stream_mb_s"),
    "agent_idle_rss_mib": idle,
    "agent_peak_rss_mib": peak,
    "agent_hwm_end_of_recover_mib": num("BENCH_END_HWM"),
    "rescue_phase_s": rescue_phases,
    "manual_phase_s": manual_phases,
    "rescue_phase_cpu_s": phase_cpu,
}
targets = [
    ("RTO <= 0.6 x manual", results["rto_ratio"], 0.6),
    ("distribution <= 0.75 x cp+sync+sha256sum", results["dist_ratio"], 0.75),
    ("distribution no slower than scp", results["dist_vs_scp_ratio"], 1.0),
    ("agent VmRSS idle <= 64 MiB", idle, 64),
    ("agent VmHWM <= 128 MiB", peak, 128),
    ("relay: coordinator egress <= 1.05 x snapshot", results["relay_egress_ratio"], 1.05),
    ("coordinator wire bytes <= 0.01 x snapshot", results["coordinator_wire_bytes_ratio"], 0.01),
    ("one hop: receiver <= 1.5 CPU-s per GB", results["receiver_cpu_s_per_gb"], 1.5),
    ("one hop: sender <= 1.0 CPU-s per GB", results["sender_cpu_s_per_gb"], 1.0),
    ("one hop: one stream no slower than one scp", ratio(results["scp_single_stream_mb_s"], results["single_stream_mb_s"]), 1.0),
]
results["targets"] = {name: verdict(v, limit) for name, v, limit in targets}

print()
print(f"== bench {results['preset']}: {results['keys']} keys x {results['value_bytes']} B, snapshot {snapshot_bytes / 2**20:.1f} MiB, {hosts} hosts ==")
print(f"RTO          etcd-rescue {rto:.1f} s   manual {manual:.1f} s   ratio {results['rto_ratio']}   (target <= 0.6: {results['targets']['RTO <= 0.6 x manual']})")
if results["rto_steal_s"] is not None and results["manual_steal_s"] is not None:
    print(f"  stolen     CPU-seconds the hypervisor took (steal): etcd-rescue {results['rto_steal_s']:.1f}"
          f" ({100 * results['rto_steal_s'] / (os.cpu_count() * rto):.0f} % of its CPU time),"
          f" manual {results['manual_steal_s']:.1f} ({100 * results['manual_steal_s'] / (os.cpu_count() * manual):.0f} %)")
if results["survivor_downtime_s"] is not None:
    print(f"  in place   survivor downtime {results['survivor_downtime_s']:.1f} s (stop-old until clients were served on port 2379)")
print("  per phase  " + "  ".join(f"{p} {s:.1f}" for p, s in rescue_phases.items()))
print("  manual     " + "  ".join(f"{p} {s:.1f}" for p, s in manual_phases.items()))
for p, groups in phase_cpu.items():
    total = sum(groups.values())
    if total >= 1:
        wall = rescue_phases.get(p)
        share = f" of {os.cpu_count() * wall:.1f} on {os.cpu_count()} CPUs" if wall else ""
        print(f"  CPU {p:<10} {total:6.1f} CPU-s{share}: " + ", ".join(f"{g} {t:.1f}" for g, t in groups.items() if t >= 0.1))
scp_text = f"{scp:.2f} s" if scp is not None else f"n/a ({results['scp_na_reason']})"
print(f"  snapshot + distribute  etcd-rescue {snapshot_and_distribute:.1f} s (--distribution {results['distribution']})   manual {manual_snapshot_and_distribute:.1f} s")
dist_text = f"{dist:.2f} s" if dist is not None else "n/a (see the run's logs/direct-probe.log)"
print(f"distribution etcd-rescue {dist_text} (the finished file, direct)   cp+sync+sha256sum {dist_baseline:.2f} s   ratio {results['dist_ratio']} (target <= 0.75: {results['targets']['distribution <= 0.75 x cp+sync+sha256sum']})")
print(f"             scp x{hosts} parallel {scp_text}   ratio {results['dist_vs_scp_ratio']} (target <= 1: {results['targets']['distribution no slower than scp']})")
sent = results["coordinator_bytes_sent"]
print(f"             coordinator sent {sent / 2**20:.1f} MiB in recover, wire bytes {results['coordinator_wire_bytes_ratio']} x the snapshot"
      f" (--distribution {results['distribution']}; target <= 0.01: {results['targets']['coordinator wire bytes <= 0.01 x snapshot']})"
      if sent is not None else "             coordinator sent: n/a")
if relay:
    print(f"             relay to {hosts} hosts: {relay['seconds']:.1f} s, coordinator sent {relay['egress_bytes'] / 2**20:.1f} MiB"
          f" ({relay['egress_ratio']:.2f} x the snapshot)")
else:
    print("             relay: n/a (see the run's logs/relay-probe.log)")
if hop:
    print(f"one hop      receiver {hop['receiver_cpu_s_per_gb']} CPU-s/GB (target <= 1.5)   sender {hop['sender_cpu_s_per_gb']}"
          f" (target <= 1.0)   one stream {hop['single_stream_mb_s']} MB/s, one scp {hop['scp_single_stream_mb_s']} MB/s"
          f" (scp + sshd {hop['scp_cpu_s_per_gb']} CPU-s/GB)")
else:
    print("one hop      n/a (see the run's logs/hop.log)")
print(f"agent memory VmRSS idle {idle} MiB (target <= 64: {results['targets']['agent VmRSS idle <= 64 MiB']})   "
      f"VmHWM after receiving {peak} MiB (target <= 128: {results['targets']['agent VmHWM <= 128 MiB']})   "
      f"VmHWM at the end {results['agent_hwm_end_of_recover_mib']} MiB")

with open(env["BENCH_PHASES_DAT"], "w") as f:
    f.write("tool " + " ".join(phase_names) + "\n")
    f.write("etcd-rescue " + " ".join(str(rescue_phases.get(p, 0)) for p in phase_names) + "\n")
    f.write("manual " + " ".join(str(manual_phases.get(p, 0)) for p in phase_names) + "\n")
with open(env["BENCH_RESULTS"], "w") as f:
    json.dump(results, f, indent=2)
    f.write("\n")
line = json.dumps(results, separators=(",", ":"))
with open(env["BENCH_RESULTS"].replace("results.json", "results.line"), "w") as f:
    f.write(line + "\n")
