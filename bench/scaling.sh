#!/usr/bin/env bash
# Scaling of the distribute step: one snapshot to N agents, direct (one stream per agent) and relay
# (the coordinator sends once, each agent forwards to the next), for every N in --agents.
# The agents run as plain processes (deploy/bin/etcd-rescue-agent with the unit's JVM options) on
# 127.X.Y.n, each with its own dirs and certificate; no testbed hosts, no etcd cluster. The
# coordinator side is bench/DistributionProbe.java (the coordinator's own SnapshotDistribution).
# Per run: wall time, coordinator egress (the bytes of chunk data the coordinator wrote to agent
# streams, counted in the coordinator), egress / snapshot size; and, for each N, the baseline of the
# quick/full presets on the same file: cp to N dirs + sync + sha256sum of the source and the N copies.
# Prints figures as it goes and ends with one JSON line.
#
# usage: bench/scaling.sh [--size-mb 256] [--agents "3 5 7 15"] [--snapshot FILE] [--chunk BYTES] [--keep-work]
#   --snapshot FILE  an etcd snapshot to send (default: one of about --size-mb made with a throwaway etcd)
# Called by bench/run.sh scaling. Exit codes: 0 measured; 1 a step failed; 2 bad arguments; 3 cannot run.
set -euo pipefail

script_dir=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
# shellcheck source=bench/lib.sh
. "$script_dir/lib.sh"
etcd_rescue=$repo_root/deploy/bin/etcd-rescue
agent_bin=$repo_root/deploy/bin/etcd-rescue-agent
bench_root=/var/lib/etcd-rescue-bench
agent_port=7443
size_mb=256 counts="3 5 7 15" snapshot="" chunk=1048576 keep_work=no
agent_java_opts=${AGENT_JAVA_OPTS:-$(sed -n 's/^Environment="JAVA_OPTS=\(.*\)"$/\1/p' "$repo_root/deploy/systemd/etcd-rescue-agent.service")}
while [ $# -gt 0 ]; do
  case "$1" in
    --size-mb) size_mb=${2:?}; shift 2 ;;
    --agents) counts=${2:?}; shift 2 ;;
    --snapshot) snapshot=${2:?}; shift 2 ;;
    --chunk) chunk=${2:?}; shift 2 ;;
    --keep-work) keep_work=yes; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "scaling: unknown argument $1" >&2; exit 2 ;;
  esac
done
host_count=0
for n in $counts; do [ "$n" -gt "$host_count" ] && host_count=$n; done
cluster=etcd-scaling
bench_t0=$(now)
load_start=$(cut -d ' ' -f 1 /proc/loadavg)
for tool in java etcd etcdctl python3; do
  command -v "$tool" >/dev/null || { echo "scaling: $tool is missing" >&2; exit 3; }
done
if ! compgen -G "$repo_root/coordinator/target/lib/*.jar" >/dev/null || ! compgen -G "$repo_root/agent/target/lib/*.jar" >/dev/null; then
  echo "scaling: build first (mvn -B -DskipTests package -pl proto,snapshot-format,pki,agent,coordinator)" >&2
  exit 3
fi
mkdir -p "$bench_root"
free_bytes=$(df --output=avail -B1 "$bench_root" | tail -n 1 | tr -d ' ')
need_bytes=$(( (size_mb << 20) * (host_count + 3) ))
[ "$free_bytes" -ge "$need_bytes" ] || { echo "scaling: needs $((need_bytes >> 30)) GiB free under $bench_root" >&2; exit 3; }
address_prefix=$(pick_address_block 2379 2380 22379 22380 24379 24380 32379 "$agent_port") || { echo "scaling: no free 127.X.Y.0/24 block" >&2; exit 3; }

