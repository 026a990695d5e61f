#!/usr/bin/env bash
# The cost of one hop: one file sent to one agent over mutual TLS, SHA-256 verified and fsynced by the
# agent before it answers, side by side with one scp of the same file in the same run.
#   hop:  the agent as a plain process on 127.0.0.1 with exactly the JVM options and environment of
#         deploy/systemd/etcd-rescue-agent.service; the sender is the coordinator's own code
#         (bench/HopProbe.java: AgentClient.upload over a ChunkSource, as SnapshotDistribution sends to
#         each host) in a JVM with the coordinator's launcher options. Both JVMs' CPU-seconds are
#         utime + stime deltas of /proc/<pid>/stat from the first chunk to the agent's answer, and the
#         per-thread split of each is printed. Transport "data" is the agent's data channel (what
#         recover uses, decision 0023), "grpc" UploadSnapshot (what it falls back to).
#   scp:  scp -c aes128-gcm@openssh.com of the same file to a throwaway sshd on 127.0.0.1 (installed
#         with apt-get when missing); CPU-seconds of scp with its ssh and of the sshd processes that
#         served it (reaped children's times). scp neither hashes nor fsyncs.
#   manual: once, before the rounds, the manual path's copy of the same file: cp, sync, sha256sum of the
#         copy (wall time and the CPU of the three commands; sync's writeback runs in kernel threads).
# For each transport in --transport a fresh agent, then --rounds rounds of one hop and one scp; the
# source file is read into the page cache before each send, and each received copy is deleted (and
# synced) after it. The headline figures are the first transport's first round: the agent's first
# transfer after its start, as in a recovery.
# Prints each round, the figures against the targets (receiver <= 1.5 and sender <= 1.0 CPU-s per GB,
# one stream at least as fast as scp), and ends with one JSON line. Targets are reported, not asserted.
#
# usage: bench/hop.sh [--size BYTES] [--file FILE] [--chunk BYTES] [--rounds N] [--transport "data grpc"] [--agent-opts OPTS] [--keep]
#   --size    bytes of random data to send (default 1677721600 = 1.6 GiB); suffixes K, M, G (binary)
#   --file    send this file instead (for example a snapshot); --size is then ignored
#   --chunk   chunk size (default 1048576, the coordinator's --chunk-size default)
#   --rounds  rounds of hop then scp per transport (default 2: the agent's first transfer, then a warm one)
#   --transport  the transports to measure, in order (default "data"; "data grpc" compares them)
#   --agent-opts  JVM options added to the unit's for the agent (to compare levers, or -XX:+DumpPerfMapAtExit to profile)
#   --keep    keep the work dir (agent log, PKI); the data files are always deleted
# Needs root (apt-get, sshd), Java 17, the agent's and the coordinator's jars (mvn -B -DskipTests package),
# about twice the file's size free under /var/lib/etcd-rescue-bench. GB and MB here are 10^9 and 10^6 bytes.
# Exit codes: 0 measured; 1 a step failed; 2 bad arguments; 3 this machine cannot run it.
set -euo pipefail

script_dir=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
# shellcheck source=bench/lib.sh
. "$script_dir/lib.sh"
bench_root=/var/lib/etcd-rescue-bench
size=1677721600 chunk=1048576 rounds=2 file="" keep=no transports=data agent_opts=""

to_bytes() {
  case "$1" in
    *[Kk]) echo $(( ${1%?} * 1024 )) ;;
    *[Mm]) echo $(( ${1%?} * 1024 * 1024 )) ;;
    *[Gg]) echo $(( ${1%?} * 1024 * 1024 * 1024 )) ;;
    *[!0-9]*|"") echo "bench hop: not a size: $1" >&2; exit 2 ;;
    *) echo "$1" ;;
  esac
}
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size=$(to_bytes "${2:?--size needs bytes}"); shift 2 ;;
    --file) file=${2:?--file needs a file}; shift 2 ;;
    --chunk) chunk=$(to_bytes "${2:?--chunk needs bytes}"); shift 2 ;;
    --rounds) rounds=${2:?--rounds needs a number}; shift 2 ;;
    --transport) transports=${2:?--transport needs data, grpc or both}; shift 2 ;;
    --agent-opts) agent_opts=${2?--agent-opts needs options}; shift 2 ;;
    --keep) keep=yes; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench hop: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$rounds" in ''|*[!0-9]*|0) echo "bench hop: --rounds needs a number >= 1" >&2; exit 2 ;; esac
for transport in $transports; do
  case "$transport" in data|grpc) ;; *) echo "bench hop: unknown transport $transport" >&2; exit 2 ;; esac
done
bench_t0=$(now)

[ "$(id -u)" = 0 ] || { echo "bench hop: run as root (apt-get, a throwaway sshd taking root's scp)" >&2; exit 3; }
for tool in java python3 sha256sum getconf; do
  command -v "$tool" >/dev/null || { echo "bench hop: $tool is missing" >&2; exit 3; }
done
if ! compgen -G "$repo_root/agent/target/lib/*.jar" >/dev/null || ! compgen -G "$repo_root/coordinator/target/lib/*.jar" >/dev/null; then
  echo "bench hop: build first: mvn -B -DskipTests package -pl proto,snapshot-format,pki,agent,coordinator" >&2
  exit 3
fi
scp_reason=""
ensure_openssh || scp_reason="openssh-server or openssh-client is missing and could not be installed"
[ -z "$file" ] || [ -f "$file" ] || { echo "bench hop: no file $file" >&2; exit 2; }
[ -z "$file" ] || size=$(stat -c %s "$file")

