"""bench/hop.sh's figures: reads its rounds file ("hop N LOAD {json}" and "scp N LOAD SECONDS SCP_CPU SSHD_CPU"
lines, each scp after the hop of its round), prints every round and the first one's figures against the
targets, and ends with one JSON line. The first round of a transport is its agent's first transfer after
its start, as in a recovery; later rounds are warm."""
import json
import os

TARGET_RECEIVER = 1.5   # CPU-s per GB received, with TLS, SHA-256 and fsync
TARGET_SENDER = 1.0     # CPU-s per GB sent

e = os.environ
size = int(e["BENCH_SIZE"])
gb = size / 1e9
rounds = []   # in the order measured: each hop, with the scp that followed it in the same round
for raw in open(e["BENCH_ROUNDS"]):
    kind, number, load, rest = raw.rstrip("\n").split(" ", 3)
    if kind == "hop":
        hop = json.loads(rest)
        rounds.append({"transport": hop["transport"], "round": int(number), "hop": {
            "load_avg": float(load), "seconds": hop["seconds"],
            "receiver_cpu_s_per_gb": round(hop["receiver_cpu_s"] / gb, 3),
            "sender_cpu_s_per_gb": round(hop["sender_cpu_s"] / gb, 3),
            "mb_s": round(size / 1e6 / hop["seconds"], 1)}})
    else:
        seconds, scp_cpu, sshd_cpu = (float(x) for x in rest.split())
        rounds[-1]["scp"] = {"load_avg": float(load), "seconds": seconds,
                             "scp_cpu_s_per_gb": round((scp_cpu + sshd_cpu) / gb, 3),
                             "client_cpu_s_per_gb": round(scp_cpu / gb, 3), "sshd_cpu_s_per_gb": round(sshd_cpu / gb, 3),
                             "mb_s": round(size / 1e6 / seconds, 1)}

print(f"{'transport':>9} {'round':>5} {'load':>5} {'seconds':>8} {'MB/s':>7}  CPU-s per GB")
for r in rounds:
    h = r["hop"]
    print(f"{r['transport']:>9} {r['round']:>5} {h['load_avg']:5.2f} {h['seconds']:8.2f} {h['mb_s']:7.1f}  receiver "
          f"{h['receiver_cpu_s_per_gb']:.2f}, sender {h['sender_cpu_s_per_gb']:.2f}")
    if "scp" in r:
        s = r["scp"]
        print(f"{'scp':>9} {r['round']:>5} {s['load_avg']:5.2f} {s['seconds']:8.2f} {s['mb_s']:7.1f}  scp + sshd "
              f"{s['scp_cpu_s_per_gb']:.2f} (scp {s['client_cpu_s_per_gb']:.2f}, sshd {s['sshd_cpu_s_per_gb']:.2f})")

manual_load, manual_seconds, manual_cpu = (float(x) for x in e["BENCH_MANUAL"].split())
manual = {"load_avg": manual_load, "seconds": manual_seconds, "cpu_s_per_gb": round(manual_cpu / gb, 3),
          "mb_s": round(size / 1e6 / manual_seconds, 1)}
print(f"{'cp+sync+':>9} {'':>5} {manual_load:5.2f} {manual_seconds:8.2f} {manual['mb_s']:7.1f}  cp + sync + sha256sum "
      f"{manual['cpu_s_per_gb']:.2f}")

first = rounds[0]
hop, scp = first["hop"], first.get("scp")


def verdict(ok):
    return "met" if ok else "NOT met"


print(f"{first['transport']}, first round (the agent's first transfer), {size} bytes:")
print(f"  receiver {hop['receiver_cpu_s_per_gb']:.2f} CPU-s/GB, target {TARGET_RECEIVER}: ratio "
      f"{hop['receiver_cpu_s_per_gb'] / TARGET_RECEIVER:.2f}, {verdict(hop['receiver_cpu_s_per_gb'] <= TARGET_RECEIVER)}")
print(f"  sender   {hop['sender_cpu_s_per_gb']:.2f} CPU-s/GB, target {TARGET_SENDER}: ratio "
      f"{hop['sender_cpu_s_per_gb'] / TARGET_SENDER:.2f}, {verdict(hop['sender_cpu_s_per_gb'] <= TARGET_SENDER)}")
if scp:
    print(f"  one stream {hop['mb_s']:.1f} MB/s, one scp {scp['mb_s']:.1f} MB/s: ratio {hop['mb_s'] / scp['mb_s']:.2f}, "
          f"{verdict(hop['mb_s'] >= scp['mb_s'])}; scp + sshd {scp['scp_cpu_s_per_gb']:.2f} CPU-s/GB")
else:
    print(f"  one stream {hop['mb_s']:.1f} MB/s; scp n/a ({e.get('BENCH_SCP_REASON')})")
print(f"  agent VmHWM {e['BENCH_HWM']} MiB (target 128), VmRSS at the end {e['BENCH_RSS']} MiB")

print(json.dumps({
    "bench": "hop", "transport": first["transport"], "bytes": size, "chunk_bytes": int(e["BENCH_CHUNK"]),
    "receiver_cpu_s_per_gb": hop["receiver_cpu_s_per_gb"], "sender_cpu_s_per_gb": hop["sender_cpu_s_per_gb"],
    "scp_cpu_s_per_gb": scp["scp_cpu_s_per_gb"] if scp else None,
    "single_stream_mb_s": hop["mb_s"], "scp_single_stream_mb_s": scp["mb_s"] if scp else None,
    "single_stream_vs_scp": round(hop["mb_s"] / scp["mb_s"], 3) if scp else None,
    "scp_na_reason": e.get("BENCH_SCP_REASON") or None,
    "manual_cpu_s_per_gb": manual["cpu_s_per_gb"], "manual_mb_s": manual["mb_s"],
    "agent_vmhwm_mib": float(e["BENCH_HWM"]), "load_avg_first_round": hop["load_avg"],
    "load_avg_end": float(e["BENCH_LOAD_END"]),
    "rounds": rounds, "manual": manual,
    "targets": {"receiver <= 1.5 CPU-s/GB": verdict(hop["receiver_cpu_s_per_gb"] <= TARGET_RECEIVER),
                "sender <= 1.0 CPU-s/GB": verdict(hop["sender_cpu_s_per_gb"] <= TARGET_SENDER),
                "one stream >= one scp": verdict(hop["mb_s"] >= scp["mb_s"]) if scp else None}}))
