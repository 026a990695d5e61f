#!/usr/bin/env bash
# Test hosts on one machine: each host is a real systemd (PID 1 of new PID + mount + UTS
# namespaces, see host-boot.sh) sharing the machine's network, reached on its own 127.X.Y.N.
# Everything a run creates lives in one run dir under /var/lib/etcd-rescue-testbed (never /tmp:
# inside a host /tmp is private).
#
# usage:
#   testbed.sh new-run [--owner PID]            create a run dir, print its path
#   testbed.sh up RUNDIR HOST ADDRESS [--etcd 3.4|3.5]
#                                               boot HOST (etcd 3.5: the project's .tools/etcd-3.5.16)
#   testbed.sh exec RUNDIR HOST [--timeout SECONDS] -- CMD...
#                                               run CMD inside HOST (default timeout 60 s)
#   testbed.sh pid RUNDIR HOST                  the host's systemd pid (as seen from outside)
#   testbed.sh down RUNDIR HOST                 end HOST: every process in it, its mounts, its cgroups
#   testbed.sh down-all RUNDIR                  down every host of the run
#   testbed.sh rm RUNDIR                        down-all, then remove the run dir
#   testbed.sh gc                               rm every run whose owner process is gone, and every
#                                               nftables table etcdrescue_nf_<PID>_* whose PID is gone
set -euo pipefail

testbed_root=/var/lib/etcd-rescue-testbed
script_dir=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
etcd35_version=3.5.16
inside_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# Units that would reach the real machine (kernel settings, devices, shared files, the network,
# the console) or start work nobody asked for. Each becomes a symlink to /dev/null in the host's
# unit dir.
masked_units=(
  systemd-sysctl.service systemd-modules-load.service kmod-static-nodes.service
  systemd-tmpfiles-setup.service systemd-tmpfiles-setup-dev.service
  systemd-tmpfiles-setup-dev-early.service systemd-tmpfiles-clean.service systemd-tmpfiles-clean.timer
  dev-hugepages.mount dev-mqueue.mount sys-kernel-config.mount sys-kernel-debug.mount
  sys-kernel-tracing.mount sys-fs-fuse-connections.mount
  proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount systemd-binfmt.service
  systemd-random-seed.service systemd-update-utmp.service systemd-update-utmp-runlevel.service
  systemd-journal-flush.service systemd-journal-catalog-update.service systemd-repart.service
  systemd-sysusers.service systemd-firstboot.service systemd-machine-id-commit.service
  systemd-pcrphase.service systemd-pcrphase-sysinit.service systemd-pstore.service
  systemd-update-done.service ldconfig.service systemd-hwdb-update.service
  systemd-timesyncd.service systemd-networkd.service systemd-networkd.socket
  systemd-networkd-wait-online.service systemd-resolved.service
  systemd-fsck-root.service systemd-fsck@.service systemd-remount-fs.service systemd-quotacheck.service
  systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket
  systemd-udev-trigger.service systemd-udev-settle.service
  getty.target getty@.service serial-getty@.service console-getty.service container-getty@.service
  getty-static.service systemd-logind.service
  timers.target apt-daily.timer apt-daily-upgrade.timer man-db.timer logrotate.timer
  dpkg-db-backup.timer e2scrub_all.timer fstrim.timer e2scrub_reap.service
  cryptsetup.target integritysetup.target veritysetup.target remote-fs.target
  swap.target systemd-ask-password-console.path systemd-ask-password-wall.path
  systemd-journald-audit.socket
)

die() { echo "testbed: $*" >&2; exit 1; }

