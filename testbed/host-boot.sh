#!/usr/bin/env bash
# PID 1 of a testbed host's new PID + mount + UTS namespaces (started by testbed.sh up through
# unshare): makes the host's private view of the machine, then execs systemd. The order and the
# reasons come from /work/shared/TESTBED.md; every step that could touch the real machine's files
# comes after the step that hides them. Any failure stops the boot before systemd runs.
#
# usage: host-boot.sh HOST_DIR HOST_NAME CGROUP_NAME [ETCD_BIN_DIR]
#   HOST_DIR      prepared by testbed.sh (etc-upper, etc-work, unit-dir, default, etcd-data, ...)
#   ETCD_BIN_DIR  optional: a dir with etcd, etcdctl, etcdutl to run instead of Debian's etcd
set -euo pipefail

host_dir=$1 host_name=$2 cgroup_name=$3 etcd_bin_dir=${4:-}

fail() { echo "host-boot($host_name): $*" >&2; exit 1; }

# The mounts below must never reach the real machine.
mount --make-rprivate /

# 1. Private /tmp, /var/tmp and /run. Without them systemd-tmpfiles would clean the machine's /tmp.
for dir in /tmp /var/tmp /run; do
  mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$dir"
  [ "$(stat -f -c %T "$dir")" = tmpfs ] || fail "$dir is not a tmpfs after mounting one"
  [ -z "$(ls -A "$dir")" ] || fail "$dir is not empty after mounting a tmpfs"
done
chmod 0755 /run

# 2. An own cgroup in every writable hierarchy systemd uses, so the hosts' systemds do not share
# /system.slice/etcd.service and cannot act on each other's processes.
for hierarchy in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
  [ -d "$hierarchy" ] || continue
  mkdir -p "$hierarchy/$cgroup_name"
  echo 0 > "$hierarchy/$cgroup_name/cgroup.procs"
done

# 3. Read-only kernel trees. /proc is this PID namespace's own (systemd needs it).
mount -t proc -o nosuid,nodev,noexec proc /proc
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
mount -o remount,bind,ro /sys

# 4. A private /dev with only harmless devices.
mount -t tmpfs -o mode=755,nosuid tmpfs /dev
mknod -m 666 /dev/null c 1 3
mknod -m 666 /dev/zero c 1 5
mknod -m 666 /dev/full c 1 7
mknod -m 666 /dev/random c 1 8
mknod -m 666 /dev/urandom c 1 9
mknod -m 666 /dev/tty c 5 0
# A container's PID 1 writes to the console: let it write into nothing.
mknod -m 600 /dev/console c 1 3
mkdir /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts /dev/pts
ln -s pts/ptmx /dev/ptmx
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr

# 5. /etc as an overlay on the real one, then the host's own dirs over the paths tests and the
# product read and write.
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$host_dir/etc-upper,workdir=$host_dir/etc-work" /etc
bind() { mkdir -p "$2"; mount --bind "$1" "$2"; }
bind "$host_dir/unit-dir" /etc/systemd/system
bind "$host_dir/default" /etc/default
bind "$host_dir/etc-etcd-rescue" /etc/etcd-rescue
bind "$host_dir/etcd-data" /var/lib/etcd
bind "$host_dir/agent-state" /var/lib/etcd-rescue-agent
bind "$host_dir/opt" /opt
bind "$host_dir/var-lib-systemd" /var/lib/systemd
bind "$host_dir/journal" /var/log/journal
if [ -n "$etcd_bin_dir" ]; then
  mount --bind "$etcd_bin_dir/etcd" /usr/bin/etcd
  mount --bind "$etcd_bin_dir/etcdctl" /usr/bin/etcdctl
  mount --bind "$etcd_bin_dir" /usr/local/bin
fi
hostname "$host_name"
echo "$host_name" > /etc/hostname
cp "$host_dir/machine-id" /etc/machine-id
# Generators would turn the machine's fstab, gettys and init scripts into units.
mkdir -p /etc/systemd/system-generators
for generator in /lib/systemd/system-generators/*; do
  ln -sf /dev/null "/etc/systemd/system-generators/$(basename "$generator")"
done

# 6. The masks (units reaching the real machine) and testbed.target are written by testbed.sh
# into the unit dir bound above.
[ -e /etc/systemd/system/testbed.target ] || fail "testbed.target missing from $host_dir/unit-dir"

# 7. systemd, with nothing of the caller's environment.
exec env -i container=other LANG=C.UTF-8 \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  /lib/systemd/systemd --system --unit=testbed.target
