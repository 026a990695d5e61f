#!/usr/bin/env bash
# Installs the etcd-rescue agent on this etcd host and starts it under systemd.
#
# usage: install-agent.sh --config FILE --tls-dir DIR [--prefix /opt/etcd-rescue] [--from DIR]
#   --config   the agent.yaml for this host (format: docs/architecture.md); installed as
#              /etc/etcd-rescue/agent.yaml
#   --tls-dir  a dir with ca.pem, agent.pem and agent-key.pem (this host's certificate);
#              installed into /etc/etcd-rescue/tls
#   --prefix   where the program goes (bin/, lib/agent/); default /opt/etcd-rescue
#   --from     the unpacked distribution (etcd-rescue-<version>.tar.gz: bin/, lib/agent/, deploy/), or a
#              source tree after `mvn -B -DskipTests package` (agent/target/lib/, deploy/);
#              default: the one holding this script
#
# Never overwrites a config or certificate that differs from the new one: the old file is moved
# aside to <file>.replaced-<timestamp> and the script says so. Run it again to upgrade.
set -euo pipefail

unit_name=etcd-rescue-agent.service
unit_path=/etc/systemd/system/$unit_name
config_dir=/etc/etcd-rescue
state_dir=/var/lib/etcd-rescue-agent
default_prefix=/opt/etcd-rescue

die() { echo "install-agent: $*" >&2; exit 1; }
say() { echo "install-agent: $*"; }

config="" tls_dir="" prefix=$default_prefix from=""
from_default=$(cd "$(dirname "$0")/.." && pwd)
while [ $# -gt 0 ]; do
  case "$1" in
    --config) config=${2:?--config needs a file}; shift 2 ;;
    --tls-dir) tls_dir=${2:?--tls-dir needs a dir}; shift 2 ;;
    --prefix) prefix=${2:?--prefix needs a dir}; shift 2 ;;
    --from) from=${2:?--from needs a dir}; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
from=${from:-$from_default}

[ "$(id -u)" = 0 ] || die "must run as root (installs a systemd unit and files under /etc)"
[ -n "$config" ] || die "--config FILE is required (the agent.yaml for this host)"
[ -n "$tls_dir" ] || die "--tls-dir DIR is required (ca.pem, agent.pem, agent-key.pem)"
[ -f "$config" ] || die "no config file $config"
for file in ca.pem agent.pem agent-key.pem; do
  [ -f "$tls_dir/$file" ] || die "$tls_dir/$file is missing"
