#!/usr/bin/env bash
# Unpacks etcd, etcdctl and etcdutl 3.5.16 from Debian 13 (trixie) packages into
# <repo>/.tools/etcd-3.5.16/bin without installing anything: apt runs with a private sources
# folder and private lists, so the machine's apt state is never touched, and apt still checks
# the archive signature. Idempotent: does nothing when the binaries are there and run.
set -euo pipefail

version=3.5.16
package_version=3.5.16-4
repo_root=$(cd "$(dirname "$0")/.." && pwd)
dest="$repo_root/.tools/etcd-$version"
machine_sources=/etc/apt/sources.list.d/debian.sources
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

if [ -x "$dest/bin/etcdutl" ] && "$dest/bin/etcdutl" version 2>/dev/null | grep "etcdutl version: $version" >/dev/null \
   && "$dest/bin/etcd" --version 2>/dev/null | grep "etcd Version: $version" >/dev/null; then
  echo "etcd $version already in $dest"
  exit 0
fi

[ -r "$machine_sources" ] || { echo "error: $machine_sources not found: cannot tell which Debian mirror to use" >&2; exit 1; }
[ -r "$keyring" ] || { echo "error: $keyring not found (package debian-archive-keyring)" >&2; exit 1; }
# The first URIs of the machine's sources that serve the main archive (not debian-security).
uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$machine_sources")
[ -n "$uri" ] || { echo "error: no URIs line for the main archive in $machine_sources" >&2; exit 1; }

work="$repo_root/.tools/apt-trixie"
rm -rf "$work" "$dest.partial"
mkdir -p "$work/sources" "$work/lists/partial" "$work/archives/partial" "$dest.partial"
cat > "$work/sources/trixie.sources" <<SOURCES
Types: deb
URIs: $uri
Suites: trixie
Components: main
Signed-By: $keyring
SOURCES

apt_private=(
  -o "Dir::Etc::sourcelist=/dev/null"
  -o "Dir::Etc::sourceparts=$work/sources"
  -o "Dir::State::Lists=$work/lists"
  -o "Dir::Cache=$work/cache"
  -o "Dir::Cache::archives=$work/archives"
  -o "Debug::NoLocking=1"
  # The download folder belongs to root, not to apt's unprivileged _apt user.
  -o "APT::Sandbox::User=root"
)
echo "fetching etcd $package_version from $uri (suite trixie) into $dest"
apt-get "${apt_private[@]}" -q update
(cd "$work/archives" && apt-get "${apt_private[@]}" -q download "etcd-server=$package_version" "etcd-client=$package_version")

for deb in "$work"/archives/etcd-server_*.deb "$work"/archives/etcd-client_*.deb; do
  dpkg -x "$deb" "$dest.partial/root"
done
mkdir -p "$dest.partial/bin"
for tool in etcd etcdctl etcdutl; do
  # usr/bin only: the server package also ships an init script named etcd.
  found="$dest.partial/root/usr/bin/$tool"
  [ -x "$found" ] || { echo "error: usr/bin/$tool not found in the unpacked packages" >&2; exit 1; }
  cp "$found" "$dest.partial/bin/$tool"
done
rm -rf "$dest.partial/root" "$dest"
mv "$dest.partial" "$dest"
rm -rf "$work"
"$dest/bin/etcd" --version | sed -n 1p
"$dest/bin/etcdutl" version | sed -n 1p
