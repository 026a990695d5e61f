#!/usr/bin/env bash
# The cost of one backup, side by side with the manual way of taking one, in the same run:
#   manual: `etcdctl snapshot save` of the member, then `sha256sum` of the file (wall time; CPU of both,
#           and of etcd while it serves the snapshot).
#   backup: the agent (a plain process with the unit's JVM options and environment) takes a backup of the
#           same member with every check: etcd's SHA-256 trailer, the bbolt structure, HashKV of the file
#           against the member's at that revision, zstd, the signed manifest written last
#           (`etcd-rescue backup now`). Its time is the agent's own (metric
#           etcd_rescue_backup_last_duration_seconds: snapshot to manifest); the command's wall time, with
#           the coordinator's JVM start, is printed beside it. CPU: the agent with the etcdctl it ran, and etcd.
#   writer: a bounded writer (bench/WriterProbe.java, RATE puts of 1 KiB per second, open loop, jetcd) runs
#           through a quiet window and then through one more backup: p50, p99 and max of each.
# The member is a lone etcd on 127.0.0.1 loaded like bench/run.sh's old cluster (4 KiB random values).
# Before the rounds the agent takes the backup of its first schedule slot (a warm-up, and proof that the
# schedule works). Prints each round, the figures against the target (a backup <= 1.2 x snapshot save +
# sha256sum), and ends with one JSON line. The target is reported, not asserted.
#
# usage: bench/backup.sh tiny|quick|full [--rounds N] [--rate PUTS_PER_S] [--keep]
#   tiny 4,096 keys; quick 65,536 keys (~270 MiB db); full 262,144 keys (~1.1 GiB db)
#   --rounds  manual-then-backup rounds (default 2)
#   --rate    the bounded writer's puts per second (default 100)
#   --keep    keep the work dir (logs, PKI, backups)
# Needs root, Java 17, etcd and etcdctl, the agent's and the coordinator's jars (mvn -B -DskipTests package),
# about 5 x the data's size free under /var/lib/etcd-rescue-bench. MB and GB here are 10^6 and 10^9 bytes.
# Exit codes: 0 measured; 1 a step failed; 2 bad arguments; 3 this machine cannot run it.
set -euo pipefail

script_dir=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
# shellcheck source=bench/lib.sh
. "$script_dir/lib.sh"
bench_root=/var/lib/etcd-rescue-bench
etcd_rescue=$repo_root/deploy/bin/etcd-rescue
value_bytes=4096 batch_keys=128 loaders=4 rounds=2 rate=100 keep=no

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
case "${1:-}" in
  tiny) keys=4096 ;;
  quick) keys=65536 ;;
  full) keys=262144 ;;
  -h|--help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac
preset=$1
shift
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=${2:?--rounds needs a number}; shift 2 ;;
    --rate) rate=${2:?--rate needs puts per second}; shift 2 ;;
    --keep) keep=yes; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench backup: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$rounds" in ''|*[!0-9]*|0) echo "bench backup: --rounds needs a number >= 1" >&2; exit 2 ;; esac
case "$rate" in ''|*[!0-9]*|0) echo "bench backup: --rate needs a whole number of puts per second >= 1" >&2; exit 2 ;; esac
bench_t0=$(now)

[ "$(id -u)" = 0 ] || { echo "bench backup: run as root" >&2; exit 3; }
for tool in java python3 etcd etcdctl sha256sum curl getconf; do
  command -v "$tool" >/dev/null || { echo "bench backup: $tool is missing" >&2; exit 3; }
done
if ! compgen -G "$repo_root/agent/target/lib/*.jar" >/dev/null || ! compgen -G "$repo_root/coordinator/target/lib/*.jar" >/dev/null; then
  echo "bench backup: build first: mvn -B -DskipTests package -pl proto,snapshot-format,pki,agent,coordinator" >&2
  exit 3
fi
mkdir -p "$bench_root"
work=$bench_root/backup-$(date +%Y%m%d-%H%M%S)-$$
need=$(( keys * value_bytes * 5 + 512 * 1024 * 1024 ))
free=$(df --output=avail -B1 "$bench_root" | tail -n 1 | tr -d ' ')
if [ "$free" -lt "$need" ]; then
  echo "bench backup: needs $((need / 1024 / 1024)) MiB free under $bench_root, there are $((free / 1024 / 1024)) MiB" >&2
  exit 3
