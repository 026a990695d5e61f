# shellcheck shell=bash
# shellcheck disable=SC2154 # repo_root and bench_t0 are set by the script that sources this file
# Functions shared by bench/run.sh and bench/scaling.sh (sourced), on top of testbed/cluster.sh's
# (the testbed cluster that deploy/demo.sh sets up too).
# shellcheck source=testbed/cluster.sh
. "$repo_root/testbed/cluster.sh"

note() { printf '[%5.1fs] %s\n' "$(seconds_since "$bench_t0")" "$*"; }
fail() {
  printf '[%5.1fs] FAILED: %s\n' "$(seconds_since "$bench_t0")" "$*" >&2
  exit 1
}

# Wall-clock stamps with microseconds (bash 5's EPOCHREALTIME), and differences in seconds.
now() { echo "$EPOCHREALTIME"; }
seconds_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }
seconds_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# CPU-seconds the hypervisor gave to other guests (/proc/stat's steal, all CPUs): this VM's speed moves
# with it, so each timed path reports what it lost.
steal_seconds() { awk -v hz="$(getconf CLK_TCK)" 'NR == 1 { printf "%.2f", $9 / hz }' /proc/stat; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "null"; else printf "%.3f", a / b }'; }

# The dir that is the host's /var/lib/etcd, seen from the machine.
host_etcd_dir() { echo "$rundir/hosts/$(host_name "$1")/etcd-data"; }
etcdctl_at() { ETCDCTL_API=3 etcdctl --endpoints="$1" --dial-timeout=3s --command-timeout=30s "${@:2}"; }