check_rundir() {
  case "$1" in
    "$testbed_root"/*) ;;
    *) die "run dir must lie under $testbed_root: $1" ;;
  esac
  [ -d "$1" ] || die "no run dir $1"
}

host_dir_of() { echo "$1/hosts/$2"; }

# The pid recorded for a host, only if it is still that host's systemd (pids are reused).
live_systemd_pid() {
  local host_dir=$1 pid cgroup
  [ -f "$host_dir/systemd.pid" ] && [ -f "$host_dir/cgroup" ] || return 1
  pid=$(cat "$host_dir/systemd.pid")
  cgroup=$(cat "$host_dir/cgroup")
  [ -d "/proc/$pid" ] || return 1
  grep -q ":name=systemd:/$cgroup\(/\|$\)" "/proc/$pid/cgroup" 2>/dev/null || return 1
  echo "$pid"
}

cmd_new_run() {
  local owner=""
  if [ "${1:-}" = --owner ]; then owner=$2; fi
  mkdir -p "$testbed_root"
  chmod 0755 "$testbed_root"
  local rundir
  rundir=$(mktemp -d "$testbed_root/run-$(date +%Y%m%d-%H%M%S)-XXXXXX")
  chmod 0755 "$rundir"
  mkdir -p "$rundir/hosts" "$rundir/dist"
  [ -n "$owner" ] && echo "$owner" > "$rundir/owner.pid"
  # Hosts boot from this copy: the checkout may lie under /tmp, which a host cannot see.
  mkdir -p "$rundir/dist/testbed"
  cp "$script_dir/host-boot.sh" "$script_dir/testbed.sh" "$rundir/dist/testbed/"
  echo "$rundir"
}

prepare_etcd35() {
  local rundir=$1 src="$repo_root/.tools/etcd-$etcd35_version/bin" dest="$1/dist/etcd-$etcd35_version/bin"
  if [ ! -x "$dest/etcdutl" ]; then
    [ -x "$src/etcdutl" ] || die "etcd $etcd35_version not found in $src: run testbed/fetch-etcd-3.5.sh"
    mkdir -p "$dest.partial"
    cp -l "$src"/etcd "$src"/etcdctl "$src"/etcdutl "$dest.partial/" 2>/dev/null \
      || cp "$src"/etcd "$src"/etcdctl "$src"/etcdutl "$dest.partial/"
    mv "$dest.partial" "$dest"
  fi
  echo "$dest"
}

prepare_host_dir() {
  local host_dir=$1
  mkdir -p "$host_dir"/{etc-upper,etc-work,unit-dir,default,etc-etcd-rescue,etcd-data,agent-state,opt,var-lib-systemd,journal}
  # As the machine has them, so the host starts from what a real Debian host with etcd holds
  # (including etcd's enable symlink and its Alias).
  cp -a /etc/systemd/system/. "$host_dir/unit-dir/"
  cp -a /etc/default/. "$host_dir/default/"
  chown etcd:etcd "$host_dir/etcd-data"
  chmod 0700 "$host_dir/etcd-data" "$host_dir/agent-state"
  local unit
  for unit in "${masked_units[@]}"; do
    ln -sfn /dev/null "$host_dir/unit-dir/$unit"
  done
  # Only a [Unit] section: booting into it starts nothing but what tests start.
  printf '[Unit]\nDescription=testbed host\n' > "$host_dir/unit-dir/testbed.target"
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$host_dir/machine-id"
  echo >> "$host_dir/machine-id"
}

cmd_up() {
  local rundir=$1 host=$2 address=$3 etcd=3.4
  shift 3
  while [ $# -gt 0 ]; do
    case "$1" in
      --etcd) etcd=$2; shift 2 ;;
      *) die "up: unknown option $1" ;;
    esac
  done
  check_rundir "$rundir"
  [[ "$host" =~ ^[a-z0-9][a-z0-9-]{0,40}$ ]] || die "bad host name $host"
  [[ "$address" =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "address must lie in 127.0.0.0/8: $address"
  local host_dir etcd_bin_dir=""
  host_dir=$(host_dir_of "$rundir" "$host")
  [ ! -e "$host_dir" ] || die "host $host already exists in $rundir"
  case "$etcd" in
    3.4) ;;
    3.5) etcd_bin_dir=$(prepare_etcd35 "$rundir") ;;
    *) die "--etcd must be 3.4 or 3.5" ;;
  esac
  prepare_host_dir "$host_dir"
  echo "$address" > "$host_dir/address"
  echo "$etcd" > "$host_dir/etcd-version"
  local cgroup
  cgroup="etcd-rescue-testbed-$(basename "$rundir")-$host"
  echo "$cgroup" > "$host_dir/cgroup"

  # setsid: the host must not share the caller's process group (a Ctrl-C there would reach
  # systemd, which takes SIGINT as ctrl-alt-del).
  setsid unshare --pid --mount --uts --fork --propagation private \
    /bin/bash "$rundir/dist/testbed/host-boot.sh" "$host_dir" "$host" "$cgroup" "$etcd_bin_dir" \
    < /dev/null > "$host_dir/console.log" 2>&1 &
  local unshare_pid=$! pid=""
  echo "$unshare_pid" > "$host_dir/unshare.pid"
  for _ in $(seq 1 100); do
    pid=$(awk '{print $1}' "/proc/$unshare_pid/task/$unshare_pid/children" 2>/dev/null || true)
    [ -n "$pid" ] && break
    kill -0 "$unshare_pid" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$pid" ] || { cat "$host_dir/console.log" >&2; die "host $host did not start"; }
  echo "$pid" > "$host_dir/systemd.pid"
  # systemd listens on its private socket once it is set up: systemctl needs it.
  for _ in $(seq 1 400); do
    case "$(readlink "/proc/$pid/exe" 2>/dev/null)" in
      */systemd/systemd) [ -S "/proc/$pid/root/run/systemd/private" ] && break ;;
    esac
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$host_dir/console.log" >&2
      cmd_down "$rundir" "$host"
      die "host $host failed to boot"
    fi
    sleep 0.05
  done
  local state
  state=$(run_inside "$pid" 60 systemctl is-system-running --wait 2>&1) || true
  case "$state" in
    running) ;;
    *)
      echo "host $host: system state '$state'" >&2
      run_inside "$pid" 10 systemctl --no-pager list-units --all --failed >&2 || true
      tail -n 30 "$host_dir/console.log" >&2
      cmd_down "$rundir" "$host"
      die "host $host did not reach a running state"
      ;;
  esac
  echo "$pid"
}

