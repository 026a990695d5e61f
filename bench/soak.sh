#!/usr/bin/env bash
# Soak: N cycles of `etcd-rescue recover` then `etcd-rescue rollback --yes` on 3 local testbed hosts
# (an old 3-member cluster saved with `etcd-rescue snapshot save`, then every member killed for good;
# each cycle recovers from that file. A survivor cannot serve as the source of every cycle: the
# rollback starts its old member again, alone, and an etcd restarted without a quorum serves no client).
# After every cycle it counts, per host, what must not grow from one cycle to the next:
#   procs   processes inside the host (its systemd's PID namespace)
#   fds     open file descriptors of the agent's JVM
#   staging files in the agent's staging dir
#   claims  claim files in the agent's state dir
#   aside   entries of /var/lib/etcd moved aside by rollbacks (they grow by design: nothing is
#           deleted; printed so that their growth is seen, not checked)
# and, on the machine: testbed run dirs and nftables tables of the tests. The cycle's counts are
# compared with those after the first cycle (the agents' JVMs warm up in it); any growth of a
# checked figure after cycle 2 fails the soak at the end. Prints a table and one JSON line.
# Not part of .ci/run (20 cycles of 1,000 keys took 7.5 minutes on the 2-core test machine).
#
# usage: bench/soak.sh [--cycles N] [--keys N]
#   --cycles N  recover + rollback cycles (default 20)
#   --keys N    keys of ~1 KiB written to the old cluster first (default 1000)
# Needs what deploy/demo.sh needs (root, systemd, cgroup v1 name=systemd, Java 17, etcd 3.4) and a
# build (mvn -B -DskipTests package: the distribution tarball and the coordinator's jars).
# Exit codes: 0 nothing grew; 1 a step failed or a figure grew; 2 bad arguments.
set -euo pipefail

script_dir=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
testbed_sh=$repo_root/testbed/testbed.sh
etcd_rescue=$repo_root/deploy/bin/etcd-rescue
soak_root=/var/lib/etcd-rescue-soak
cluster=soak
host_count=3
agent_port=7443
heartbeat_ms=250
election_ms=2500
cycles=20
keys=1000

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --cycles) cycles=${2:-}; [[ "$cycles" =~ ^[1-9][0-9]{0,3}$ ]] || { echo "soak: --cycles needs a number from 1 to 9999" >&2; exit 2; }; shift 2 ;;
    --keys) keys=${2:-}; [[ "$keys" =~ ^[1-9][0-9]{0,5}$ ]] || { echo "soak: --keys needs a number from 1 to 999999" >&2; exit 2; }; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "soak: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "soak: must run as root (testbed hosts)" >&2; exit 2; }

t0=$SECONDS
note() { printf '[%5ds] %s\n' $((SECONDS - t0)) "$*"; }
fail() { printf '[%5ds] FAILED: %s\n' $((SECONDS - t0)) "$*" >&2; exit 1; }
# shellcheck source=testbed/cluster.sh
. "$repo_root/testbed/cluster.sh"

