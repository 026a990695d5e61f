#!/usr/bin/env bash
# etcd-rescue in a few minutes, on this machine: the seed's disaster and its recovery, for real.
#
#   1. builds the project if its jars are missing or older than the sources (mvn -B -q -DskipTests package)
#   2. installs etcd from Debian's packages if it is missing (etcd-server, etcd-client)
#   3. boots 5 local hosts (testbed/testbed.sh: a real systemd each, on 127.X.Y.1-5) and installs the
#      agent on each with deploy/install-agent.sh from the distribution tarball, as an operator would
#   4. starts the old cluster (Debian's etcd.service on every host), writes sample keys, shows its members
#   5. kills etcd for good on 4 hosts and shows that the survivor has no leader
#   6. recovers with one command: deploy/bin/etcd-rescue recover -i <inventory>
#   7. shows the new member table and reads every sample key back from every member
# Everything is torn down at the end (also on Ctrl-C); the inventory, certificates, the recovery's
# report and the logs stay in /var/lib/etcd-rescue-demo/<run>/.
#
# usage: deploy/demo.sh [--no-build] [--keys N]
#   --no-build   never build: use the jars and dist/target/etcd-rescue-*.tar.gz as they are
#   --keys N     how many sample keys (default 1000)
#
# Needs: Debian 12, root, systemd installed (not necessarily running), unshare and nsenter, cgroup v1's
# name=systemd hierarchy at /sys/fs/cgroup/systemd, Java 17+, Maven when a build is needed, 1 GiB free
# under /var/lib. It checks all that first and changes nothing when something is missing.
# Exit codes: 0 recovered, verified and every key read back; 1 the demo failed (see the logs);
# 2 bad arguments; 3 this machine cannot run the demo (nothing was changed).
set -euo pipefail

script_dir=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
testbed_sh=$repo_root/testbed/testbed.sh
etcd_rescue=$repo_root/deploy/bin/etcd-rescue
demo_root=/var/lib/etcd-rescue-demo
host_count=5
survivor_index=4
cluster=lv-etcd-research-beta
agent_port=7443
# Several etcd members, systemds and JVMs share few cores: etcd's default timers (100/1000 ms)
# cause spurious elections there.
heartbeat_ms=250
election_ms=2500

build=auto keys=1000
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=no; shift ;;
    --keys)
      keys=${2:-}
      [[ "$keys" =~ ^[1-9][0-9]{0,5}$ ]] || { echo "demo: --keys needs a number from 1 to 999999" >&2; exit 2; }
      shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

start_seconds=$SECONDS
step_number=0
step_total=9
step() {
  step_number=$((step_number + 1))
  printf '\n[%4ds] step %d/%d: %s\n' $((SECONDS - start_seconds)) "$step_number" "$step_total" "$*"
}
note() { printf '[%4ds]   %s\n' $((SECONDS - start_seconds)) "$*"; }
fail() {
  printf '[%4ds] FAILED: %s\n' $((SECONDS - start_seconds)) "$*" >&2
  exit 1
}
# shellcheck source=testbed/cluster.sh
. "$repo_root/testbed/cluster.sh"

# ---- what this machine needs (checked before anything is changed) ----

sources_newer_than() {
  local reference=$1
  find "$repo_root/pom.xml" "$repo_root"/{proto,snapshot-format,pki,agent,coordinator,dist}/pom.xml \
    "$repo_root"/{proto,snapshot-format,pki,agent,coordinator}/src/main "$repo_root/dist/src" \
    "$repo_root/deploy/bin" "$repo_root/deploy/systemd" "$repo_root/deploy/install-agent.sh" \
    "$repo_root/deploy/uninstall-agent.sh" \
    -newer "$reference" -type f -print -quit 2>/dev/null
}

find_tarball() {
  find "$repo_root"/dist/target -maxdepth 1 -name "etcd-rescue-*.tar.gz" -printf "%T@ %p\n" 2>/dev/null | sort -rn | sed -n 1p | cut -d " " -f 2- || true
}

