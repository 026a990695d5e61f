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