# The agent's /proc status field (VmRSS, VmHWM) in MiB; the pid is the host's (PID namespace), so
# it is read inside the host.
agent_status_mib() {
  local host=$1 field=$2 pid kb
  pid=$(in_host "$host" --timeout 10 -- systemctl show -p MainPID --value etcd-rescue-agent 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$pid" != 0 ] || return 1
  kb=$(in_host "$host" --timeout 10 -- cat "/proc/$pid/status" 2>/dev/null | awk -v f="$field:" '$1 == f { print $2 }')
  [ -n "$kb" ] || return 1
  awk -v kb="$kb" 'BEGIN { printf "%.1f", kb / 1024 }'
}

# "max" of the agents' FIELD, also writing "host value" lines to FILE.
agents_status_mib() {
  local field=$1 file=$2 i host value max=0
  : > "$file"
  for i in $(seq 0 $((host_count - 1))); do
    host=$(host_name "$i")
    value=$(agent_status_mib "$host" "$field") || value=""
    echo "$host ${value:-?}" >> "$file"
    [ -n "$value" ] && max=$(awk -v a="$max" -v b="$value" 'BEGIN { print (b > a) ? b : a }')
  done
  echo "$max"
}

# Blocks until a 1-minute load average below LIMIT, polling every 30 s, at most MAX_WAIT seconds.
wait_for_load() {
  local limit=$1 max_wait=$2 waited=0 load
  while :; do
    load=$(cut -d ' ' -f 1 /proc/loadavg)
    if awk -v l="$load" -v m="$limit" 'BEGIN { exit !(l < m) }'; then return 0; fi
    if [ "$waited" -ge "$max_wait" ]; then
      echo "bench: load $load is still >= $limit after ${waited}s; running anyway" >&2
      return 0
    fi
    echo "bench: load average $load >= $limit; waiting 30 s (${waited}s so far)" >&2
    sleep 30
    waited=$((waited + 30))
  done
}

# Every agent's /proc status and JVM command line into DIR/<host>.status (where the memory goes).
save_agent_status() {
  local dir=$1 i host pid
  mkdir -p "$dir"
  for i in $(seq 0 $((host_count - 1))); do
    host=$(host_name "$i")
    pid=$(in_host "$host" --timeout 10 -- systemctl show -p MainPID --value etcd-rescue-agent 2>/dev/null) || continue
    { in_host "$host" --timeout 10 -- cat "/proc/$pid/status"; echo
      in_host "$host" --timeout 10 -- cat "/proc/$pid/cmdline" | tr '\0' ' '; echo; } > "$dir/$host.status" 2>&1 || true
  done
}

# The JVM options deploy/bin/etcd-rescue passes, for the probes that run the coordinator's code directly.
coordinator_jvm_opts() {
  echo "-XX:+UnlockDiagnosticVMOptions -XX:-DisplayVMOutput -XX:CompilerDirectivesFile=$repo_root/deploy/jvm/compiler-directives.json"
}

# Drops the clean page-cache pages of every file under the given dirs (after a sync): the testbed's
# hosts share one page cache, so files another step made would otherwise crowd the next one's.
evict_page_cache() {
  sync
  python3 - "$@" <<'PY'
import os, sys
for top in sys.argv[1:]:
    for root, _, files in os.walk(top):
        for name in files:
            path = os.path.join(root, name)
            try:
                if os.path.isfile(path) and not os.path.islink(path):
                    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
                    try:
                        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                    finally:
                        os.close(fd)
            except OSError:
                pass
PY
}

# ---- scp anchor: a throwaway sshd on 127.0.0.1 ----
# Installs openssh-server and openssh-client when sshd or scp is missing (root, apt-get); on a fresh
# machine the scp figures were otherwise null. Returns 1 when they are still missing.
ensure_openssh() {
  [ -x /usr/sbin/sshd ] && command -v scp >/dev/null && return 0
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || return 1
  echo "bench: installing openssh-server and openssh-client for the scp anchor (apt-get)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssh-server openssh-client >&2 \
    || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssh-server openssh-client >&2; } \
    || return 1
  [ -x /usr/sbin/sshd ] && command -v scp >/dev/null
}

# Starts sshd on 127.0.0.1 (a random free port, fresh ed25519 host and client keys in DIR, internal-sftp,
# log in LOG); sets sshd_pid and scp_opts (the options of an scp to it as root, aes128-gcm).
start_throwaway_sshd() {
  local dir=$1 log=$2 port="" candidate
  mkdir -p "$dir" /run/sshd
  ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key"
  ssh-keygen -q -t ed25519 -N '' -f "$dir/client_key"
  cp "$dir/client_key.pub" "$dir/authorized_keys"
  for _ in $(seq 1 20); do
    candidate=$((20000 + RANDOM % 20000))
    port_open 127.0.0.1 "$candidate" || { port=$candidate; break; }
  done
  [ -n "$port" ] || return 1
  cat > "$dir/sshd_config" <<CONFIG
ListenAddress 127.0.0.1
Port $port
HostKey $dir/host_key
AuthorizedKeysFile $dir/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $dir/sshd.pid
# OpenSSH 9's scp speaks SFTP.
Subsystem sftp internal-sftp
CONFIG
  /usr/sbin/sshd -D -e -f "$dir/sshd_config" > "$log" 2>&1 &
  sshd_pid=$!
  for _ in $(seq 1 50); do port_open 127.0.0.1 "$port" && break; sleep 0.1; done
  port_open 127.0.0.1 "$port" || return 1
  scp_opts=(-q -c aes128-gcm@openssh.com -P "$port" -i "$dir/client_key" -o StrictHostKeyChecking=no
            -o UserKnownHostsFile=/dev/null -o BatchMode=yes)
}

stop_throwaway_sshd() {
  [ -n "${sshd_pid:-}" ] || return 0
  kill "$sshd_pid" 2>/dev/null
  wait "$sshd_pid" 2>/dev/null || true
  sshd_pid=""
}

# utime + stime of PID and of its children it has reaped (fields 14 to 17 of /proc/PID/stat), in seconds.
process_cpu_s() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13 + $14 + $15) / hz }' "/proc/$1/stat"
}

# Waits (at most 10 s) until PID has no child left, so that their CPU is in its reaped-children times.
wait_for_no_children() {
  for _ in $(seq 1 100); do
    [ -z "$(cat /proc/"$1"/task/*/children 2>/dev/null | tr -d ' ')" ] && return 0
    sleep 0.1
  done
  return 1
}

# Runs a command and prints "SECONDS CPU_S": its wall time and the CPU of it and all its reaped children.
timed_cpu() {
  python3 -c '
import os, subprocess, sys, time
t0 = time.monotonic()
rc = subprocess.run(sys.argv[1:]).returncode
seconds = time.monotonic() - t0
t = os.times()
print(f"{seconds:.3f} {t.children_user + t.children_system:.2f}")
sys.exit(rc)' "$@"
}