# Why the build outputs cannot be used as they are (empty when they can).
build_outputs_problem() {
  local tarball
  tarball=$(find_tarball)
  if [ -z "$tarball" ]; then
    echo "no distribution tarball in $repo_root/dist/target"
  elif ! ls "$repo_root"/coordinator/target/lib/*.jar >/dev/null 2>&1; then
    echo "no coordinator jars in $repo_root/coordinator/target/lib"
  elif [ -n "$(sources_newer_than "$tarball")" ]; then
    echo "$(sources_newer_than "$tarball") is newer than $tarball"
  fi
}

problems=()
problem() { problems+=("$1"$'\n'"      what to do: $2"); }

check_machine() {
  if [ "$(id -u)" != 0 ]; then
    problem "not running as root (the local hosts need namespaces, mounts and cgroups)" \
      "run it as root: sudo $0"
  fi
  if [ ! -x /lib/systemd/systemd ]; then
    problem "/lib/systemd/systemd is missing (each local host runs its own systemd)" "apt-get install -y systemd"
  fi
  local tool
  for tool in unshare nsenter setsid timeout; do
    command -v "$tool" >/dev/null || problem "$tool is missing" "apt-get install -y util-linux coreutils"
  done
  if ! awk '$5 == "/sys/fs/cgroup/systemd" && /name=systemd/ { found = 1 } END { exit !found }' /proc/self/mountinfo; then
    problem "no cgroup v1 name=systemd hierarchy at /sys/fs/cgroup/systemd (the hosts' systemds need it; this machine has: $(awk '$9 ~ /^cgroup/ {print $5 " (" $9 ")"}' /proc/self/mountinfo | head -n 3 | tr '\n' ' '))" \
      "run the demo on a machine or container with cgroup v1 (e.g. the CI image), or, in a throwaway container only: mkdir -p /sys/fs/cgroup/systemd && mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd"
  fi
  if ! command -v java >/dev/null; then
    problem "java is missing" "apt-get install -y openjdk-17-jdk-headless"
  else
    local version
    version=$(java -version 2>&1 | awk -F'"' '/version/ { print $2; exit }')
    [ "${version%%.*}" -ge 17 ] 2>/dev/null \
      || problem "java $version found, Java 17 or newer is needed" "apt-get install -y openjdk-17-jdk-headless"
  fi
  build_problem=$(build_outputs_problem)
  if [ -n "$build_problem" ]; then
    if [ "$build" = no ]; then
      if [ -z "$(find_tarball)" ] || ! ls "$repo_root"/coordinator/target/lib/*.jar >/dev/null 2>&1; then
        problem "--no-build, but $build_problem" "run mvn -B -DskipTests package in $repo_root, or drop --no-build"
      fi
    elif ! command -v mvn >/dev/null; then
      problem "a build is needed ($build_problem) and mvn is missing" "apt-get install -y maven"
    fi
  fi
  if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
    command -v apt-get >/dev/null \
      || problem "etcd is missing and there is no apt-get to install it" "install etcd 3.4 or 3.5 (etcd and etcdctl on PATH)"
  fi
  local free
  mkdir -p /var/lib 2>/dev/null || true
  free=$(df --output=avail -B1 /var/lib 2>/dev/null | tail -n 1 | tr -d ' ')
  if [ -z "$free" ] || [ "$free" -lt $((1024 * 1024 * 1024)) ]; then
    problem "less than 1 GiB free under /var/lib ($((${free:-0} / 1024 / 1024)) MiB)" "free some space there"
  fi
  address_prefix=$(pick_address_block 2379 2380 22379 22380 32379 $agent_port) \
    || problem "no free 127.X.Y.0/24 block found (something listens on ports 2379, 2380, 22379, 22380, 32379 or $agent_port everywhere tried)" \
      "stop what listens there, or end earlier demo or test runs (testbed/testbed.sh gc)"
}

address_prefix=""
build_problem=""
check_machine
if [ ${#problems[@]} -gt 0 ]; then
  echo "demo: this machine cannot run the demo yet; nothing was changed:" >&2
  for p in "${problems[@]}"; do printf '  - %s\n' "$p" >&2; done
  exit 3
fi

# ---- the run's files ----

run_id=$(date +%Y%m%d-%H%M%S)-$$
work=$demo_root/$run_id
logs=$work/logs
mkdir -p "$logs"
chmod 0755 "$demo_root" "$work"
echo "etcd-rescue demo: $host_count hosts on $address_prefix.0/24; files and logs in $work"

rundir=""
dist=""
finished=no
# Ends whatever of this run still runs: background jobs, then every host. Runs on every exit.
teardown() {
  local rc=$?
  # A second Ctrl-C must not stop the teardown halfway and leave hosts running.
  trap - EXIT
  trap '' INT TERM
  set +e
  local job
  for job in $(jobs -p); do kill "$job" 2>/dev/null; done
  wait 2>/dev/null
  if [ "$finished" != yes ] && [ -n "$rundir" ] && [ -d "$rundir" ]; then
    collect_journals
  fi
  if [ -n "$rundir" ] && [ -d "$rundir" ]; then
    printf '\n[%4ds] tearing down: every host of %s\n' $((SECONDS - start_seconds)) "$rundir"
    if ! "$testbed_sh" rm "$rundir" >> "$logs/teardown.log" 2>&1; then
      echo "demo: teardown failed (see $logs/teardown.log); run: $testbed_sh rm $rundir" >&2
      [ $rc = 0 ] && rc=1
    fi
  fi
  # The unpacked distribution only served the install; the rest of $work is the run's record.
  [ -n "$dist" ] && rm -rf "$(dirname "$dist")"
  echo "logs: $logs"
  if [ $rc = 0 ]; then
    printf '[%4ds] demo finished: recovered, verified, every sample key read back\n' $((SECONDS - start_seconds))
  else
    printf '[%4ds] demo FAILED (exit %d): see the logs in %s\n' $((SECONDS - start_seconds)) "$rc" "$logs" >&2
  fi
  exit $rc
}
trap teardown EXIT
trap 'echo; echo "demo: interrupted" >&2; exit 130' INT
trap 'echo "demo: terminated" >&2; exit 143' TERM

etcdctl_at() { ETCDCTL_API=3 etcdctl --endpoints="$1" --dial-timeout=3s --command-timeout=10s "${@:2}"; }

collect_journals() {
  local i host
  mkdir -p "$logs/hosts"
  for i in $(seq 0 $((host_count - 1))); do
    host=$(host_name "$i")
    [ -d "$rundir/hosts/$host" ] || continue
    in_host "$host" --timeout 20 -- journalctl --no-pager -u etcd -u etcd_new -u etcd-rescue-agent \
      > "$logs/hosts/$host-journal.log" 2>&1 || true
  done
  echo "demo: the hosts' journals (etcd, etcd_new, etcd-rescue-agent) are in $logs/hosts/" >&2
}

# Runs a command in the background, its output into LOG (and onto the terminal with --show), and waits
# for it: a TERM (or Ctrl-C) then reaches the trap at once, not only after the command has ended.
run_logged() {
  local show=no
  if [ "$1" = --show ]; then show=yes; shift; fi
  local log=$1; shift
  # The log exists before tail opens it: the background job's redirection may come later.
  : >> "$log"
  "$@" >> "$log" 2>&1 &
  local pid=$! rc=0 tail_pid=""
  if [ $show = yes ]; then
    tail -s 0.2 -n +1 -f --pid=$pid "$log" &
    tail_pid=$!
  fi
  wait $pid || rc=$?
  [ -z "$tail_pid" ] || wait $tail_pid || true
  return $rc
}

# ---- 1. build ----

step "build"
if [ -n "$build_problem" ] && [ "$build" = auto ]; then
  note "building: $build_problem"
  note "mvn -B -q -DskipTests package (log: $logs/build.log)"
  run_logged "$logs/build.log" mvn -B -q -f "$repo_root/pom.xml" -DskipTests package \
    || { tail -n 30 "$logs/build.log" >&2; fail "the build failed (see $logs/build.log)"; }
  build_problem=$(build_outputs_problem)
  [ -z "$build_problem" ] || fail "after the build: $build_problem"
elif [ -n "$build_problem" ]; then
  note "--no-build: using the build outputs as they are ($build_problem)"
else
  note "the jars and the distribution are up to date"
fi
tarball=$(find_tarball)
note "distribution: $tarball"

# ---- 2. etcd ----

step "etcd"
if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
  note "apt-get install -y etcd-server etcd-client (log: $logs/apt.log)"
  run_logged "$logs/apt.log" sh -c 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y etcd-server etcd-client' \
    || fail "apt-get install etcd-server etcd-client failed (see $logs/apt.log)"
fi
note "$(etcd --version 2>/dev/null | sed -n 1p), $(ETCDCTL_API=3 etcdctl version 2>/dev/null | sed -n 1p)"

# ---- 3. hosts ----

step "boot $host_count hosts (each its own systemd, on $address_prefix.1-$host_count)"
boot_hosts
note "testbed run dir: $rundir"
note "cgroups: etcd-rescue-testbed-$(basename "$rundir")-<host>"
for i in $(seq 0 $((host_count - 1))); do
  note "$(host_name "$i") on $(address "$i"): systemd pid $(tail -n 1 "$logs/boot-$(host_name "$i").log")"
done

# ---- 4. certificates, inventory, agents ----

step "certificates, inventory and an agent on every host (deploy/install-agent.sh from the tarball)"
inventory=$work/inventory.yaml
write_inventory "$inventory" "Written by deploy/demo.sh: the seed's recovery on this run's local hosts."
note "inventory: $inventory"
note "\$ deploy/bin/etcd-rescue pki init --dir $work/pki"
note "\$ deploy/bin/etcd-rescue pki issue --dir $work/pki --inventory $inventory"
issue_certificates "$inventory"
sed 's/^/           /' "$logs/pki-issue.log"

note "on every host: deploy/install-agent.sh --config agent.yaml --tls-dir <its dir from pki issue>"
install_agents "$tarball"
for i in $(seq 0 $((host_count - 1))); do
  note "$(host_name "$i"): $(tail -n 1 "$logs/install-agent-$(host_name "$i").log")"
done

# ---- 5. the old cluster ----

step "old cluster: Debian's etcd.service on every host, $keys sample keys"
start_old_cluster
old_endpoints=$(endpoints_on_port 2379)
note "all $host_count members healthy"

sample=$work/sample-data.txt
: > "$sample"
for ((i = 0; i < keys; i++)); do
  printf '/demo/key-%06d value-%d-%04x%04x\n' "$i" "$i" $RANDOM $RANDOM >> "$sample"
done
# etcdctl takes one put per call at about 70 keys/s: a transaction of 100 puts per call is ~100x faster.
split -l 100 "$sample" "$work/sample-batch-"
for batch in "$work"/sample-batch-*; do
  { echo; sed 's/^/put /' "$batch"; echo; echo; } | etcdctl_at "$old_endpoints" txn >> "$logs/sample-data.log" 2>&1 \
    || fail "writing the sample keys failed (see $logs/sample-data.log)"
done
rm -f "$work"/sample-batch-*
written=$(etcdctl_at "$old_endpoints" get --prefix /demo/ --keys-only | grep -c '^/demo/' || true)
[ "$written" = "$keys" ] || fail "wrote $keys sample keys, the cluster counts ${written:-none}"
note "wrote $keys keys under /demo/ (kept in $sample)"
echo "\$ etcdctl --endpoints=$old_endpoints member list -w table"
etcdctl_at "$old_endpoints" member list -w table | tee "$logs/members-before.txt"

# ---- 6. the disaster ----

step "disaster: etcd killed for good on $((host_count - 1)) of $host_count hosts"
for i in $(seq 0 $((host_count - 1))); do
  [ "$i" = $survivor_index ] && continue
  host=$(host_name "$i")
  # Debian's unit has Restart=on-abnormal: without this drop-in systemd brings etcd back in a second.
  in_host "$host" -- sh -c 'mkdir -p /run/systemd/system/etcd.service.d \
    && printf "[Service]\nRestart=no\n" > /run/systemd/system/etcd.service.d/demo-no-restart.conf \
    && systemctl daemon-reload && systemctl kill -s SIGKILL etcd' >> "$logs/disaster.log" 2>&1 \
    || fail "killing etcd on $host failed (see $logs/disaster.log)"
done
for i in $(seq 0 $((host_count - 1))); do
  [ "$i" = $survivor_index ] && continue
  host=$(host_name "$i")
  for _ in $(seq 1 100); do
    state=$(in_host "$host" -- systemctl is-active etcd 2>/dev/null || true)
    case "$state" in inactive|failed) break ;; esac
    sleep 0.2
  done
  note "$host: etcd.service $state"
done
survivor=$(host_name $survivor_index)
survivor_url=$(client_url $survivor_index 2379)
leaderless=no
for _ in $(seq 1 60); do
  if etcdctl_at "$survivor_url" endpoint status -w fields 2>/dev/null | grep '^"Leader" : 0$' >/dev/null; then leaderless=yes; break; fi
  sleep 0.5
done
[ $leaderless = yes ] || fail "$survivor still reports a leader 30 s after the others died"
note "the survivor $survivor has no leader (IS LEADER false, leader 0): etcd refuses writes"
echo "\$ etcdctl --endpoints=$survivor_url endpoint status -w table"
etcdctl_at "$survivor_url" endpoint status -w table 2>&1 | tee "$logs/survivor-status.txt"
echo "\$ etcdctl --endpoints=$survivor_url endpoint health"
etcdctl_at "$survivor_url" --command-timeout=3s endpoint health 2>&1 | tee -a "$logs/survivor-status.txt" || true

# ---- 7. the rescue ----

step "rescue: one command"
echo "\$ deploy/bin/etcd-rescue recover -i $inventory --work-dir $work/recover"
recover_rc=0
run_logged --show "$logs/recover.log" "$etcd_rescue" recover -i "$inventory" --work-dir "$work/recover" || recover_rc=$?
[ "$recover_rc" = 0 ] || fail "etcd-rescue recover exited $recover_rc (see $logs/recover.log)"

# ---- 8. after ----

step "the new cluster"
new_endpoints=$(endpoints_on_port 22379)
echo "\$ etcdctl --endpoints=$new_endpoints member list -w table"
etcdctl_at "$new_endpoints" member list -w table | tee "$logs/members-after.txt"
echo "\$ etcdctl --endpoints=$new_endpoints endpoint status -w table"
etcdctl_at "$new_endpoints" endpoint status -w table | tee -a "$logs/members-after.txt"

step "sample keys read back from every member"
all_match=yes
sort "$sample" > "$work/sample-expected.txt"
for i in $(seq 0 $((host_count - 1))); do
  # Serializable: each member answers from its own copy, so every member's data is checked.
  etcdctl_at "$(client_url "$i" 22379)" get --prefix /demo/ --consistency=s \
    | paste -d ' ' - - | sort > "$work/sample-read-$(host_name "$i").txt" || true
  matching=$(comm -12 "$work/sample-expected.txt" "$work/sample-read-$(host_name "$i").txt" | wc -l)
  note "$(host_name "$i") ($(client_url "$i" 22379)): $matching of $keys sample keys match"
  [ "$matching" = "$keys" ] || all_match=no
done
[ $all_match = yes ] || fail "not every sample key read back (compare $work/sample-expected.txt with $work/sample-read-*.txt)"
rm -f "$work"/sample-read-*.txt
echo "all $keys sample keys read back from all $host_count members"
finished=yes