tarball=$(find "$repo_root/dist/target" -maxdepth 1 -name "etcd-rescue-*.tar.gz" 2>/dev/null | sort | sed -n 1p)
[ -n "$tarball" ] || fail "no distribution tarball in $repo_root/dist/target: run mvn -B -DskipTests package first"
ls "$repo_root"/coordinator/target/lib/*.jar >/dev/null 2>&1 || fail "no coordinator jars: run mvn -B -DskipTests package first"
address_prefix=$(pick_address_block 2379 2380 22379 22380 32379 $agent_port) || fail "no free 127.X.Y.0/24 block"

work=$soak_root/$(date +%Y%m%d-%H%M%S)-$$
logs=$work/logs
mkdir -p "$logs"
rundir=""
dist=""
teardown() {
  local rc=$?
  trap - EXIT
  set +e
  if [ -n "$rundir" ] && [ -d "$rundir" ]; then
    "$testbed_sh" rm "$rundir" >> "$logs/teardown.log" 2>&1 || { echo "soak: teardown failed; run: $testbed_sh rm $rundir" >&2; [ $rc = 0 ] && rc=1; }
  fi
  [ -n "$dist" ] && rm -rf "$(dirname "$dist")"
  echo "logs: $logs"
  exit $rc
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

note "3 hosts on $address_prefix.0/24; files and logs in $work"
boot_hosts
inventory=$work/inventory.yaml
write_inventory "$inventory" "Written by bench/soak.sh."
issue_certificates "$inventory"
install_agents "$tarball"
start_old_cluster
old_endpoints=$(endpoints_on_port 2379)
for ((i = 0; i < keys; i += 100)); do
  { echo; for ((k = i; k < i + 100 && k < keys; k++)); do printf 'put /soak/key-%06d %01024d\n' "$k" "$k"; done; echo; echo; } \
    | ETCDCTL_API=3 etcdctl --endpoints="$old_endpoints" --dial-timeout=3s --command-timeout=30s txn >> "$logs/load.log" 2>&1 \
    || fail "writing keys failed (see $logs/load.log)"
done
backup=$work/backup.db
"$etcd_rescue" snapshot save --endpoints "$old_endpoints" "$backup" > "$logs/snapshot-save.log" 2>&1 \
  || fail "snapshot save failed (see $logs/snapshot-save.log)"
# The inventory's source: that file, not the old members' endpoints.
sed -i -e '/^        snapshot_endpoints:$/,/^        old_unit:/{/^        old_unit:/!d}' -e "s#^        old_unit:#        snapshot_file: $backup\n        old_unit:#" "$inventory"
grep -q "snapshot_file: $backup" "$inventory" || fail "could not point $inventory at $backup"
for i in $(seq 0 $((host_count - 1))); do
  in_host "$(host_name "$i")" -- sh -c 'mkdir -p /run/systemd/system/etcd.service.d \
    && printf "[Service]\nRestart=no\n" > /run/systemd/system/etcd.service.d/soak-no-restart.conf \
    && systemctl daemon-reload && systemctl kill -s SIGKILL etcd' >> "$logs/disaster.log" 2>&1 \
    || fail "killing etcd on $(host_name "$i") failed (see $logs/disaster.log)"
done
note "old cluster loaded with $keys keys, saved to $backup; etcd killed for good on every host"

# One line of figures per host: procs fds staging claims aside.
host_figures() {
  local host=$1
  # shellcheck disable=SC2016 # expanded inside the host
  in_host "$host" --timeout 30 -- sh -c '
    pid=$(systemctl show -p MainPID --value etcd-rescue-agent)
    procs=$(ls -d /proc/[0-9]* | wc -l)
    fds=$(ls /proc/"$pid"/fd 2>/dev/null | wc -l)
    staging=$(find /var/lib/etcd-rescue-agent/staging -mindepth 1 2>/dev/null | wc -l)
    claims=$(find /var/lib/etcd-rescue-agent -maxdepth 1 -name "claim*.json" 2>/dev/null | wc -l)
    aside=$(find /var/lib/etcd -mindepth 1 -maxdepth 1 -name "*etcd-rescue*" -o -mindepth 1 -maxdepth 1 -name "*rolled-back*" | wc -l)
    echo "$procs $fds $staging $claims $aside"'
}
machine_figures() {
  local runs tables
  runs=$(find /var/lib/etcd-rescue-testbed -mindepth 1 -maxdepth 1 -name "run-*" 2>/dev/null | wc -l)
  tables=$(nft list tables 2>/dev/null | grep -c "etcdrescue_nf_" || true)
  echo "$runs $tables"
}

declare -A first=()
grown=()
recover_s=() rollback_s=()
printf '%-5s %-8s %-9s' cycle recover_s rollback_s
for i in $(seq 0 $((host_count - 1))); do printf ' %-28s' "$(host_name "$i") procs/fds/stg/clm/aside"; done
printf ' %s\n' "runs/nft"
for ((c = 1; c <= cycles; c++)); do
  runs_dir=$work/runs-$c
  s=$SECONDS
  "$etcd_rescue" recover -i "$inventory" --work-dir "$runs_dir" > "$logs/recover-$c.log" 2>&1 \
    || fail "cycle $c: recover failed (see $logs/recover-$c.log)"
  recover_s+=($((SECONDS - s)))
  grep -q RECOVERED "$logs/recover-$c.log" || fail "cycle $c: recover did not say RECOVERED (see $logs/recover-$c.log)"
  run=$(find "$runs_dir" -mindepth 1 -maxdepth 1 -type d | sed -n 1p)
  s=$SECONDS
  "$etcd_rescue" rollback "$run" --yes > "$logs/rollback-$c.log" 2>&1 || fail "cycle $c: rollback failed (see $logs/rollback-$c.log)"
  rollback_s+=($((SECONDS - s)))
  printf '%-5s %-8s %-9s' "$c" "${recover_s[-1]}" "${rollback_s[-1]}"
  for i in $(seq 0 $((host_count - 1))); do
    read -r procs fds staging claims aside <<< "$(host_figures "$(host_name "$i")")"
    printf ' %-28s' "$procs/$fds/$staging/$claims/$aside"
    for name in procs fds staging claims; do
      key="$i-$name" value=${!name}
      if [ "$c" = 1 ]; then
        first[$key]=$value
      elif [ "$value" -gt "${first[$key]}" ]; then
        # fds may move by a few (gRPC's pools): only growth beyond 5 counts for them.
        if [ "$name" != fds ] || [ "$value" -gt $((${first[$key]} + 5)) ]; then grown+=("cycle $c $(host_name "$i") $name ${first[$key]}->$value"); fi
      fi
    done
  done
  read -r runs tables <<< "$(machine_figures)"
  printf ' %s\n' "$runs/$tables"
  if [ "$c" = 1 ]; then first[runs]=$runs first[tables]=$tables; fi
  [ "$runs" -le "${first[runs]}" ] || grown+=("cycle $c testbed runs ${first[runs]}->$runs")
  [ "$tables" -le "${first[tables]}" ] || grown+=("cycle $c nft tables ${first[tables]}->$tables")
done

sum() { local t=0 x; for x in "$@"; do t=$((t + x)); done; echo "$t"; }
note "$cycles cycles: recover $(sum "${recover_s[@]}") s in all, rollback $(sum "${rollback_s[@]}") s in all"
printf '{"cycles":%d,"keys":%d,"recover_s":[%s],"rollback_s":[%s],"grown":%d}\n' "$cycles" "$keys" \
  "$(IFS=,; echo "${recover_s[*]}")" "$(IFS=,; echo "${rollback_s[*]}")" "${#grown[@]}"
if [ ${#grown[@]} -gt 0 ]; then
  printf 'grew: %s\n' "${grown[@]}" >&2
  exit 1
fi
note "nothing grew after cycle 1"