# One scp of FILE to DEST on the throwaway sshd: prints "SECONDS SCP_CPU_S SSHD_CPU_S" (scp with its ssh,
# and the sshd processes that served it, all reaped before the figures are read).
timed_scp() {
  local file=$1 dest=$2 sshd_cpu0 line
  sshd_cpu0=$(process_cpu_s "$sshd_pid")
  line=$(timed_cpu scp "${scp_opts[@]}" "$file" "root@127.0.0.1:$dest") || return 1
  wait_for_no_children "$sshd_pid" || return 1
  echo "$line $(awk -v a="$sshd_cpu0" -v b="$(process_cpu_s "$sshd_pid")" 'BEGIN { printf "%.2f", b - a }')"
}

# ---- one agent as a plain process (bench/hop.sh) ----
# The Environment= assignments of the agent's unit, one a line (JAVA_OPTS=..., MALLOC_ARENA_MAX=...).
agent_unit_env() {
  python3 - "$repo_root/deploy/systemd/etcd-rescue-agent.service" <<'PY'
import shlex, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("Environment="):
        for assignment in shlex.split(line[len("Environment="):]):
            print(assignment)
PY
}

# Writes DIR/inventory.yaml for one host NAME on 127.0.0.1:PORT, the fleet PKI in DIR/pki (pki init and
# issue, as an operator would), and DIR/agent.yaml with every dir under DIR.
plain_agent_files() {
  local dir=$1 name=$2 port=$3 tls
  cat > "$dir/inventory.yaml" <<YAML
all:
  children:
    bench:
      vars:
        cluster_token: bench
        old_unit: etcd
        new_unit: etcd_new
        data_dir: /var/lib/etcd/new.etcd
        snapshot_endpoints: [http://127.0.0.1:2379]
      hosts:
        $name:
          address: 127.0.0.1
          agent_port: $port
YAML
  "$repo_root/deploy/bin/etcd-rescue" pki init --dir "$dir/pki" > "$dir/pki.log" 2>&1 || return 1
  "$repo_root/deploy/bin/etcd-rescue" pki issue --dir "$dir/pki" --inventory "$dir/inventory.yaml" >> "$dir/pki.log" 2>&1 || return 1
  mkdir -p "$dir/state" "$dir/data" "$dir/env" "$dir/units" "$dir/backups"
  tls=$dir/pki/agents/$name
  cat > "$dir/agent.yaml" <<YAML
host_name: $name
listen: 127.0.0.1:$port
tls:
  ca: $tls/ca.pem
  cert: $tls/agent.pem
  key: $tls/agent-key.pem
state_dir: $dir/state
allowed_data_roots: [$dir/data]
env_dir: $dir/env
unit_dir: $dir/units
base_unit_dirs: [$dir/units]
tool_dirs: [/usr/local/bin, /usr/bin]
backup_dirs: [$dir/backups]
max_claim_ttl: PT10M
YAML
}

# Starts the agent of DIR/agent.yaml with the unit's JVM options and environment (agent_unit_env) plus
# EXTRA_OPTS, its log in DIR/agent.log; sets agent_pid and waits (30 s at most) until it listens on PORT.
start_plain_agent() {
  local dir=$1 port=$2 extra_opts=${3:-} assignment java_opts="" other_env=()
  while IFS= read -r assignment; do
    case "$assignment" in
      JAVA_OPTS=*) java_opts=${assignment#JAVA_OPTS=} ;;
      *) other_env+=("$assignment") ;;
    esac
  done < <(agent_unit_env)
  env "${other_env[@]}" JAVA_OPTS="$java_opts${extra_opts:+ $extra_opts}" "$repo_root/deploy/bin/etcd-rescue-agent" --config "$dir/agent.yaml" \
    > "$dir/agent.log" 2>&1 &
  agent_pid=$!
  for _ in $(seq 1 600); do
    kill -0 "$agent_pid" 2>/dev/null || return 1
    port_open 127.0.0.1 "$port" && return 0
    sleep 0.05
  done
  return 1
}

# A /proc/PID/status field (VmRSS, VmHWM) in MiB.
status_mib() { awk -v f="$2:" '$1 == f { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
