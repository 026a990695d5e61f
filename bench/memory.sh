#!/usr/bin/env bash
# Agent memory: runs one agent as a plain process on 127.0.0.1 with exactly the JVM options and
# environment of deploy/systemd/etcd-rescue-agent.service, and measures
#   1. idle:  VmRSS and VmHWM after start and one GetStatus, once it has settled (--settle);
#   2. after receiving: VmHWM and VmRSS once an upload of --size bytes (random, so the agent receives,
#      digests and fsyncs all of it, then refuses it as not a snapshot: expected) has finished, sent the
#      way a recovery sends it (the coordinator's own AgentClient.upload, --chunk bytes per chunk).
# Prints the figures with the targets (VmRSS idle <= 64 MiB, VmHWM <= 128 MiB) and ends with one JSON line.
#
# usage: bench/run.sh memory [--size BYTES] [--chunk BYTES] [--settle SECONDS] [--opts 'JVM OPTIONS'] [--keep]
#   --size    bytes to upload (default 1677721600 = 1.6 GiB; 0: idle only); suffixes K, M, G (binary)
#   --chunk   chunk size (default 1048576, the coordinator's --chunk-size default)
#   --settle  seconds between the GetStatus and the idle reading (default 10: compilation and the
#             native heap trim settle)
#   --opts    JVM options instead of the unit's JAVA_OPTS (to compare levers); the unit's other
#             Environment= settings (MALLOC_ARENA_MAX) still apply
#   --keep    keep the work dir (agent log, status files); the upload file is always deleted
#   --backup-s3 URL  the agent also has backup: with a copy in object storage at URL (backup.s3; its etcd endpoint
#             answers nothing, so no backup is taken: the figures are those of an agent with S3 configured and
#             unused); prints how many of the AWS SDK's classes the agent loaded (jcmd), which should be none
# Needs: java 17, the agent's and the coordinator's jars (mvn -B -DskipTests package), about twice
# --size free in the temp dir. Exit codes: 0 measured; 1 a step failed; 2 bad arguments; 3 this
# machine cannot run it.
set -euo pipefail

script_dir=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
unit=$repo_root/deploy/systemd/etcd-rescue-agent.service
size=1677721600 chunk=1048576 settle=10 opts_override="" keep=no backup_s3=""

to_bytes() {
  case "$1" in
    *[Kk]) echo $(( ${1%?} * 1024 )) ;;
    *[Mm]) echo $(( ${1%?} * 1024 * 1024 )) ;;
    *[Gg]) echo $(( ${1%?} * 1024 * 1024 * 1024 )) ;;
    *[!0-9]*|"") echo "bench memory: not a size: $1" >&2; exit 2 ;;
    *) echo "$1" ;;
  esac
}
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size=$(to_bytes "${2:?--size needs bytes}"); shift 2 ;;
    --chunk) chunk=$(to_bytes "${2:?--chunk needs bytes}"); shift 2 ;;
    --settle) settle=${2:?--settle needs seconds}; shift 2 ;;
    --opts) opts_override=${2?--opts needs options}; shift 2 ;;
    --keep) keep=yes; shift ;;
    --backup-s3) backup_s3=${2:?--backup-s3 needs a URL}; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench memory: unknown argument $1" >&2; exit 2 ;;
  esac
done

for tool in java python3 sha256sum; do
  command -v "$tool" >/dev/null || { echo "bench memory: $tool is missing" >&2; exit 3; }
done
if ! compgen -G "$repo_root/agent/target/lib/*.jar" >/dev/null || ! compgen -G "$repo_root/coordinator/target/lib/*.jar" >/dev/null; then
  echo "bench memory: build first: mvn -B -DskipTests package -pl proto,snapshot-format,pki,agent,coordinator" >&2
  exit 3
fi

# The unit's Environment= lines, exactly: JAVA_OPTS and anything else (MALLOC_ARENA_MAX).
unit_env=()
while IFS= read -r line; do unit_env+=("$line"); done < <(python3 - "$unit" <<'EOF'
import shlex, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("Environment="):
        for assignment in shlex.split(line[len("Environment="):]):
            print(assignment)
EOF
)
java_opts="" other_env=()
for assignment in "${unit_env[@]}"; do
  case "$assignment" in
    JAVA_OPTS=*) java_opts=${assignment#JAVA_OPTS=} ;;
    *) other_env+=("$assignment") ;;
  esac
done
[ -n "$opts_override" ] && java_opts=$opts_override