# nsenter forwards no signal: the timeout runs inside, so it is what ends a stuck command.
run_inside() {
  local pid=$1 seconds=$2
  shift 2
  nsenter -t "$pid" -m -p -u -- /usr/bin/env -i PATH="$inside_path" HOME=/root LANG=C.UTF-8 \
    SYSTEMD_PAGER= SYSTEMD_COLORS=0 TERM=dumb \
    timeout -k 5 "$seconds" "$@"
}

cmd_exec() {
  local rundir=$1 host=$2 seconds=60
  shift 2
  while [ $# -gt 0 ]; do
    case "$1" in
      --timeout) seconds=$2; shift 2 ;;
      --) shift; break ;;
      *) die "exec: expected -- before the command, got $1" ;;
    esac
  done
  [ $# -gt 0 ] || die "exec: no command"
  check_rundir "$rundir"
  local pid
  pid=$(live_systemd_pid "$(host_dir_of "$rundir" "$host")") || die "host $host is not running"
  run_inside "$pid" "$seconds" "$@"
}

cmd_pid() {
  check_rundir "$1"
  live_systemd_pid "$(host_dir_of "$1" "$2")" || die "host $2 is not running"
}

# Mount points in this (the caller's) namespace at or under a path, deepest first.
mounts_under() {
  awk -v p="$1" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

cmd_down() {
  local rundir=$1 host=$2 host_dir pid cgroup
  check_rundir "$rundir"
  host_dir=$(host_dir_of "$rundir" "$host")
  [ -d "$host_dir" ] || die "no host $host in $rundir"
  # A host whose up failed early has no cgroup (nor pid) yet.
  cgroup=$(cat "$host_dir/cgroup" 2>/dev/null || true)
  if pid=$(live_systemd_pid "$host_dir"); then
    # SIGKILL to the PID namespace's init ends every process of the host at once.
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do
      [ -d "/proc/$pid" ] || break
      sleep 0.05
    done
    [ ! -d "/proc/$pid" ] || die "host $host: systemd pid $pid still there after SIGKILL"
  fi
  rm -f "$host_dir/systemd.pid"
  local mountpoint
  for mountpoint in $(mounts_under "$host_dir"); do
    umount -l "$mountpoint" || true
  done
  [ -n "$cgroup" ] || return 0
  local hierarchy dir
  for hierarchy in /sys/fs/cgroup/*; do
    dir="$hierarchy/$cgroup"
    [ -d "$dir" ] || continue
    for _ in $(seq 1 100); do
      # rmdir fails while a dying process is still charged to a cgroup: retry for a while.
      find "$dir" -depth -type d -exec rmdir {} \; 2>/dev/null || true
      [ -d "$dir" ] || break
      sleep 0.05
    done
    [ ! -d "$dir" ] || die "host $host: cannot remove cgroup $dir"
  done
}

cmd_down_all() {
  local rundir=$1 host_dir rc=0
  check_rundir "$rundir"
  for host_dir in "$rundir"/hosts/*/; do
    [ -d "$host_dir" ] || continue
    cmd_down "$rundir" "$(basename "$host_dir")" || rc=1
  done
  return $rc
}

cmd_rm() {
  local rundir=$1
  check_rundir "$rundir"
  cmd_down_all "$rundir"
  local mountpoint
  for mountpoint in $(mounts_under "$rundir"); do
    umount -l "$mountpoint" || true
  done
  [ -z "$(mounts_under "$rundir")" ] || die "mounts remain under $rundir"
  rm -rf --one-file-system "$rundir"
}

cmd_gc() {
  local rundir owner
  for rundir in "$testbed_root"/run-*/; do
    [ -d "$rundir" ] || continue
    rundir=${rundir%/}
    owner=$(cat "$rundir/owner.pid" 2>/dev/null) || continue
    kill -0 "$owner" 2>/dev/null && continue
    echo "testbed: removing $rundir (owner $owner is gone)"
    cmd_rm "$rundir" || true
  done
  # Packet filters of the system tests (PacketFilter.java): inet tables named etcdrescue_nf_<owner pid>_<random>.
  command -v nft >/dev/null 2>&1 || return 0
  local table
  for table in $(nft list tables inet 2>/dev/null | awk '$1 == "table" && $3 ~ /^etcdrescue_nf_[0-9]+_[0-9a-f]+$/ {print $3}'); do
    owner=${table#etcdrescue_nf_}
    owner=${owner%%_*}
    kill -0 "$owner" 2>/dev/null && continue
    echo "testbed: removing nftables table inet $table (owner $owner is gone)"
    nft delete table inet "$table" || true
  done
}

[ "$(id -u)" = 0 ] || die "must run as root (namespaces, mounts, cgroups)"
command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
  new-run) cmd_new_run "$@" ;;
  up) [ $# -ge 3 ] || die "usage: up RUNDIR HOST ADDRESS [--etcd 3.4|3.5]"; cmd_up "$@" ;;
  exec) [ $# -ge 3 ] || die "usage: exec RUNDIR HOST [--timeout S] -- CMD..."; cmd_exec "$@" ;;
  pid) [ $# -eq 2 ] || die "usage: pid RUNDIR HOST"; cmd_pid "$@" ;;
  down) [ $# -eq 2 ] || die "usage: down RUNDIR HOST"; cmd_down "$@" ;;
  down-all) [ $# -eq 1 ] || die "usage: down-all RUNDIR"; cmd_down_all "$@" ;;
  rm) [ $# -eq 1 ] || die "usage: rm RUNDIR"; cmd_rm "$@" ;;
  gc) cmd_gc ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2 ;;
esac