done
case "$prefix" in /*) ;; *) die "--prefix must be an absolute path: $prefix" ;; esac
command -v systemctl >/dev/null || die "systemctl not found: the agent runs as a systemd service"
command -v java >/dev/null || die "java not found: install a Java 17+ runtime (e.g. apt-get install openjdk-17-jre-headless)"
java_version=$(java -version 2>&1 | awk -F'"' '/version/ { print $2; exit }')
[ "${java_version%%.*}" -ge 17 ] 2>/dev/null || die "java $java_version found, the agent needs Java 17+"

# The distribution's layout (lib/agent, bin/) or a source tree's (agent/target/lib, deploy/bin).
jar_dir="" launcher=""
for layout in "lib/agent bin" "agent/target/lib deploy/bin"; do
  read -r jars bin <<< "$layout"
  set -- "$jars" "$bin"
  if compgen -G "$from/$1/*.jar" >/dev/null; then
    jar_dir=$from/$1 launcher=$from/$2/etcd-rescue-agent
    break
  fi
done
[ -n "$jar_dir" ] || die "no agent jars in $from/lib/agent (distribution) nor $from/agent/target/lib (source tree: run mvn -B -DskipTests package first)"
unit_source=$from/deploy/systemd/$unit_name
[ -f "$launcher" ] || die "no launcher $launcher"
[ -f "$unit_source" ] || die "no unit $unit_source"

stamp=$(date +%Y%m%d-%H%M%S)
# Puts SOURCE at TARGET with MODE; a different file already there is moved aside, never lost.
install_keeping_old() {
  local source=$1 target=$2 mode=$3
  if [ -e "$target" ]; then
    if cmp -s "$source" "$target"; then
      chmod "$mode" "$target"
      return
    fi
    mv "$target" "$target.replaced-$stamp"
    say "moved the existing $target aside to $target.replaced-$stamp"
  fi
  install -m "$mode" "$source" "$target"
}

say "installing the agent from $jar_dir into $prefix"
mkdir -p "$prefix/bin" "$prefix/lib"
rm -rf "$prefix/lib/agent.new"
mkdir "$prefix/lib/agent.new"
cp "$jar_dir"/*.jar "$prefix/lib/agent.new/"
rm -rf "$prefix/lib/agent.old"
[ -d "$prefix/lib/agent" ] && mv "$prefix/lib/agent" "$prefix/lib/agent.old"
mv "$prefix/lib/agent.new" "$prefix/lib/agent"
rm -rf "$prefix/lib/agent.old"
install -m 0755 "$launcher" "$prefix/bin/etcd-rescue-agent"
# The JIT directives the launcher passes to the JVM (C1 for all but SHA-256: see the file).
directives=""
for candidate in "$from/lib/jvm/compiler-directives.json" "$from/deploy/jvm/compiler-directives.json"; do
  if [ -f "$candidate" ]; then directives=$candidate; break; fi
done
[ -n "$directives" ] || die "no compiler-directives.json in $from/lib/jvm (distribution) nor $from/deploy/jvm (source tree)"
mkdir -p "$prefix/lib/jvm"
install -m 0644 "$directives" "$prefix/lib/jvm/compiler-directives.json"

unit_tmp=$(mktemp)
trap 'rm -f "$unit_tmp"' EXIT
sed "s#/opt/etcd-rescue/bin/#$prefix/bin/#" "$unit_source" > "$unit_tmp"
install_keeping_old "$unit_tmp" "$unit_path" 0644

mkdir -p "$config_dir/tls"
chmod 0755 "$config_dir"
chmod 0700 "$config_dir/tls"
install_keeping_old "$config" "$config_dir/agent.yaml" 0600
install_keeping_old "$tls_dir/ca.pem" "$config_dir/tls/ca.pem" 0644
install_keeping_old "$tls_dir/agent.pem" "$config_dir/tls/agent.pem" 0644
install_keeping_old "$tls_dir/agent-key.pem" "$config_dir/tls/agent-key.pem" 0600
mkdir -p "$state_dir"
chmod 0700 "$state_dir"

systemctl daemon-reload
systemctl enable "$unit_name" >/dev/null 2>&1 || die "systemctl enable $unit_name failed"
# restart, not start: an agent already running must pick up the new jars and config.
systemctl restart "$unit_name" || die "systemctl restart $unit_name failed: see journalctl -u $unit_name"

# The JVM takes a few seconds (more on a busy host: the unit's JVM starts without C1, interpreting
# until C2 compiles): wait until it accepts connections on its listen address.
listen=$(sed -n 's/^listen:[[:space:]]*\([^[:space:]#]*\).*/\1/p' "$config_dir/agent.yaml" | tr -d "\"'")
host=${listen%:*} port=${listen##*:}
host=${host#[}; host=${host%]}
for _ in $(seq 1 180); do
  if ! systemctl is-active --quiet "$unit_name"; then
    systemctl status --no-pager --lines=20 "$unit_name" >&2 || true
    die "$unit_name is not running (see above, or journalctl -u $unit_name)"
  fi
  if [ -n "$host" ] && timeout 1 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null; then
    say "$unit_name is active and listening on $listen"
    exit 0
  fi
  sleep 0.5
done
die "$unit_name is active but does not accept connections on '$listen' after 90 s: see journalctl -u $unit_name"