fi
mkdir -p "$work/agent" "$work/data"
etcd_pid="" agent_pid="" writer_pid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  touch "$work/writer.stop"
  for pid in "$writer_pid" "$agent_pid" "$etcd_pid"; do
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
  done
  if [ "$keep" = no ]; then rm -rf "$work"; else echo "bench backup: kept $work"; fi
  [ $rc = 0 ] || echo "bench backup: FAILED (exit $rc)" >&2
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  local candidate
  for _ in $(seq 1 50); do
    candidate=$((20000 + RANDOM % 20000))
    port_open 127.0.0.1 "$candidate" || { echo "$candidate"; return 0; }
  done
  return 1
}
client_port=$(free_port) peer_port=$(free_port) agent_port=$(free_port) metrics_port=$(free_port) \
  || { echo "bench backup: no free port on 127.0.0.1" >&2; exit 3; }
endpoint=http://127.0.0.1:$client_port
note "work dir $work; load average $(cut -d ' ' -f 1-3 /proc/loadavg)"

# ---- the member: a lone etcd, loaded ----
etcd --name bench --data-dir "$work/etcd" --listen-client-urls "$endpoint" --advertise-client-urls "$endpoint" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "bench=http://127.0.0.1:$peer_port" --quota-backend-bytes $((8 * 1024 * 1024 * 1024)) \
  > "$work/etcd.log" 2>&1 &
etcd_pid=$!
for _ in $(seq 1 100); do etcdctl_at "$endpoint" endpoint health > /dev/null 2>&1 && break; sleep 0.1; done
etcdctl_at "$endpoint" endpoint health > /dev/null 2>&1 || fail "etcd did not become healthy (see $work/etcd.log)"

t=$(now)
head -c $((keys * value_bytes * 3 / 4)) /dev/urandom | base64 -w "$value_bytes" \
  | awk -v dir="$work/data" -v batch="$batch_keys" \
      '{ f = sprintf("%s/batch-%06d", dir, int((NR - 1) / batch)); printf "put /bench/key-%08d %s\n", NR - 1, $0 > f; if (NR % batch == 0) close(f) }'
cat > "$work/load-batch.sh" <<'EOF'
#!/bin/bash
set -o pipefail
out=$({ echo; cat "$1"; echo; echo; } | ETCDCTL_API=3 etcdctl --endpoints="$ENDPOINT" --command-timeout=60s txn 2>&1) \
  && [ "${out%%$'\n'*}" = SUCCESS ] || { echo "load-batch $1: $out" | head -n 3 >&2; exit 1; }
EOF
chmod +x "$work/load-batch.sh"
find "$work/data" -maxdepth 1 -name "batch-*" -print0 | sort -z | ENDPOINT=$endpoint xargs -0 -P "$loaders" -n 1 "$work/load-batch.sh" \
  || fail "loading failed"
rm -rf "$work/data"
load_s=$(seconds_since "$t")
note "loaded $keys keys of $value_bytes bytes in $load_s s"

# ---- the agent, with backups of that member ----
plain_agent_files "$work/agent" bench-backup "$agent_port" || fail "pki failed: $(cat "$work/agent/pki.log")"
sed -i "s#^    bench:#    bench-backup:#" "$work/agent/inventory.yaml"
cat >> "$work/agent/agent.yaml" <<YAML
backup:
  interval: PT24H
  dir: $work/agent/backups
  cluster: bench-backup
  etcd:
    endpoint: $endpoint
metrics:
  listen: 127.0.0.1:$metrics_port
YAML
start_plain_agent "$work/agent" "$agent_port" || fail "the agent did not start (see $work/agent/agent.log)"
# The value of the metric NAME (the first sample whose labels contain LABEL, when given).
metric() {
  curl -fsS "http://127.0.0.1:$metrics_port/metrics" \
    | awk -v m="$1" -v l="${2:-}" 'index($1, m) == 1 && (substr($1, length(m) + 1, 1) ~ /^[{]?$/) && index($1, l) { print $2; exit }'
}
note "agent started (pid $agent_pid); waiting for the backup of its first schedule slot"
warmup_s=""
for _ in $(seq 1 1200); do
  warmup_s=$(metric etcd_rescue_backup_last_duration_seconds 2>/dev/null || true)
  [ -n "$warmup_s" ] && break
  kill -0 "$agent_pid" 2>/dev/null || fail "the agent exited (see $work/agent/agent.log)"
  sleep 0.5
