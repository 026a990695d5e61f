# shellcheck shell=bash
# shellcheck disable=SC2154 # the variables below are the caller's
# A local etcd cluster with an etcd-rescue agent on every host, on testbed hosts (testbed.sh): the
# steps deploy/demo.sh and bench/run.sh share. Sourced, never run. Functions only; the caller sets
#   testbed_sh, etcd_rescue   testbed/testbed.sh and deploy/bin/etcd-rescue
#   cluster, host_count       the cluster's name (also the hosts' prefix) and how many hosts
#   address_prefix            127.X.Y (pick_address_block), host i is 127.X.Y.(i+1)
#   agent_port, heartbeat_ms, election_ms
#   work, logs                the run's files and its logs
# and defines fail MESSAGE (ends the run). boot_hosts sets rundir, install_agents sets dist.

port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# A random 127.X.Y.0/24 block (X, Y in 100..250) where nothing listens on any of the given ports of
# any host.
pick_address_block() {
  local x y host port taken
  for _ in $(seq 1 30); do
    x=$((100 + RANDOM % 151)) y=$((100 + RANDOM % 151)) taken=no
    for host in $(seq 1 "$host_count"); do
      for port in "$@"; do
        if port_open "127.$x.$y.$host" "$port"; then taken=yes; break 2; fi
      done
    done
    if [ $taken = no ]; then echo "127.$x.$y"; return 0; fi
  done
  return 1
}

host_name() { echo "$cluster-$1"; }
address() { echo "$address_prefix.$(($1 + 1))"; }
client_url() { echo "http://$(address "$1"):$2"; }
peer_url() { echo "http://$(address "$1"):$2"; }
endpoints_on_port() {
  local i urls=()
  for i in $(seq 0 $((host_count - 1))); do urls+=("$(client_url "$i" "$1")"); done
  (IFS=,; echo "${urls[*]}")
}
in_host() { local host=$1; shift; "$testbed_sh" exec "$rundir" "$host" "$@"; }

# Runs jobs ("name|command") in parallel, each logged to $logs/WHAT-NAME.log; fails naming every job
# that failed.
run_parallel() {
  local what=$1; shift
  local pids=() names=() entry i failed=""
  for entry in "$@"; do
    names+=("${entry%%|*}")
    bash -c "${entry#*|}" > "$logs/$what-${entry%%|*}.log" 2>&1 &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || failed="$failed ${names[$i]}"
  done
  [ -z "$failed" ] || fail "$what failed on:$failed (see $logs/$what-<host>.log)"
}

# A testbed run (rundir) owned by this shell, and its hosts booted, each with its own systemd.
boot_hosts() {
  local i jobs_up=()
  rundir=$("$testbed_sh" new-run --owner $$ 2>> "$logs/testbed.log") || fail "testbed.sh new-run failed (see $logs/testbed.log)"
  for i in $(seq 0 $((host_count - 1))); do
    jobs_up+=("$(host_name "$i")|'$testbed_sh' up '$rundir' '$(host_name "$i")' '$(address "$i")'")
  done
  run_parallel boot "${jobs_up[@]}"
}

# The recovery's inventory: every host, the old members' client URLs as snapshot sources, the new
# members on ports 22379/22380 (the seed's), or on new_client_port/new_peer_port when the caller sets
# them (2379/2380: a restore in place).
write_inventory() {
  local file=$1 comment=${2:-} i
  {
    [ -z "$comment" ] || echo "# $comment"
    echo "all:"
    echo "  vars:"
    echo "    agent_port: $agent_port"
    echo "    tls_dir: $work/pki"
    echo "  children:"
    echo "    $cluster:"
    echo "      vars:"
    echo "        cluster_token: $cluster-restored"
    echo "        snapshot_endpoints:"
    for i in $(seq 0 $((host_count - 1))); do echo "          - $(client_url "$i" 2379)"; done
    echo "        old_unit: etcd"
    echo "        new_unit: etcd_new"
    echo "        data_dir: /var/lib/etcd/new.etcd"
    echo "        peer_port: ${new_peer_port:-22380}"
    echo "        client_port: ${new_client_port:-22379}"
    echo "        heartbeat_interval_ms: $heartbeat_ms"
    echo "        election_timeout_ms: $election_ms"
    echo "      hosts:"
    for i in $(seq 0 $((host_count - 1))); do
      echo "        $(host_name "$i"):"
      echo "          address: $(address "$i")"
    done
  } > "$file"
}

