#!/usr/bin/env bash
# Stops and removes the etcd-rescue agent installed by install-agent.sh: its unit, program
# files and, with --purge, its config (/etc/etcd-rescue) and state (/var/lib/etcd-rescue-agent).
# Never touches etcd: not its units, env files, data dirs, nor anything the agent wrote for it.
#
# usage: uninstall-agent.sh [--prefix /opt/etcd-rescue] [--purge]
set -euo pipefail

unit_name=etcd-rescue-agent.service
unit_path=/etc/systemd/system/$unit_name
config_dir=/etc/etcd-rescue
state_dir=/var/lib/etcd-rescue-agent

die() { echo "uninstall-agent: $*" >&2; exit 1; }
say() { echo "uninstall-agent: $*"; }

prefix=/opt/etcd-rescue purge=no
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=${2:?--prefix needs a dir}; shift 2 ;;
    --purge) purge=yes; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ "$(id -u)" = 0 ] || die "must run as root"
case "$prefix" in /*) ;; *) die "--prefix must be an absolute path: $prefix" ;; esac

if systemctl cat "$unit_name" >/dev/null 2>&1; then
  systemctl disable --now "$unit_name" >/dev/null 2>&1 || systemctl stop "$unit_name" || true
fi
rm -f "$unit_path"
systemctl daemon-reload
rm -f "$prefix/bin/etcd-rescue-agent"
rm -rf "$prefix/lib/agent"
# The JIT directives serve the coordinator too when it was unpacked into the same prefix.
if [ ! -d "$prefix/lib/coordinator" ]; then
  rm -f "$prefix/lib/jvm/compiler-directives.json"
  rmdir "$prefix/lib/jvm" 2>/dev/null || true
fi
# The prefix may also hold the coordinator: remove only dirs left empty.
rmdir "$prefix/lib" "$prefix/bin" "$prefix" 2>/dev/null || true
say "removed $unit_name and $prefix/{bin/etcd-rescue-agent,lib/agent,lib/jvm}"

# Removes DIR's content and then DIR (which may be a mount point that cannot go itself).
remove_tree() {
  find "$1" -mindepth 1 -delete
  rmdir "$1" 2>/dev/null || true
}
if [ "$purge" = yes ]; then
  [ -d "$config_dir" ] && remove_tree "$config_dir"
  [ -d "$state_dir" ] && remove_tree "$state_dir"
  say "purged $config_dir and $state_dir"
else
  say "kept $config_dir (config, certificates) and $state_dir (journal, audit log): --purge removes them"
fi