done
[ -n "$warmup_s" ] || fail "no scheduled backup within 10 minutes (see $work/agent/agent.log)"
warmup_s=$(printf %.3f "$warmup_s")
note "scheduled backup (warm-up) took $warmup_s s"

cpu_of() { process_cpu_s "$1"; }
manual_s=() manual_cpu=() backup_s=() backup_cli_s=() backup_cpu=() ratios=()
snapshot_bytes="" stored_bytes=""
for round in $(seq 1 "$rounds"); do
  etcd0=$(cpu_of "$etcd_pid")
  # shellcheck disable=SC2016 # $1 and $2 are the inner shell's arguments
  read -r wall cpu < <(timed_cpu sh -c 'ETCDCTL_API=3 etcdctl --endpoints="$1" snapshot save "$2" > /dev/null 2>&1 && sha256sum "$2" > /dev/null' \
    _ "$endpoint" "$work/manual.db") || fail "etcdctl snapshot save + sha256sum failed"
  snapshot_bytes=$(stat -c %s "$work/manual.db")
  rm -f "$work/manual.db"
  manual_s+=("$wall") manual_cpu+=("$(awk -v c="$cpu" -v a="$etcd0" -v b="$(cpu_of "$etcd_pid")" 'BEGIN { printf "%.2f", c + b - a }')")

  etcd0=$(cpu_of "$etcd_pid") agent0=$(cpu_of "$agent_pid") t=$(now)
  "$etcd_rescue" backup now -i "$work/agent/inventory.yaml" --host bench-backup \
    > "$work/backup-now-$round.log" 2>&1 || fail "backup now failed: $(tail -n 5 "$work/backup-now-$round.log")"
  cli=$(seconds_since "$t")
  wait_for_no_children "$agent_pid" || true
  took=$(printf %.3f "$(metric etcd_rescue_backup_last_duration_seconds)")
  stored_bytes=$(metric etcd_rescue_backup_last_size_bytes 'kind="stored"')
  backup_s+=("$took") backup_cli_s+=("$cli")
  backup_cpu+=("$(awk -v a0="$agent0" -v a1="$(cpu_of "$agent_pid")" -v e0="$etcd0" -v e1="$(cpu_of "$etcd_pid")" 'BEGIN { printf "%.2f", a1 - a0 + e1 - e0 }')")
  ratios+=("$(ratio "$took" "$wall")")
  note "round $round: snapshot save + sha256sum ${wall} s (CPU ${manual_cpu[-1]} s); backup ${took} s (CPU ${backup_cpu[-1]} s, command ${cli} s): ${ratios[-1]} x"
done