work=$(mktemp -d "${TMPDIR:-/tmp}/etcd-rescue-memory.XXXXXX")
need=$(( size * 2 + 256 * 1024 * 1024 ))
free=$(df --output=avail -B1 "$work" | tail -n 1 | tr -d ' ')
if [ "$free" -lt "$need" ]; then
  echo "bench memory: needs $((need / 1024 / 1024)) MiB free in $work, there are $((free / 1024 / 1024)) MiB" >&2
  rm -rf "$work"
  exit 3
fi
agent_pid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null; wait "$agent_pid" 2>/dev/null; fi
  rm -f "$work/upload.bin"
  rm -rf "$work/state/staging"
  if [ "$keep" = no ]; then rm -rf "$work"; else echo "bench memory: kept $work"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port=""
for _ in $(seq 1 50); do
  candidate=$((20000 + RANDOM % 20000))
  if ! timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$candidate" 2>/dev/null; then port=$candidate; break; fi
done
[ -n "$port" ] || { echo "bench memory: no free port on 127.0.0.1" >&2; exit 3; }

coordinator_cp="$repo_root/coordinator/target/lib/*"
probe() { java -cp "$coordinator_cp" "$script_dir/MemoryProbe.java" "$@"; }
mib() { awk -v f="$2:" '$1 == f { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

cat > "$work/inventory.yaml" <<EOF
all:
  children:
    bench-memory:
      vars:
        cluster_token: bench-memory
        old_unit: etcd
        new_unit: etcd_new
        data_dir: /var/lib/etcd/new.etcd
        snapshot_endpoints: [http://127.0.0.1:2379]
      hosts:
        bench-memory-host:
          address: 127.0.0.1
          agent_port: $port
EOF
if ! "$repo_root/deploy/bin/etcd-rescue" pki init --dir "$work/pki" > "$work/pki.log" 2>&1 \
    || ! "$repo_root/deploy/bin/etcd-rescue" pki issue --dir "$work/pki" --inventory "$work/inventory.yaml" >> "$work/pki.log" 2>&1; then
  echo "bench memory: pki failed:" >&2; cat "$work/pki.log" >&2; exit 1
fi
mkdir -p "$work/state" "$work/data" "$work/env" "$work/units" "$work/backups"
tls=$work/pki/agents/bench-memory-host
cat > "$work/agent.yaml" <<EOF
host_name: bench-memory-host
listen: 127.0.0.1:$port
tls:
  ca: $tls/ca.pem
  cert: $tls/agent.pem
  key: $tls/agent-key.pem
state_dir: $work/state
allowed_data_roots: [$work/data]
env_dir: $work/env
unit_dir: $work/units
base_unit_dirs: [$work/units]
tool_dirs: [/usr/local/bin, /usr/bin]
backup_dirs: [$work/backups]
max_claim_ttl: PT10M
EOF
if [ -n "$backup_s3" ]; then
  (umask 077 && printf '[default]\naws_access_key_id = bench\naws_secret_access_key = bench-unused\n' > "$work/s3-credentials")
  cat >> "$work/agent.yaml" <<EOF
backup:
  interval: PT30M
  dir: $work/backups/scheduled
  cluster: bench-memory
  etcd: {endpoint: "http://127.0.0.1:1"}
  copies: 0
  s3: {endpoint: "$backup_s3", bucket: bench-memory, path_style: true, credentials_file: $work/s3-credentials}
EOF
fi

echo "bench memory: JAVA_OPTS=$java_opts${other_env[*]:+; env: ${other_env[*]}}"
echo "bench memory: load average $(cut -d ' ' -f 1-3 /proc/loadavg); work dir $work"
t0=$EPOCHREALTIME
env "${other_env[@]}" JAVA_OPTS="$java_opts" "$repo_root/deploy/bin/etcd-rescue-agent" --config "$work/agent.yaml" \
  > "$work/agent.log" 2>&1 &
agent_pid=$!
up=no
for _ in $(seq 1 600); do
  kill -0 "$agent_pid" 2>/dev/null || { echo "bench memory: the agent exited:" >&2; cat "$work/agent.log" >&2; exit 1; }
  if timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then up=yes; break; fi
  sleep 0.05
done
[ $up = yes ] || { echo "bench memory: the agent does not listen after 30 s" >&2; exit 1; }
start_s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
probe status "$work/pki" 127.0.0.1 "$port" > "$work/probe-status.log" 2>&1 \
  || { echo "bench memory: GetStatus failed:" >&2; cat "$work/probe-status.log" >&2; exit 1; }
sleep "$settle"
idle_rss=$(mib "$agent_pid" VmRSS) idle_hwm=$(mib "$agent_pid" VmHWM)
cp "/proc/$agent_pid/status" "$work/status-idle.txt"
echo "bench memory: agent listening after $start_s s; idle (${settle} s after one GetStatus): VmRSS $idle_rss MiB, VmHWM $idle_hwm MiB"
if [ -n "$backup_s3" ] && command -v jcmd >/dev/null; then
  sdk_classes=$(jcmd "$agent_pid" VM.class_hierarchy 2>/dev/null | grep -c 'software\.amazon\.awssdk' || true)
  echo "bench memory: backup.s3 configured; AWS SDK classes loaded by the idle agent: $sdk_classes"
  # One listing through the agent (ListBackups with the store's copies) loads the SDK: what it costs once used.
  "$repo_root/deploy/bin/etcd-rescue" backup list -i "$work/inventory.yaml" > "$work/backup-list.log" 2>&1 || true
  sleep "$settle"
  sdk_classes=$(jcmd "$agent_pid" VM.class_hierarchy 2>/dev/null | grep -c 'software\.amazon\.awssdk' || true)
  echo "bench memory: after one backup list through the agent (the SDK used, $sdk_classes of its classes loaded), ${settle} s later:" \
    "VmRSS $(mib "$agent_pid" VmRSS) MiB, VmHWM $(mib "$agent_pid" VmHWM) MiB"
fi

hwm="" rss_after="" upload_s="" outcome="not run"
if [ "$size" -gt 0 ]; then
  head -c "$size" /dev/urandom > "$work/upload.bin"
  sha=$(sha256sum "$work/upload.bin" | cut -c 1-64)
  outcome=$(probe upload "$work/pki" 127.0.0.1 "$port" "$work/upload.bin" "$sha" "$chunk" "memory-$$" 2>"$work/probe-upload.log") \
    || { echo "bench memory: upload failed: $outcome" >&2; cat "$work/probe-upload.log" >&2; exit 1; }
  hwm=$(mib "$agent_pid" VmHWM) rss_after=$(mib "$agent_pid" VmRSS)
  cp "/proc/$agent_pid/status" "$work/status-after-upload.txt"
  upload_s=$(echo "$outcome" | awk '{ sub(":", "", $3); print $3 }')
  rm -f "$work/upload.bin"
  echo "bench memory: $outcome"
  echo "bench memory: after receiving $size bytes in $chunk-byte chunks: VmHWM $hwm MiB, VmRSS $rss_after MiB"
fi

BENCH_OPTS=$java_opts BENCH_ENV="${other_env[*]}" BENCH_START=$start_s BENCH_IDLE=$idle_rss BENCH_IDLE_HWM=$idle_hwm \
BENCH_HWM=$hwm BENCH_RSS_AFTER=$rss_after BENCH_SIZE=$size BENCH_CHUNK=$chunk BENCH_UPLOAD_S=$upload_s \
BENCH_SETTLE=$settle BENCH_LOAD=$(cut -d ' ' -f 1 /proc/loadavg) python3 - <<'EOF'
import json, os
e = os.environ
num = lambda k: float(e[k]) if e.get(k) else None
idle, hwm = num("BENCH_IDLE"), num("BENCH_HWM")
print("figure                          measured      target    ratio  ")
print(f"agent VmRSS idle                {idle:8.1f} MiB   64 MiB   {idle / 64:5.2f}  {'met' if idle <= 64 else 'NOT met'}")
if hwm is not None:
    print(f"agent VmHWM after receiving     {hwm:8.1f} MiB  128 MiB   {hwm / 128:5.2f}  {'met' if hwm <= 128 else 'NOT met'}")
print(json.dumps({
    "bench": "memory", "java_opts": e["BENCH_OPTS"], "env": e["BENCH_ENV"], "agent_start_s": num("BENCH_START"),
    "settle_s": num("BENCH_SETTLE"), "idle_rss_mib": idle, "idle_hwm_mib": num("BENCH_IDLE_HWM"),
    "upload_bytes": int(e["BENCH_SIZE"]), "chunk_bytes": int(e["BENCH_CHUNK"]), "upload_s": num("BENCH_UPLOAD_S"),
    "hwm_after_upload_mib": hwm, "rss_after_upload_mib": num("BENCH_RSS_AFTER"), "load_avg_end": num("BENCH_LOAD"),
    "idle_ratio": round(idle / 64, 3), "hwm_ratio": None if hwm is None else round(hwm / 128, 3),
    "targets": {"agent VmRSS idle <= 64 MiB": "met" if idle <= 64 else "NOT met",
                "agent VmHWM <= 128 MiB": None if hwm is None else ("met" if hwm <= 128 else "NOT met")}}))
EOF