work=$bench_root/scaling-$(date +%Y%m%d-%H%M%S)-$$
logs=$work/logs
mkdir -p "$logs"
agent_pids=() etcd_pid=""
teardown() {
  local rc=$? pid
  trap - EXIT
  set +e
  for pid in "${agent_pids[@]}" $etcd_pid; do kill "$pid" 2>/dev/null; done
  for pid in "${agent_pids[@]}" $etcd_pid; do wait "$pid" 2>/dev/null; done
  rm -rf "$work"/agents/*/state/staging "$work/etcd"
  [ "$keep_work" = yes ] || rm -f "$work/snapshot.db"
  [ $rc = 0 ] || echo "scaling: FAILED (exit $rc); logs in $logs" >&2
  exit $rc
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
echo "scaling: agents $counts on $address_prefix.1-$host_count; record in $work; load average $load_start"

# ---- the snapshot ----
if [ -z "$snapshot" ]; then
  snapshot=$work/snapshot.db
  etcd_dir=$work/etcd
  mkdir -p "$etcd_dir/batches"
  etcd_url=http://$(address 0):2379
  etcd --name s --data-dir "$etcd_dir/data" --listen-client-urls "$etcd_url" --advertise-client-urls "$etcd_url" \
    --listen-peer-urls "http://$(address 0):2380" --initial-advertise-peer-urls "http://$(address 0):2380" \
    --initial-cluster "s=http://$(address 0):2380" --quota-backend-bytes=$((8 << 30)) > "$logs/etcd.log" 2>&1 &
  etcd_pid=$!
  for _ in $(seq 1 100); do etcdctl_at "$etcd_url" endpoint health >/dev/null 2>&1 && break; sleep 0.2; done
  # 4 KiB values take about 1.6 x their size in the snapshot (bolt pages, keys, revisions).
  keys=$(( (size_mb << 20) * 10 / 16 / 4096 ))
  head -c $((keys * 3072)) /dev/urandom | base64 -w 4096 \
    | awk -v dir="$etcd_dir/batches" '{ f = sprintf("%s/b-%06d", dir, int((NR - 1) / 128)); printf "put /bench/key-%08d %s\n", NR - 1, $0 > f; if (NR % 128 == 0) close(f) }'
  # shellcheck disable=SC2016 # $1 is the generated script's argument, not ours
  printf '#!/bin/bash\n{ echo; cat "$1"; echo; echo; } | ETCDCTL_API=3 etcdctl --endpoints=%s --command-timeout=60s txn > /dev/null\n' \
    "$etcd_url" > "$etcd_dir/load.sh"
  chmod +x "$etcd_dir/load.sh"
  find "$etcd_dir"/batches -maxdepth 1 -name "b-*" -print0 | sort -z | xargs -0 -P 4 -n 1 "$etcd_dir/load.sh" || fail "loading the throwaway etcd failed"
  etcdctl_at "$etcd_url" snapshot save "$snapshot" > "$logs/snapshot.log" 2>&1 || fail "snapshot save (see $logs/snapshot.log)"
  kill "$etcd_pid"; wait "$etcd_pid" 2>/dev/null || true
  etcd_pid=""
  rm -rf "$etcd_dir"
fi
snapshot_bytes=$(stat -c %s "$snapshot")
note "snapshot: $snapshot_bytes bytes"

# ---- certificates and agents ----
inventory=$work/inventory.yaml
{
  echo "all:"
  echo "  vars: {agent_port: $agent_port, tls_dir: $work/pki}"
  echo "  children:"
  echo "    $cluster:"
  echo "      vars: {cluster_token: $cluster, snapshot_file: $snapshot}"
  echo "      hosts:"
  for i in $(seq 0 $((host_count - 1))); do echo "        $(host_name "$i"): {address: $(address "$i")}"; done
} > "$inventory"
"$etcd_rescue" pki init --dir "$work/pki" > "$logs/pki.log" 2>&1 || fail "pki init (see $logs/pki.log)"
"$etcd_rescue" pki issue --dir "$work/pki" --inventory "$inventory" >> "$logs/pki.log" 2>&1 || fail "pki issue (see $logs/pki.log)"
for i in $(seq 0 $((host_count - 1))); do
  host=$(host_name "$i") dir=$work/agents/$(host_name "$i")
  mkdir -p "$dir/state" "$dir/data" "$dir/default" "$dir/units" "$dir/backups"
  cat > "$dir/agent.yaml" <<EOF
host_name: $host
listen: $(address "$i"):$agent_port
tls: {ca: $work/pki/ca.pem, cert: $work/pki/agents/$host/agent.pem, key: $work/pki/agents/$host/agent-key.pem}
state_dir: $dir/state
allowed_data_roots: [$dir/data]
env_dir: $dir/default
unit_dir: $dir/units
base_unit_dirs: [/lib/systemd/system]
tool_dirs: [/usr/local/bin, /usr/bin]
backup_dirs: [$dir/backups]
max_claim_ttl: PT10M
EOF
  JAVA_OPTS=$agent_java_opts "$agent_bin" --config "$dir/agent.yaml" > "$logs/agent-$host.log" 2>&1 &
  agent_pids+=($!)
done
for i in $(seq 0 $((host_count - 1))); do
  for _ in $(seq 1 150); do port_open "$(address "$i")" $agent_port && break; sleep 0.2; done
  port_open "$(address "$i")" $agent_port || fail "agent $(host_name "$i") does not listen (see $logs/agent-$(host_name "$i").log)"
done
note "$host_count agents serving (JAVA_OPTS: $agent_java_opts)"

# ---- the runs ----
probe() {
  local mode=$1 n=$2 i targets=()
  for i in $(seq 0 $((n - 1))); do targets+=("$(host_name "$i")=$(address "$i"):$agent_port"); done
  # shellcheck disable=SC2046 # the options are separate words on purpose
  java $(coordinator_jvm_opts) -cp "$repo_root/coordinator/target/lib/*" "$script_dir/DistributionProbe.java" "$work/pki" "$snapshot" "$mode" \
    "$chunk" "scaling-$mode-$n-$$" "${targets[@]}" 2>> "$logs/probe-$mode-$n.log"
}
baseline() {
  local n=$1 i t sums
  t=$(now)
  for i in $(seq 0 $((n - 1))); do cp "$snapshot" "$work/agents/$(host_name "$i")/data/cp-snapshot.db"; done
  sync
  sums=$(sha256sum "$snapshot" "$work"/agents/*/data/cp-snapshot.db | awk '{ print $1 }' | sort -u | wc -l)
  [ "$sums" = 1 ] || fail "a cp copy differs"
  seconds_since "$t"
  rm -f "$work"/agents/*/data/cp-snapshot.db
}
lines=()
for n in $counts; do
  cp_s=$(baseline "$n")
  note "cp to $n dirs + sync + sha256sum: $cp_s s"
  lines+=("{\"mode\":\"cp+sync+sha256sum\",\"agents\":$n,\"seconds\":$cp_s,\"egress_bytes\":null,\"egress_ratio\":null,\"relay_failure\":null}")
  for mode in direct relay; do
    line=$(probe "$mode" "$n") || fail "$mode to $n agents failed: $line (see $logs/probe-$mode-$n.log)"
    lines+=("$line")
    note "$mode to $n agents: $(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("%.1f s, coordinator egress %d B = %.2f x the snapshot" % (r["seconds"], r["egress_bytes"], r["egress_ratio"]))' "$line") (load $(cut -d ' ' -f 1 /proc/loadavg))"
    rm -rf "$work"/agents/*/state/staging
  done
done
printf '%s\n' "${lines[@]}" > "$work/runs.jsonl"
python3 - "$work/runs.jsonl" "$snapshot_bytes" "$load_start" "$(cut -d ' ' -f 1 /proc/loadavg)" <<'EOF' | tee "$work/results.line"
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
out = {"preset": "scaling", "snapshot_bytes": int(sys.argv[2]), "load_avg_start": float(sys.argv[3]),
       "load_avg_end": float(sys.argv[4]), "runs": []}
for r in runs:
    out["runs"].append({"mode": r["mode"], "agents": r["agents"], "seconds": r["seconds"],
                        "egress_bytes": r["egress_bytes"], "egress_ratio": r["egress_ratio"],
                        "relay_failure": r["relay_failure"]})
print(json.dumps(out, separators=(",", ":")))
EOF
