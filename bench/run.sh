#!/usr/bin/env bash
# Benchmarks etcd-rescue against the seed's manual procedure, on 5 local testbed hosts.
#
#   1. RTO: an old 5-member cluster loaded with N keys of 4 KiB random values, 4 members killed;
#      `etcd-rescue recover -w json` timed to a verified cluster (per-phase times from the report's
#      phaseMillis), and, in the same run on the same data, the seed's manual procedure scripted in
#      bash (etcdctl snapshot save; cp to the 5 hosts; sync; sha256sum; 5 restores in parallel into
#      /var/lib/etcd/manual.etcd; etcd_manual.service + /etc/default/etcd_manual on ports 24379/24380;
#      start; wait for health; member list; hashkv).
#   2. distribution: after recover, its snapshot file sent once more to the 5 agents (direct, the
#      coordinator's SnapshotDistribution in bench/DistributionProbe.java; recover itself streams the
#      snapshot on while taking it) against cp to 5 dirs + sync + sha256sum, and 5 parallel
#      scp -c aes128-gcm@openssh.com to a throwaway sshd on 127.0.0.1.
#   3. agent memory: VmRSS idle, VmHWM when the snapshot is in (start of restore) and at the end.
#   4. relay: then the same file by relay (--distribution relay's code): wall time and coordinator
#      egress (relay_s, relay_egress_ratio).
#   5. one hop: bench/hop.sh on the same file (one agent as a plain process, one scp): receiver and
#      sender CPU-s per GB and one stream's MB/s (receiver_cpu_s_per_gb, sender_cpu_s_per_gb,
#      scp_cpu_s_per_gb, single_stream_mb_s, scp_single_stream_mb_s).
#   With --in-place the new members take the old ports (2379/2380): the survivor keeps serving until
#   stop-old, and the report's survivor downtime (stop-old to clients served on 2379) is a figure.
# `bench/run.sh scaling [ARGS]` runs bench/scaling.sh instead: a 256 MB snapshot to 3, 5, 7 and 15
# agents (plain processes), direct and relay, wall time and coordinator egress for each.
# Prints figures as it goes and ends with one JSON line. Targets are reported, not asserted.
#
# usage: bench/run.sh tiny|quick|full [--build] [--chart FILE] [--keep-work] [--distribution MODE] [--in-place]
#        bench/run.sh scaling [--size-mb 256] [--agents "3 5 7 15"] [--snapshot FILE] [--keep-work]
#   tiny     4,096 keys (development)       quick  65,536 keys       full  262,144 keys
#   --build      build first (mvn package of proto, pki, agent, coordinator, dist); default: build
#                only when the distribution tarball or the coordinator's jars are missing
#   --chart FILE the PNG of time per phase (default: docs/benchmark-phases.png of this tree)
#   --keep-work  keep the run's big files (snapshots, generated data) for inspection
#   --distribution MODE  recover's --distribution: auto (its default), source-fanout, source-chain, streamed, direct or relay
#   --in-place   recover onto the old cluster's ports 2379/2380 instead of the seed's 22379/22380
# The run's record (results.json, phases.dat, logs) stays in /var/lib/etcd-rescue-bench/<run>/.
# Needs what deploy/demo.sh needs (root, systemd, cgroup v1 name=systemd, Java 17, etcd), plus
# gnuplot for the chart (n/a when missing) and openssh-server and -client for scp (installed with apt-get
# when missing).
# Exit codes: 0 measured; 1 a step failed; 2 bad arguments; 3 this machine cannot run it.
set -euo pipefail

script_dir=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
[ "${1:-}" = memory ] && { shift; exec "$script_dir/memory.sh" "$@"; }   # agent memory alone: bench/memory.sh --help
# shellcheck source=bench/lib.sh
. "$script_dir/lib.sh"
testbed_sh=$repo_root/testbed/testbed.sh
etcd_rescue=$repo_root/deploy/bin/etcd-rescue
bench_root=/var/lib/etcd-rescue-bench
host_count=5
survivor_index=4
cluster=etcd-bench
agent_port=7443
value_bytes=4096
batch_keys=128       # etcd's default --max-txn-ops
loaders=4
heartbeat_ms=250     # as deploy/demo.sh: 5 members and JVMs on few cores
election_ms=2500
manual_client_port=24379
manual_peer_port=24380
# "other": the rest of the wall time (JVM start, inventory, TLS, the report), not in phaseMillis.
phases=(preflight snapshot distribute restore configure stop-old start verify release cut-over other)

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
preset=${1:-}
case "$preset" in
  tiny) keys=4096 ;;
  quick) keys=65536 ;;
  full) keys=262144 ;;
  scaling) shift; exec "$script_dir/scaling.sh" "$@" ;;
  -h|--help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac
shift
build=auto chart=$repo_root/docs/benchmark-phases.png keep_work=no distribution=auto
new_client_port=22379 new_peer_port=22380
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=yes; shift ;;
    --chart) chart=${2:?--chart needs a file}; shift 2 ;;
    --keep-work) keep_work=yes; shift ;;
    --distribution) distribution=${2:?--distribution needs a mode of recover --distribution}; shift 2 ;;
    --in-place) new_client_port=2379 new_peer_port=2380; shift ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
  esac
done

bench_t0=$(now)
load_start=$(cut -d ' ' -f 1 /proc/loadavg)

# ---- what the machine needs ----
[ "$(id -u)" = 0 ] || { echo "bench: run as root (testbed hosts need namespaces and cgroups)" >&2; exit 3; }
for tool in etcd etcdctl java python3 unshare nsenter base64 sha256sum; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 3; }
done
mkdir -p "$bench_root"
# At the peak a host holds about 6 snapshots (old data and WAL, manual snapshot and manual.etcd, then
# an scp copy or the staged file and new.etcd); here: the generated data and 2 snapshots. A snapshot
# is about 1.5 x the values (quick: 386 MiB for 256 MiB).
need_bytes=$(( keys * value_bytes * 3 * (6 * host_count + 4) / 2 + 2 * 1024 * 1024 * 1024 ))
free_bytes=$(df --output=avail -B1 "$bench_root" | tail -n 1 | tr -d ' ')
if [ "$free_bytes" -lt "$need_bytes" ]; then
  echo "bench: $preset needs about $((need_bytes / 1024 / 1024 / 1024)) GiB free under $bench_root, there are $((free_bytes / 1024 / 1024 / 1024)) GiB" >&2
  exit 3
fi
address_prefix=$(pick_address_block 2379 2380 22379 22380 24379 24380 32379 "$agent_port") || { echo "bench: no free 127.X.Y.0/24 block" >&2; exit 3; }

if [ "$build" = yes ] || ! ls "$repo_root"/dist/target/etcd-rescue-*.tar.gz >/dev/null 2>&1 \
    || ! ls "$repo_root"/coordinator/target/lib/*.jar >/dev/null 2>&1; then
  echo "bench: building (mvn -B -q -DskipTests package)"
  mvn -B -q -f "$repo_root/pom.xml" -DskipTests package -pl proto,snapshot-format,pki,agent,coordinator,dist \
    || { echo "bench: the build failed" >&2; exit 1; }
fi
tarball=$(find "$repo_root"/dist/target -maxdepth 1 -name "etcd-rescue-*.tar.gz" -printf "%T@ %p\n" | sort -rn | head -n 1 | cut -d " " -f 2-)

# ---- the run's files; teardown on every exit ----
run_id=$(date +%Y%m%d-%H%M%S)-$$
work=$bench_root/$run_id
logs=$work/logs
mkdir -p "$logs" "$work/manual" "$work/data"
echo "bench $preset: $keys keys x $value_bytes B on $host_count hosts ($address_prefix.1-$host_count); record in $work"
echo "bench: load average at start $load_start; free under $bench_root: $((free_bytes / 1024 / 1024 / 1024)) GiB"

rundir="" sshd_pid="" sampler_pid="" cpu_pid=""
teardown() {
  local rc=$?
  trap - EXIT
  trap '' INT TERM
  set +e
  [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null
  [ -n "$cpu_pid" ] && kill "$cpu_pid" 2>/dev/null
  stop_throwaway_sshd
  local job
  for job in $(jobs -p); do kill "$job" 2>/dev/null; done
  wait 2>/dev/null
  if [ -n "$rundir" ] && [ -d "$rundir" ]; then
    local i
    for i in $(seq 0 $((host_count - 1))); do
      in_host "$(host_name "$i")" -- journalctl --no-pager -o short-precise -u etcd -u etcd_new -u etcd_manual \
        -u etcd-rescue-agent > "$logs/journal-$(host_name "$i").log" 2>&1
    done
    note "tearing down the hosts of $rundir"
    "$testbed_sh" rm "$rundir" >> "$logs/teardown.log" 2>&1 \
      || { echo "bench: teardown failed; run: $testbed_sh rm $rundir" >&2; [ $rc = 0 ] && rc=1; }
  fi
  if [ "$keep_work" = no ]; then
    rm -rf "$work/data" "$work/manual" "$work/dist" "$work/sshd" "$work/recover"/*/snapshot* 2>/dev/null
  fi
  [ $rc = 0 ] || echo "bench: FAILED (exit $rc); logs in $logs" >&2
  exit $rc
}
trap teardown EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT
trap 'echo "bench: terminated" >&2; exit 143' TERM