mkdir -p "$bench_root"
work=$bench_root/hop-$(date +%Y%m%d-%H%M%S)-$$
mkdir -p "$work/scp"
need=$(( size * 3 + 512 * 1024 * 1024 ))
free=$(df --output=avail -B1 "$bench_root" | tail -n 1 | tr -d ' ')
if [ "$free" -lt "$need" ]; then
  echo "bench hop: needs $((need / 1024 / 1024)) MiB free under $bench_root, there are $((free / 1024 / 1024)) MiB" >&2
  rm -rf "$work"
  exit 3
fi
agent_pid="" sshd_pid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null; wait "$agent_pid" 2>/dev/null; fi
  stop_throwaway_sshd
  rm -rf "$work/upload.bin" "$work/scp" "$work/state/staging"
  if [ "$keep" = no ]; then rm -rf "$work"; else echo "bench hop: kept $work"; fi
  [ $rc = 0 ] || echo "bench hop: FAILED (exit $rc)" >&2
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port=""
for _ in $(seq 1 50); do
  candidate=$((20000 + RANDOM % 20000))
  port_open 127.0.0.1 "$candidate" || { port=$candidate; break; }
done
[ -n "$port" ] || { echo "bench hop: no free port on 127.0.0.1" >&2; exit 3; }
plain_agent_files "$work" bench-hop-receiver "$port" || { echo "bench hop: pki failed:" >&2; cat "$work/pki.log" >&2; exit 1; }

if [ -z "$file" ]; then
  file=$work/upload.bin
  head -c "$size" /dev/urandom > "$file"
fi
sha=$(sha256sum "$file" | cut -c 1-64)
note "sending $size bytes, sha256 $sha, chunks of $chunk bytes, $rounds round(s)"
if [ -z "$scp_reason" ]; then
  start_throwaway_sshd "$work/sshd" "$work/sshd.log" || scp_reason="the throwaway sshd did not start (see $work/sshd.log)"
fi
[ -z "$scp_reason" ] || note "scp: n/a ($scp_reason)"

# The manual path's anchor, once: cp + sync + sha256sum of the copy.
cat "$file" > /dev/null
manual_load=$(cut -d ' ' -f 1 /proc/loadavg)
# shellcheck disable=SC2016 # the inner bash expands its own arguments
manual_line=$(timed_cpu bash -c 'cp "$1" "$2" && sync && sha256sum "$2" > /dev/null' _ "$file" "$work/scp/manual.bin") \
  || fail "cp + sync + sha256sum failed"
rm -f "$work/scp/manual.bin"
sync
note "cp + sync + sha256sum (load $manual_load): seconds, CPU-s: $manual_line"

# Per transport a fresh agent; every round: the file into the page cache, the hop, the received file
# deleted, the same for scp.
rounds_file=$work/rounds.txt
: > "$rounds_file"
hwm="" rss=""
for transport in $transports; do
  start_plain_agent "$work" "$port" "$agent_opts" || { echo "bench hop: the agent did not start:" >&2; cat "$work/agent.log" >&2; exit 1; }
  note "$transport: agent listening on 127.0.0.1:$port (pid $agent_pid); load average $(cut -d ' ' -f 1-3 /proc/loadavg)"
  for round in $(seq 1 "$rounds"); do
    cat "$file" > /dev/null
    load=$(cut -d ' ' -f 1 /proc/loadavg)
    log=$work/probe-$transport-$round.log
    # shellcheck disable=SC2046 # the options are separate words on purpose
    line=$(java $(coordinator_jvm_opts) -cp "$repo_root/coordinator/target/lib/*" "$script_dir/HopProbe.java" "$work/pki" \
      127.0.0.1 "$port" "$agent_pid" "$file" "$sha" "$chunk" "bench-hop-$$-$transport-$round" "$transport" 2> "$log") \
      || { cat "$log" >&2; fail "the $transport hop of round $round failed"; }
    rm -f "$work"/state/staging/*
    sync
    echo "hop $round $load $line" >> "$rounds_file"
    note "$transport round $round (load $load): $line"
    grep -E "CPU-s by thread|user/system" "$log" | sed "s/^/    /" || true
    if [ -z "$scp_reason" ]; then
      cat "$file" > /dev/null
      load=$(cut -d ' ' -f 1 /proc/loadavg)
      if scp_line=$(timed_scp "$file" "$work/scp/copy.bin"); then
        echo "scp $round $load $scp_line" >> "$rounds_file"
        note "scp round $round (load $load): seconds, scp CPU-s, sshd CPU-s: $scp_line"
      else
        scp_reason="scp to the throwaway sshd failed (see $work/sshd.log)"
        note "scp: n/a ($scp_reason)"
      fi
      rm -f "$work/scp/copy.bin"
      sync
    fi
  done
  # The headline's memory is the first transport's agent; each one's is printed.
  note "$transport: agent VmHWM $(status_mib "$agent_pid" VmHWM) MiB, VmRSS $(status_mib "$agent_pid" VmRSS) MiB"
  if [ -z "$hwm" ]; then
    hwm=$(status_mib "$agent_pid" VmHWM)
    rss=$(status_mib "$agent_pid" VmRSS)
  fi
  kill "$agent_pid"; wait "$agent_pid" 2>/dev/null || true
  agent_pid=""
done

BENCH_MANUAL="$manual_load $manual_line" BENCH_ROUNDS=$rounds_file BENCH_SIZE=$size BENCH_CHUNK=$chunk BENCH_HWM=$hwm BENCH_RSS=$rss BENCH_SCP_REASON=$scp_reason \
BENCH_LOAD_END=$(cut -d ' ' -f 1 /proc/loadavg) python3 "$script_dir/hop_figures.py"