# A CA in $work/pki and a certificate for the coordinator and for every host of the inventory.
issue_certificates() {
  local inventory=$1
  "$etcd_rescue" pki init --dir "$work/pki" > "$logs/pki-init.log" 2>&1 || fail "pki init failed (see $logs/pki-init.log)"
  "$etcd_rescue" pki issue --dir "$work/pki" --inventory "$inventory" > "$logs/pki-issue.log" 2>&1 \
    || fail "pki issue failed (see $logs/pki-issue.log)"
}

# Unpacks the distribution TARBALL into $work/dist (sets dist) and installs the agent on every host
# with its install-agent.sh, as an operator would: the example agent.yaml with the host's name and
# address (only those differ between hosts), the host's certificates from issue_certificates.
install_agents() {
  local tarball=$1 i host jobs_install=()
  mkdir -p "$work/dist"
  tar -xzf "$tarball" -C "$work/dist"
  dist=$(find "$work"/dist -mindepth 1 -maxdepth 1 -type d -name "etcd-rescue-*" | sort | sed -n 1p)
  dist=${dist%/}
  for i in $(seq 0 $((host_count - 1))); do
    host=$(host_name "$i")
    mkdir -p "$work/agents/$host"
    sed -e "s/^host_name: [^ ]*/host_name: $host/" -e "s/^listen: [^ ]*/listen: $(address "$i"):$agent_port/" \
      "$dist/deploy/examples/agent.yaml" > "$work/agents/$host/agent.yaml"
    jobs_install+=("$host|'$testbed_sh' exec '$rundir' '$host' --timeout 150 -- '$dist/deploy/install-agent.sh' --config '$work/agents/$host/agent.yaml' --tls-dir '$work/pki/agents/$host'")
  done
  run_parallel install-agent "${jobs_install[@]}"
}

# The old cluster: Debian's etcd.service on every host (env file /etc/default/etcd, clients on 2379,
# peers on 2380), started and waited for until every member is healthy (90 s at most).
start_old_cluster() {
  local i host initial_cluster="" healthy=no endpoints
  for i in $(seq 0 $((host_count - 1))); do
    initial_cluster="$initial_cluster${initial_cluster:+,}$(host_name "$i")=$(peer_url "$i" 2380)"
  done
  for i in $(seq 0 $((host_count - 1))); do
    host=$(host_name "$i")
    cat > "$rundir/hosts/$host/default/etcd" <<EOF
ETCD_NAME=$host
ETCD_DATA_DIR=/var/lib/etcd/default
ETCD_LISTEN_PEER_URLS=$(peer_url "$i" 2380)
ETCD_LISTEN_CLIENT_URLS=$(client_url "$i" 2379)
ETCD_INITIAL_ADVERTISE_PEER_URLS=$(peer_url "$i" 2380)
ETCD_ADVERTISE_CLIENT_URLS=$(client_url "$i" 2379)
ETCD_INITIAL_CLUSTER=$initial_cluster
ETCD_INITIAL_CLUSTER_TOKEN=$cluster
ETCD_INITIAL_CLUSTER_STATE=new
ETCD_HEARTBEAT_INTERVAL=$heartbeat_ms
ETCD_ELECTION_TIMEOUT=$election_ms
EOF
    # --no-block: Type=notify waits for quorum, so a blocking start of the first member would hang.
    in_host "$host" -- systemctl start --no-block etcd >> "$logs/old-cluster.log" 2>&1 \
      || fail "systemctl start etcd failed on $host (see $logs/old-cluster.log)"
  done
  endpoints=$(endpoints_on_port 2379)
  for _ in $(seq 1 180); do
    if ETCDCTL_API=3 etcdctl --endpoints="$endpoints" --dial-timeout=3s --command-timeout=10s endpoint health \
        >> "$logs/old-cluster.log" 2>&1; then
      healthy=yes
      break
    fi
    sleep 0.5
  done
  [ $healthy = yes ] || fail "the old cluster did not become healthy in 90 s (see $logs/old-cluster.log)"
}