# ---- hosts, certificates, agents ----
boot_hosts
note "$host_count hosts booted"

inventory=$work/inventory.yaml
write_inventory "$inventory"
issue_certificates "$inventory"
install_agents "$tarball"
note "agents installed from $(basename "$tarball")"

# ---- the old cluster, loaded ----
start_old_cluster
old_endpoints=$(endpoints_on_port 2379)

# 3 random bytes are 4 base64 characters: each line is one 4 KiB random value.
t=$(now)
head -c $((keys * value_bytes * 3 / 4)) /dev/urandom | base64 -w "$value_bytes" \
  | awk -v dir="$work/data" -v batch="$batch_keys" \
      '{ f = sprintf("%s/batch-%06d", dir, int((NR - 1) / batch)); printf "put /bench/key-%08d %s\n", NR - 1, $0 > f; if (NR % batch == 0) close(f) }'
note "generated $keys random values in $(seconds_since "$t") s"
# etcdctl txn: up to 128 puts per call, $loaders calls at once, spread over the members.
cat > "$work/load-batch.sh" <<'EOF'
#!/bin/bash
set -o pipefail
n=${1##*-}; n=$((10#$n))
IFS=, read -r -a eps <<< "$ENDPOINTS"
out=$({ echo; cat "$1"; echo; echo; } | ETCDCTL_API=3 etcdctl --endpoints="${eps[n % ${#eps[@]}]}" --command-timeout=60s txn 2>&1) \
  && [ "${out%%$'\n'*}" = SUCCESS ] || { echo "load-batch $1: $out" | head -n 3 >&2; exit 1; }
EOF
chmod +x "$work/load-batch.sh"
t=$(now)
find "$work"/data -maxdepth 1 -name "batch-*" -print0 | sort -z | ENDPOINTS=$old_endpoints xargs -0 -P "$loaders" -n 1 "$work/load-batch.sh" \
  || fail "loading failed"
load_s=$(seconds_since "$t")
count_at() { etcdctl_at "$1" get /bench/ --prefix --keys-only --limit=1 --consistency="${2:-l}" -w json | grep -o '"count":[0-9]*' | cut -d: -f2; }
written=$(count_at "$old_endpoints")
[ "$written" = "$keys" ] || fail "wrote $keys keys, the cluster counts ${written:-none}"
note "loaded $keys keys in $load_s s ($(awk -v k="$keys" -v s="$load_s" 'BEGIN { printf "%.0f", k / s }') keys/s)"
rm -rf "$work/data"

survivor=$(host_name $survivor_index)
survivor_url=$(client_url $survivor_index 2379)
for _ in $(seq 1 120); do
  [ "$(count_at "$survivor_url" s 2>/dev/null)" = "$keys" ] && break
  sleep 0.5
done

# ---- agent memory, idle: installed, never called ----
agent_idle_rss=$(agents_status_mib VmRSS "$work/agent-idle-rss.txt")
save_agent_status "$logs/agent-status-idle"
note "agent VmRSS idle: max $agent_idle_rss MiB ($(tr '\n' ' ' < "$work/agent-idle-rss.txt"))"

# ---- the disaster ----
for i in $(seq 0 $((host_count - 1))); do
  [ "$i" = $survivor_index ] && continue
  # Debian's unit has Restart=on-abnormal: without this drop-in systemd brings etcd back.
  in_host "$(host_name "$i")" -- sh -c 'mkdir -p /run/systemd/system/etcd.service.d \
    && printf "[Service]\nRestart=no\n" > /run/systemd/system/etcd.service.d/bench-no-restart.conf \
    && systemctl daemon-reload && systemctl kill -s SIGKILL etcd' >> "$logs/disaster.log" 2>&1 \
    || fail "killing etcd on $(host_name "$i")"
done
leaderless=no
for _ in $(seq 1 60); do
  if etcdctl_at "$survivor_url" endpoint status -w fields 2>/dev/null | grep -q '^"Leader" : 0$'; then leaderless=yes; break; fi
  sleep 0.5
done
[ $leaderless = yes ] || fail "$survivor still reports a leader 30 s after the others died"
note "4 members killed; $survivor has no leader"

# ---- the manual procedure (the seed), scripted ----
declare -A manual_s
manual_phase() { manual_s[$1]=$(seconds_between "$2" "$(now)"); note "manual $1: ${manual_s[$1]} s"; }
manual_token=$cluster-manual
manual_cluster=""
for i in $(seq 0 $((host_count - 1))); do
  manual_cluster="$manual_cluster${manual_cluster:+,}$(host_name "$i")=http://$(address "$i"):$manual_peer_port"
done
manual_t0=$(now)
manual_steal0=$(steal_seconds)

t=$(now)
etcdctl_at "$survivor_url" snapshot save "$work/manual/snapshot.db" > "$logs/manual-snapshot.log" 2>&1 \
  || fail "etcdctl snapshot save (see $logs/manual-snapshot.log)"
manual_phase snapshot "$t"
snapshot_bytes=$(stat -c %s "$work/manual/snapshot.db")

# The seed's scp, here cp to every host's /var/lib/etcd, then sync and sha256sum against the source:
# also the distribution baseline.
t=$(now)
for i in $(seq 0 $((host_count - 1))); do cp "$work/manual/snapshot.db" "$(host_etcd_dir "$i")/manual-snapshot.db"; done
sync
sums=$(sha256sum "$work/manual/snapshot.db" "$(host_etcd_dir 0)/manual-snapshot.db" "$(host_etcd_dir 1)/manual-snapshot.db" \
  "$(host_etcd_dir 2)/manual-snapshot.db" "$(host_etcd_dir 3)/manual-snapshot.db" "$(host_etcd_dir 4)/manual-snapshot.db")
[ "$(echo "$sums" | awk '{ print $1 }' | sort -u | wc -l)" = 1 ] || fail "a copy differs: $sums"
manual_phase distribute "$t"
dist_baseline_s=${manual_s[distribute]}

t=$(now)
jobs_restore=()
for i in $(seq 0 $((host_count - 1))); do
  host=$(host_name "$i")
  jobs_restore+=("$host|'$testbed_sh' exec '$rundir' '$host' --timeout 1800 -- sh -c 'cd /var/lib/etcd && ETCDCTL_API=3 etcdctl snapshot restore manual-snapshot.db --data-dir=/var/lib/etcd/manual.etcd --name=$host --initial-advertise-peer-urls=http://$(address "$i"):$manual_peer_port --initial-cluster=$manual_cluster --initial-cluster-token=$manual_token && chown -R etcd:etcd /var/lib/etcd/manual.etcd'")
done
run_parallel manual-restore "${jobs_restore[@]}"
manual_phase restore "$t"

t=$(now)
jobs_configure=()
for i in $(seq 0 $((host_count - 1))); do
  host=$(host_name "$i")
  cat > "$rundir/hosts/$host/default/etcd_manual" <<EOF
ETCD_DATA_DIR=/var/lib/etcd/manual.etcd
ETCD_LISTEN_PEER_URLS=http://$(address "$i"):$manual_peer_port
ETCD_LISTEN_CLIENT_URLS=$(client_url "$i" $manual_client_port)
ETCD_NAME=$host
ETCD_ADVERTISE_CLIENT_URLS=$(client_url "$i" $manual_client_port)
ETCD_INITIAL_CLUSTER_TOKEN=$manual_token
ETCD_HEARTBEAT_INTERVAL=$heartbeat_ms
ETCD_ELECTION_TIMEOUT=$election_ms
EOF
  jobs_configure+=("$host|'$testbed_sh' exec '$rundir' '$host' -- sh -c 'cp /lib/systemd/system/etcd.service /etc/systemd/system/etcd_manual.service && sed -i -e \"s#^EnvironmentFile=.*#EnvironmentFile=-/etc/default/etcd_manual#\" -e \"/^Alias=/d\" /etc/systemd/system/etcd_manual.service && systemctl daemon-reload'")
done
run_parallel manual-configure "${jobs_configure[@]}"
manual_phase configure "$t"

t=$(now)
jobs_start=()
for i in $(seq 0 $((host_count - 1))); do
  jobs_start+=("$(host_name "$i")|'$testbed_sh' exec '$rundir' '$(host_name "$i")' -- systemctl start --no-block etcd_manual")
done
run_parallel manual-start "${jobs_start[@]}"
manual_endpoints=$(endpoints_on_port $manual_client_port)
healthy=no
for _ in $(seq 1 1500); do
  if etcdctl_at "$manual_endpoints" --command-timeout=2s endpoint health >> "$logs/manual-health.log" 2>&1; then healthy=yes; break; fi
  sleep 0.2
done
[ $healthy = yes ] || fail "the manual cluster did not become healthy in 300 s"
manual_phase start "$t"

t=$(now)
etcdctl_at "$manual_endpoints" member list -w table > "$logs/manual-members.txt" 2>&1 || fail "manual member list"
[ "$(grep -c started "$logs/manual-members.txt")" = "$host_count" ] || fail "manual member list: $(cat "$logs/manual-members.txt")"
etcdctl_at "$manual_endpoints" endpoint hashkv -w json > "$logs/manual-hashkv.json" 2>&1 || fail "manual hashkv"
[ "$(grep -o '"hash":[0-9]*' "$logs/manual-hashkv.json" | sort -u | wc -l)" = 1 ] || fail "manual hashkv differ: $(cat "$logs/manual-hashkv.json")"
manual_phase verify "$t"
manual_total_s=$(seconds_between "$manual_t0" "$(now)")
manual_steal_s=$(awk -v a="$manual_steal0" -v b="$(steal_seconds)" 'BEGIN { printf "%.2f", b - a }')
note "manual procedure: $manual_total_s s in all"
manual_keys=$(count_at "$manual_endpoints")
[ "$manual_keys" = "$keys" ] || fail "the manual cluster counts ${manual_keys:-no} keys, not $keys"

# The manual cluster only served as the baseline: stopped (not timed) so recover runs on idle hosts.
for i in $(seq 0 $((host_count - 1))); do
  in_host "$(host_name "$i")" -- systemctl stop etcd_manual >> "$logs/manual-stop.log" 2>&1 || true
  rm -rf "$(host_etcd_dir "$i")/manual.etcd"
done

# ---- scp baseline: 5 parallel scp to a throwaway sshd on 127.0.0.1 ----
scp_s="" scp_reason=""
if ! ensure_openssh; then
  scp_reason="openssh-server or openssh-client is missing and could not be installed"
elif ! start_throwaway_sshd "$work/sshd" "$logs/sshd.log"; then
  scp_reason="the throwaway sshd did not start (see $logs/sshd.log)"
else
  t=$(now)
  pids=()
  for i in $(seq 0 $((host_count - 1))); do
    scp "${scp_opts[@]}" "$work/manual/snapshot.db" "root@127.0.0.1:$(host_etcd_dir "$i")/scp-snapshot.db" >> "$logs/scp.log" 2>&1 &
    pids+=($!)
  done
  scp_ok=yes
  for p in "${pids[@]}"; do wait "$p" || scp_ok=no; done
  if [ $scp_ok = yes ]; then
    scp_s=$(seconds_since "$t")
    note "5 parallel scp (aes128-gcm): $scp_s s"
  else
    scp_reason="scp to the local sshd failed (see $logs/scp.log)"
  fi
  stop_throwaway_sshd
  for i in $(seq 0 $((host_count - 1))); do rm -f "$(host_etcd_dir "$i")/scp-snapshot.db"; done
fi
[ -z "$scp_reason" ] || note "scp: n/a ($scp_reason)"

# The manual path's copies go before recover runs: the 5 hosts share one page cache here, and those
# files, written and read again, sit on the kernel's active list, so recover's own new files would be
# evicted first (at full size: 9.6 GB, verify's hashkv then read from disk). Each path then runs with
# the same cache: the old cluster's data and nothing of the other path.
for i in $(seq 0 $((host_count - 1))); do rm -f "$(host_etcd_dir "$i")/manual-snapshot.db"; done
[ "$keep_work" = yes ] || rm -f "$work/manual/snapshot.db"

# ---- etcd-rescue recover ----
# VmHWM of every agent as soon as restore starts: the peak of receiving the snapshot.
(
  while ! grep -q 'PHASE \[restore\]' "$logs/recover-progress.log" 2>/dev/null; do sleep 0.1; done
  agents_status_mib VmHWM "$work/agent-hwm-received.txt" > "$work/agent-hwm-received.max"
) &
sampler_pid=$!
# CPU-seconds per phase by kind of process (coordinator, agents, etcd, kernel): the phases are CPU-bound here.
python3 "$script_dir/phase_cpu.py" "$logs/recover-progress.log" "$work/recover.done" "$work/phase-cpu.json" &
cpu_pid=$!
# --keep-snapshot: the probes below send the recovery's own snapshot file again.
note "\$ etcd-rescue recover -i $inventory -w json --distribution $distribution --keep-snapshot"
t=$(now)
rto_steal0=$(steal_seconds)
recover_rc=0
"$etcd_rescue" recover -i "$inventory" --work-dir "$work/recover" -w json --distribution "$distribution" --keep-snapshot < /dev/null \
  > "$work/report.json" 2> >(tee "$logs/recover-progress.log" | sed 's/^/    | /' >&2) || recover_rc=$?
rto_s=$(seconds_since "$t")
rto_steal_s=$(awk -v a="$rto_steal0" -v b="$(steal_seconds)" 'BEGIN { printf "%.2f", b - a }')
touch "$work/recover.done"
wait "$cpu_pid" 2>/dev/null || true
cpu_pid=""
[ "$recover_rc" = 0 ] || fail "etcd-rescue recover exited $recover_rc (see $logs/recover-progress.log)"
note "etcd-rescue recover: $rto_s s"
note "coordinator wire bytes for the snapshot: $(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["snapshot"]; print(s.get("coordinatorBytesSent"), "sent,", s.get("coordinatorBytesReceived"), "received,", s.get("coordinatorWireBytesRatio"), "x the snapshot (" + s.get("distribution", "?") + ")")' "$work/report.json")"
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=""
agent_peak_rss=$(cat "$work/agent-hwm-received.max" 2>/dev/null || echo "")
agent_end_hwm=$(agents_status_mib VmHWM "$work/agent-hwm-end.txt")
save_agent_status "$logs/agent-status-end"
note "agent VmHWM after receiving the snapshot: max $agent_peak_rss MiB ($(tr '\n' ' ' < "$work/agent-hwm-received.txt"))"
note "agent VmHWM at the end of recover: max $agent_end_hwm MiB"
recovered_keys=$(count_at "$(endpoints_on_port "$new_client_port")")
[ "$recovered_keys" = "$keys" ] || fail "the recovered cluster counts ${recovered_keys:-no} keys, not $keys"
note "recovered cluster holds all $keys keys"

# ---- distribution alone, direct then relay: the recovery's snapshot file to the 5 agents once more ----
# recover streams the snapshot on while it is taken, so its distribute phase is only the tail of the
# transfer: the distribution figure is this separate send of the finished file (SnapshotDistribution).
direct_line="" relay_line=""
probe_snapshot=$(find "$work"/recover -mindepth 2 -maxdepth 2 -name "snapshot*.db" 2>/dev/null | head -n 1 || true)
# Taken by the survivor's agent (the default), the snapshot is staged on that host, not in the work dir.
[ -n "$probe_snapshot" ] || probe_snapshot=$(find "$rundir"/hosts/*/agent-state/staging -name "sha256-*.db" 2>/dev/null | head -n 1 || true)
if [ -n "$probe_snapshot" ]; then
  probe_targets=()
  for i in $(seq 0 $((host_count - 1))); do probe_targets+=("$(host_name "$i")=$(address "$i"):$agent_port"); done
  # The recovered cluster has been counted: stopped, and its files (and each probe's) out of the page
  # cache, so that each send starts as cp did, with the old cluster's data and nothing of another step.
  for i in $(seq 0 $((host_count - 1))); do
    in_host "$(host_name "$i")" -- systemctl stop etcd_new >> "$logs/new-stop.log" 2>&1 || true
  done
  for mode in direct relay; do
    evict_page_cache "$rundir"/hosts/*/etcd-data "$rundir"/hosts/*/agent-state
    # shellcheck disable=SC2046 # the options are separate words on purpose
    line=$(java $(coordinator_jvm_opts) -cp "$repo_root/coordinator/target/lib/*" "$script_dir/DistributionProbe.java" "$work/pki" \
      "$probe_snapshot" "$mode" 1048576 "bench-$mode-$$" "${probe_targets[@]}" 2> "$logs/$mode-probe.log") || line=""
    if [ -n "$line" ]; then note "$mode to $host_count hosts: $line"; else note "$mode: failed (see $logs/$mode-probe.log)"; fi
    [ "$mode" = direct ] && direct_line=$line || relay_line=$line
  done
else
  note "distribution probes: n/a (no snapshot file under $work/recover)"
fi

# ---- one hop: the same file to one agent (a plain process with the unit's options) beside one scp ----
# bench/hop.sh's first round: the per-byte figures of one stream (receiver and sender CPU-s per GB, MB/s)
# with the five testbed hosts idle; the recovery's own transfer runs beside etcd's snapshot and five
# streams, so its CPU per byte cannot be told apart from the rest.
hop_line=""
if [ -n "$probe_snapshot" ]; then
  if "$script_dir/hop.sh" --file "$probe_snapshot" --rounds 1 > "$logs/hop.log" 2>&1; then
    hop_line=$(tail -n 1 "$logs/hop.log")
    note "one hop: $(grep -E "^  (receiver|sender|one stream) " "$logs/hop.log" | tr -s ' ' | tr '\n' ';')"
  else
    note "one hop: failed (see $logs/hop.log)"
  fi
fi

# ---- figures, chart, JSON ----
load_end=$(cut -d ' ' -f 1 /proc/loadavg)
manual_phases_line=$(for p in "${!manual_s[@]}"; do echo "$p=${manual_s[$p]}"; done | tr '\n' ' ')
export BENCH_REPORT=$work/report.json BENCH_PRESET=$preset BENCH_DISTRIBUTION=$distribution BENCH_KEYS=$keys BENCH_NEW_CLIENT_PORT=$new_client_port BENCH_VALUE_BYTES=$value_bytes \
  BENCH_RTO=$rto_s BENCH_MANUAL=$manual_total_s BENCH_RTO_STEAL=$rto_steal_s BENCH_MANUAL_STEAL=$manual_steal_s BENCH_DIST_BASELINE=$dist_baseline_s BENCH_SCP=$scp_s \
  BENCH_SCP_REASON=$scp_reason BENCH_IDLE=$agent_idle_rss BENCH_PEAK=$agent_peak_rss BENCH_END_HWM=$agent_end_hwm \
  BENCH_LOAD_S=$load_s BENCH_LOAD_START=$load_start BENCH_LOAD_END=$load_end \
  BENCH_SNAPSHOT_BYTES=$snapshot_bytes BENCH_HOSTS=$host_count BENCH_PHASES="${phases[*]}" \
  BENCH_MANUAL_PHASES=$manual_phases_line \
  BENCH_PHASES_DAT=$work/phases.dat BENCH_RESULTS=$work/results.json BENCH_RELAY=$relay_line BENCH_DIRECT=$direct_line BENCH_HOP=$hop_line \
  BENCH_PHASE_CPU=$work/phase-cpu.json
python3 "$script_dir/figures.py"

if command -v gnuplot >/dev/null; then
  mkdir -p "$(dirname "$chart")"
  gnuplot -e "datafile='$work/phases.dat'; outfile='$chart'; subtitle='preset $preset: $keys keys x 4 KiB, snapshot $((snapshot_bytes / 1024 / 1024)) MiB, 5 hosts; etcd-rescue $(printf %.1f "$rto_s") s, manual $(printf %.1f "$manual_total_s") s; --distribution $distribution; load avg $load_start'" \
    "$script_dir/phases.gp" 2>> "$logs/gnuplot.log" && cp "$chart" "$work/" && note "chart: $chart"
else
  note "chart: n/a (gnuplot is not installed: apt-get install -y gnuplot-nox)"
fi
cat "$work/results.line"