# ---- the bounded writer: a quiet window, then through one backup ----
writer() { java -cp "$repo_root/coordinator/target/lib/*" "$script_dir/WriterProbe.java" "$endpoint" "$rate" "$work/writer.stop" "$1"; }
# Waits until the writer of FILE has put for 3 s (its JVM, compile and connection are behind it).
writer_warm() {
  for _ in $(seq 1 600); do
    [ -f "$1" ] && [ "$(wc -l < "$1")" -ge $((3 * rate)) ] && return 0
    kill -0 "$writer_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
quiet_s=$(awk -v s="${backup_s[0]}" 'BEGIN { printf "%d", s < 10 ? 10 : s + 0.5 }')
rm -f "$work/writer.stop"
writer "$work/writer-quiet.txt" > "$work/writer-quiet.log" 2>&1 &
writer_pid=$!
writer_warm "$work/writer-quiet.txt" || fail "the writer did not start: $(cat "$work/writer-quiet.log")"
quiet_from=$(now)
sleep "$quiet_s"
quiet_to=$(now)
touch "$work/writer.stop"; wait "$writer_pid" || fail "the writer failed: $(cat "$work/writer-quiet.log")"; writer_pid=""
rm -f "$work/writer.stop"
writer "$work/writer-backup.txt" > "$work/writer-backup.log" 2>&1 &
writer_pid=$!
writer_warm "$work/writer-backup.txt" || fail "the writer did not start: $(cat "$work/writer-backup.log")"
backup_from=$(now)
"$etcd_rescue" backup now -i "$work/agent/inventory.yaml" --host bench-backup \
  > "$work/backup-now-writer.log" 2>&1 || fail "backup now (writer) failed: $(tail -n 5 "$work/backup-now-writer.log")"
backup_to=$(now)
touch "$work/writer.stop"; wait "$writer_pid" || fail "the writer failed: $(cat "$work/writer-backup.log")"; writer_pid=""
note "writer at $rate puts/s: quiet window ${quiet_s} s, then through a backup"

BENCH_PRESET=$preset BENCH_KEYS=$keys BENCH_LOAD_S=$load_s BENCH_WARMUP=$warmup_s BENCH_SNAPSHOT=$snapshot_bytes \
BENCH_STORED=$stored_bytes BENCH_MANUAL="${manual_s[*]}" BENCH_MANUAL_CPU="${manual_cpu[*]}" BENCH_BACKUP="${backup_s[*]}" \
BENCH_BACKUP_CLI="${backup_cli_s[*]}" BENCH_BACKUP_CPU="${backup_cpu[*]}" BENCH_RATE=$rate BENCH_WORK=$work \
BENCH_QUIET="$quiet_from $quiet_to" BENCH_DURING="$backup_from $backup_to" BENCH_LOAD=$(cut -d ' ' -f 1 /proc/loadavg) \
python3 - <<'EOF'
import json, os
e = os.environ
floats = lambda k: [float(x) for x in e[k].split()]
manual, manual_cpu = floats("BENCH_MANUAL"), floats("BENCH_MANUAL_CPU")
backup, backup_cli, backup_cpu = floats("BENCH_BACKUP"), floats("BENCH_BACKUP_CLI"), floats("BENCH_BACKUP_CPU")
def latencies(path, window):
    start, end = (float(x) * 1000 for x in window.split())
    values = [int(v) for due, v in (line.split() for line in open(path)) if start <= int(due) < end]
    ok = sorted(v for v in values if v >= 0)
    pick = lambda q: round(ok[min(len(ok) - 1, int(q * len(ok)))] / 1000, 2) if ok else None
    return {"puts": len(values), "failed": sum(1 for v in values if v < 0), "p50_ms": pick(0.50), "p99_ms": pick(0.99),
            "max_ms": round(ok[-1] / 1000, 2) if ok else None}
quiet = latencies(os.path.join(e["BENCH_WORK"], "writer-quiet.txt"), e["BENCH_QUIET"])
during = latencies(os.path.join(e["BENCH_WORK"], "writer-backup.txt"), e["BENCH_DURING"])
ratios = [b / m for b, m in zip(backup, manual)]
ratio = sum(ratios) / len(ratios)
cpu_ratio = sum(backup_cpu) / sum(manual_cpu)
snapshot, stored = int(e["BENCH_SNAPSHOT"]), float(e["BENCH_STORED"] or 0)
print(f"snapshot {snapshot / 1e6:.1f} MB, stored {stored / 1e6:.1f} MB (zstd {stored / snapshot:.3f} x)")
print("figure                                   measured            target   status")
print(f"backup / (snapshot save + sha256sum)     {ratio:8.3f} x (wall)   1.2 x    {'met' if ratio <= 1.2 else 'NOT met'}")
print(f"  the same in CPU-seconds                {cpu_ratio:8.3f} x")
print(f"writer p99 quiet / during a backup       {quiet['p99_ms']} / {during['p99_ms']} ms ({during['failed']} of {during['puts']} puts failed)")
print(json.dumps({
    "bench": "backup", "preset": e["BENCH_PRESET"], "keys": int(e["BENCH_KEYS"]), "load_s": float(e["BENCH_LOAD_S"]),
    "snapshot_bytes": snapshot, "stored_bytes": int(stored), "scheduled_backup_s": float(e["BENCH_WARMUP"]),
    "manual_s": manual, "manual_cpu_s": manual_cpu, "backup_s": backup, "backup_command_s": backup_cli, "backup_cpu_s": backup_cpu,
    "backup_ratio": round(ratio, 3), "backup_cpu_ratio": round(cpu_ratio, 3), "writer_rate": int(e["BENCH_RATE"]),
    "writer_quiet": quiet, "writer_during_backup": during, "load_avg_end": float(e["BENCH_LOAD"]),
    "targets": {"backup <= 1.2 x snapshot save + sha256sum": "met" if ratio <= 1.2 else "NOT met"}}))
EOF
