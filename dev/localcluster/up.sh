#!/usr/bin/env bash
# Start eksa-metrics' local control plane (loopback only) and wait until it is healthy.
# Idempotent: what already runs is kept, what is missing is started. Tear down: down.sh.
#
# Environment:
#   EKSA_LOCALCLUSTER_DIR      state dir (default /tmp/eksa-metrics-localcluster)
#   EKSA_LOCALCLUSTER_WORKERS  number of worker nodes (default 1); worker N = BLOCK.(2+N)
#   EKSA_LOCALCLUSTER_ADDRESS_BLOCK  127.X.Y of the nodes (default 127.0.0); any other block
#                              runs the cluster in a network namespace of its own (README.md)
#   EKSA_LOCALCLUSTER_TIMEOUT  seconds to wait for each component (default 120)
#   EKSA_METRICS_CACHE         toolchain cache (see toolchain/env.sh)
#
# Prints the admin kubeconfig path, the nodes and their IPs, and the endpoints.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=../toolchain/env.sh
source "$LC_REPO/dev/toolchain/env.sh"

t_start=$(date +%s.%N)
trap 'rc=$?; if ((rc != 0)); then lc_log "up.sh failed; what it started is left running for inspection (logs in $LC_STATE/logs); localcluster/down.sh stops it"; fi' EXIT
timeout=${EKSA_LOCALCLUSTER_TIMEOUT:-120}
lc_validate_settings
[ "$(id -u)" = 0 ] || lc_die "must run as root (network and mount namespaces, container uids)"

# ---- prerequisites ----
need=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubectl etcd kube-rbac-proxy go)
missing=()
for b in "${need[@]}"; do command -v "$b" >/dev/null || missing+=("$b"); done
((${#missing[@]} == 0)) || lc_die "not on PATH: ${missing[*]} (run dev/toolchain/setup.sh first)"
# Debian tools: haproxy (the proxy pods), openssl (PKI), curl (health checks), iptables
# (the real kube-proxy, inside its own netns), iproute2 (ip netns), util-linux (nsenter).
debs=()
for pair in haproxy:haproxy openssl:openssl curl:curl iptables:iptables ip:iproute2 nsenter:util-linux; do
  cmd=${pair%%:*}
  PATH=$PATH:/usr/sbin:/sbin command -v "$cmd" >/dev/null || debs+=("${pair#*:}")
done
if ((${#debs[@]})); then
  lc_log "installing Debian packages: ${debs[*]}"
  apt-get install -y -qq --no-install-recommends "${debs[@]}" >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${debs[@]}" >/dev/null; } ||
    lc_die "could not install ${debs[*]}"
fi
export PATH=$PATH:/usr/sbin:/sbin
k8s_version=$(kube-apiserver --version | awk '{print $2}')

mkdir -p "$LC_STATE"
chmod 700 "$LC_STATE"
# One up.sh/down.sh at a time per state dir.
exec 9>"$LC_STATE/lock"
flock -w 600 9 || lc_die "another up.sh/down.sh holds $LC_STATE/lock"
mkdir -p "$LC_STATE/logs" "$LC_STATE/run" "$LC_STATE/kubeconfigs" "$LC_STATE/pods"
pki=$LC_STATE/pki
run=$LC_STATE/run
logs=$LC_STATE/logs

# The block decides where every process runs: switching it needs a down.sh first.
if [ -f "$run/block" ] && [ "$(cat "$run/block")" != "$LC_BLOCK" ]; then
  lc_die "this cluster runs with address block $(cat "$run/block"), not $LC_BLOCK: run down.sh first"
fi
echo "$LC_BLOCK" >"$run/block"

mapfile -t nodes < <(lc_nodes)
node_names=()
for n in "${nodes[@]}"; do node_names+=("${n%% *}"); done

# ---- the kubelet binary (our Go code), built in the background meanwhile ----
kubelet_src=$LC_HERE/kubelet
kubelet_hash=$(cd "$kubelet_src" && cat go.mod go.sum ./*.go | sha256sum | cut -c1-16)
kubelet_bin=$EKSA_METRICS_CACHE/localcluster/eksa-localkubelet-$kubelet_hash
build_pid=
if [ ! -x "$kubelet_bin" ]; then
  mkdir -p "$(dirname "$kubelet_bin")"
  lc_log "building the process kubelet -> $kubelet_bin (background)"
  (cd "$kubelet_src" && GOFLAGS=-mod=readonly CGO_ENABLED=0 go build -trimpath -o "$kubelet_bin.tmp" . &&
    mv "$kubelet_bin.tmp" "$kubelet_bin") >"$logs/kubelet-build.log" 2>&1 9>&- &
  build_pid=$!
fi

# ---- PKI and kubeconfigs ----
"$LC_HERE/pki.sh" "$LC_STATE" "$LC_API_IP" "${node_names[@]}"

# kubeconfig FILE USER CERTBASE [SERVER]: the components' talk to 127.0.0.1:6443 (in the
# cluster's namespace), the admin's to LC_API_SERVER (from the caller's).
mk_kubeconfig() {
  local f=$1 user=$2 certbase=$3 server=${4:-https://127.0.0.1:6443}
  [ -s "$f" ] && grep -qxF "    server: $server" "$f" && return 0
  kubectl config --kubeconfig="$f.tmp" set-cluster "$LC_CLUSTER_NAME" --server="$server" \
    --certificate-authority="$pki/ca.crt" --embed-certs=true >/dev/null
  kubectl config --kubeconfig="$f.tmp" set-credentials "$user" --client-certificate="$certbase.crt" \
    --client-key="$certbase.key" --embed-certs=true >/dev/null
  kubectl config --kubeconfig="$f.tmp" set-context "$user@$LC_CLUSTER_NAME" --cluster="$LC_CLUSTER_NAME" \
    --user="$user" >/dev/null
  kubectl config --kubeconfig="$f.tmp" use-context "$user@$LC_CLUSTER_NAME" >/dev/null
  chmod 600 "$f.tmp"
  mv "$f.tmp" "$f"
}
mk_kubeconfig "$LC_KUBECONFIG" kubernetes-admin "$pki/admin" "$LC_API_SERVER"
mk_kubeconfig "$LC_STATE/kubeconfigs/controller-manager.conf" system:kube-controller-manager "$pki/controller-manager"
mk_kubeconfig "$LC_STATE/kubeconfigs/scheduler.conf" system:kube-scheduler "$pki/scheduler"
mk_kubeconfig "$LC_STATE/kubeconfigs/kube-proxy.conf" system:kube-proxy "$pki/kube-proxy"
for n in "${node_names[@]}"; do
  mk_kubeconfig "$LC_STATE/kubeconfigs/kubelet-$n.conf" "system:node:$n" "$pki/kubelet-$n"
done

# ---- process helpers ----
# start NAME CMD...: start CMD in its own session unless NAME already runs with the same
# command line (a changed command line, e.g. a rebuilt kubelet, restarts it).
start() {
  local name=$1
  shift
  local pf=$run/$name.pid
  local cmd_hash
  cmd_hash=$(printf '%s\n' "$@" | sha256sum | cut -c1-16)
  if lc_alive "$pf"; then
    if [ "$(cat "$run/$name.cmd" 2>/dev/null)" = "$cmd_hash" ]; then
      lc_log "$name: already running (pid $(lc_pid "$pf"))"
      return 0
    fi
    lc_log "$name: command line changed, restarting it"
    lc_stop "$pf" 30
  fi
  echo "$cmd_hash" >"$run/$name.cmd"
  printf '\n==== %s starting: %s\n' "$(date -u +%FT%TZ)" "$*" >>"$logs/$name.log"
  # In its own session, with no descriptor of ours but the log (a caller's pipe must not be
  # held open by a daemon).
  (
    for fd in "/proc/$BASHPID"/fd/*; do
      fd=${fd##*/}
      if ((fd > 2)); then eval "exec $fd>&-"; fi
    done
    exec setsid "$@"
  ) >>"$logs/$name.log" 2>&1 </dev/null &
  local pid=$!
  sleep 0.05
  local st
  st=$(lc_starttime "$pid") || lc_die "$name exited at once; see $logs/$name.log"
  echo "$pid $st" >"$pf"
  lc_log "$name: started (pid $pid, log $logs/$name.log)"
}

# supervised NAME CMD...: start CMD under supervise.sh, which starts it again whenever it exits,
# as a kubelet restarts a static pod (README "Restarts"). Both run in the cluster's namespace; the
# pid file is the supervisor's (stopping it stops the component for good), run/NAME.child the
# component's.
supervised() {
  local name=$1
  shift
  start "$name" "${LC_IN[@]}" bash "$LC_HERE/supervise.sh" "$name" "$@"
}

# restarts NAME: how many times supervise.sh has restarted NAME (0 for an unsupervised process).
restarts() { cat "$run/$1.restarts" 2>/dev/null || echo 0; }

# wait_for NAME PIDFILE CMD...: poll CMD until it succeeds; fail if the process dies (or, when
# supervised, exits and is restarted meanwhile: a component that exits while starting is broken).
wait_for() {
  local name=$1 pf=$2
  shift 2
  local deadline=$((SECONDS + timeout)) restarts0
  restarts0=$(restarts "$name")
  until "$@" >/dev/null 2>&1; do
    if { [ -n "$pf" ] && ! lc_alive "$pf"; } || (($(restarts "$name") > restarts0)); then
      tail -n 30 "$logs/$name.log" >&2 || true
      lc_die "$name died; see $logs/$name.log"
    fi
    ((SECONDS < deadline)) || { tail -n 30 "$logs/$name.log" >&2 || true; lc_die "$name not healthy after ${timeout}s"; }
    sleep 0.5
  done
}

# A port must be free on 127.0.0.1 (and on the wildcard addresses) unless our own process holds
# it. The same port on another loopback address is no clash: the proxy pods bind NODE_IP:10257
# (127.0.0.2 here) in front of kube-controller-manager's 127.0.0.1:10257, as on a real node.
check_port() {
  local port=$1 name=$2 holders
  lc_alive "$run/$name.pid" && return 0
  holders=$("${LC_IN[@]}" ss -Hltnp "sport = :$port" | awk '$4 ~ /^(127\.0\.0\.1|0\.0\.0\.0|\*|\[::\]|\[::ffff:127\.0\.0\.1\]):[0-9]+$/')
  if [ -n "$holders" ]; then
    lc_die "port $port (for $name) is already in use by another process: $(head -1 <<<"$holders")"
  fi
}

admin_curl() { "${LC_IN[@]}" curl -fsS --max-time 5 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "$@"; }

# ensure_netns NAME: a network namespace with lo up.
ensure_netns() {
  if ! ip netns exec "$1" true 2>/dev/null; then
    # absent, or a leftover file that is no namespace mount (e.g. from another mount namespace)
    ip netns delete "$1" 2>/dev/null || rm -f "/run/netns/$1"
    ip netns add "$1"
    lc_log "created network namespace $1"
  fi
  ip netns exec "$1" ip link set lo up
}

# ---- the cluster's own network namespace (address blocks other than 127.0.0) ----
# Every process below runs in it through LC_IN, as on a node of its own: the components on its
# 127.0.0.1, the proxy pods on the node IPs of the block (all of 127/8 is local there too).
if [ -n "$LC_CLUSTER_NETNS" ]; then
  ensure_netns "$LC_CLUSTER_NETNS"
  echo "$LC_CLUSTER_NETNS" >"$run/cluster-netns"
fi

# ---- etcd ----
check_port 2379 etcd
check_port 2381 etcd
mkdir -p "$LC_STATE/etcd"
chmod 700 "$LC_STATE/etcd"
supervised etcd etcd --name="$LC_CP_NODE" --data-dir="$LC_STATE/etcd" \
  --listen-client-urls=https://127.0.0.1:2379 --advertise-client-urls=https://127.0.0.1:2379 \
  --listen-peer-urls=http://127.0.0.1:2380 --initial-advertise-peer-urls=http://127.0.0.1:2380 \
  --initial-cluster="$LC_CP_NODE=http://127.0.0.1:2380" \
  --listen-metrics-urls=http://127.0.0.1:2381 \
  --cert-file="$pki/etcd/server.crt" --key-file="$pki/etcd/server.key" \
  --client-cert-auth=true --trusted-ca-file="$pki/etcd/ca.crt" \
  --snapshot-count=10000 --log-level=warn
wait_for etcd "$run/etcd.pid" "${LC_IN[@]}" curl -fsS --max-time 2 http://127.0.0.1:2381/health

# ---- kube-apiserver ----
check_port 6443 kube-apiserver
supervised kube-apiserver kube-apiserver \
  --advertise-address=127.0.0.1 --bind-address=127.0.0.1 --secure-port=6443 \
  --allow-privileged=true \
  --authorization-mode=Node,RBAC \
  --client-ca-file="$pki/ca.crt" \
  --enable-admission-plugins=NodeRestriction \
  --enable-bootstrap-token-auth=true \
  --etcd-servers=https://127.0.0.1:2379 --etcd-cafile="$pki/etcd/ca.crt" \
  --etcd-certfile="$pki/apiserver-etcd-client.crt" --etcd-keyfile="$pki/apiserver-etcd-client.key" \
  --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" \
  --kubelet-client-key="$pki/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types=InternalIP,Hostname \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
  --service-cluster-ip-range="$LC_SERVICE_CIDR" \
  --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
  --profiling=false
wait_for kube-apiserver "$run/kube-apiserver.pid" admin_curl https://127.0.0.1:6443/readyz

# ---- kube-controller-manager and kube-scheduler, as kubeadm runs them ----
check_port 10257 kube-controller-manager
kcm_conf=$LC_STATE/kubeconfigs/controller-manager.conf
supervised kube-controller-manager kube-controller-manager \
  --bind-address=127.0.0.1 --secure-port=10257 \
  --kubeconfig="$kcm_conf" --authentication-kubeconfig="$kcm_conf" --authorization-kubeconfig="$kcm_conf" \
  --client-ca-file="$pki/ca.crt" \
  --cluster-name="$LC_CLUSTER_NAME" \
  --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key" \
  --controllers='*,bootstrapsigner,tokencleaner' \
  --leader-elect=true \
  --root-ca-file="$pki/ca.crt" \
  --service-account-private-key-file="$pki/sa.key" \
  --service-cluster-ip-range="$LC_SERVICE_CIDR" \
  --allocate-node-cidrs=true --cluster-cidr="$LC_POD_CIDR" \
  --use-service-account-credentials=true
check_port 10259 kube-scheduler
sched_conf=$LC_STATE/kubeconfigs/scheduler.conf
supervised kube-scheduler kube-scheduler \
  --bind-address=127.0.0.1 --secure-port=10259 \
  --kubeconfig="$sched_conf" --authentication-kubeconfig="$sched_conf" --authorization-kubeconfig="$sched_conf" \
  --leader-elect=true
wait_for kube-controller-manager "$run/kube-controller-manager.pid" "${LC_IN[@]}" curl -fsSk --max-time 2 https://127.0.0.1:10257/healthz
wait_for kube-scheduler "$run/kube-scheduler.pid" "${LC_IN[@]}" curl -fsSk --max-time 2 https://127.0.0.1:10259/healthz

# nsfwd is a mode of the kubelet binary.
if [ -n "$build_pid" ]; then
  wait "$build_pid" || { cat "$logs/kubelet-build.log" >&2; lc_die "building the kubelet failed"; }
fi

# ---- forwarders from the caller's namespace into the cluster's ----
# The apiserver at BLOCK.1:6443 and each node IP's ports at the same address inside, where the
# proxy pods (and the kubelet API) listen. The components' own 127.0.0.1 ports stay inside.
if [ -n "$LC_CLUSTER_NETNS" ]; then
  fwd_args=(--in "$LC_API_IP:6443=127.0.0.1:6443")
  for n in "${nodes[@]}"; do
    read -r _ ip _ <<<"$n"
    for port in "${LC_NODE_PORTS[@]}"; do fwd_args+=(--in "$ip:$port=$ip:$port"); done
  done
  start fwd "$kubelet_bin" nsfwd --netns "/run/netns/$LC_CLUSTER_NETNS" "${fwd_args[@]}"
  wait_for fwd "$run/fwd.pid" lc_kubectl get --raw /readyz
fi

# The binding kubeadm creates for its kubeadm:cluster-admins group (here: the apiserver's
# kubelet client certificate, so `kubectl logs` passes the kubelet's authorization).
lc_kubectl create clusterrolebinding kubeadm:cluster-admins --clusterrole=cluster-admin \
  --group=kubeadm:cluster-admins --dry-run=client -o yaml | lc_kubectl apply -f - >/dev/null

# ---- the pod network (README "The pod network") ----
# One namespace with one bridge; the kubelet attaches each non-hostNetwork pod's veth to it.
# The nodes' gateways are added below, once kube-controller-manager has allocated podCIDRs.
ensure_netns "$LC_PODNET_NETNS"
echo "$LC_PODNET_NETNS" >"$run/podnet-netns"
podnet=(ip -n "$LC_PODNET_NETNS")
"${podnet[@]}" link show "$LC_PODNET_BRIDGE" >/dev/null 2>&1 || "${podnet[@]}" link add "$LC_PODNET_BRIDGE" type bridge
"${podnet[@]}" link set "$LC_PODNET_BRIDGE" up
ip netns exec "$LC_PODNET_NETNS" sysctl -qw net.ipv4.ip_forward=1

# ---- the process kubelet, playing every node ----
check_port 10250 kubelet
kubelet_args=(kubelet --state-dir="$LC_STATE" --kubelet-version="$k8s_version"
  --apiserver-host=127.0.0.1 --apiserver-port=6443 --client-ca-file="$pki/ca.crt"
  --pod-network-netns="$LC_PODNET_NETNS" --pod-bridge="$LC_PODNET_BRIDGE"
  --emulated-registries="$LC_REGISTRIES_FILE")
for n in "${nodes[@]}"; do
  read -r name ip role <<<"$n"
  spec="$name,$ip,$LC_STATE/kubeconfigs/kubelet-$name.conf"
  [ "$role" = control-plane ] && spec+=",control-plane"
  kubelet_args+=(--node="$spec")
done
start kubelet "${LC_IN[@]}" "$kubelet_bin" "${kubelet_args[@]}"

# ---- kube-proxy: the real binary, in a network namespace of its own ----
# Its iptables rules go into that namespace only; nsfwd makes its metrics reachable on the
# node's (the caller's or the cluster's namespace) 127.0.0.1:10249 and the apiserver reachable
# from inside on 127.0.0.1:6443.
check_port 10249 nsfwd
ensure_netns "$LC_NETNS"
echo "$LC_NETNS" >"$run/netns"
cat >"$LC_STATE/kube-proxy.yaml.new" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $LC_STATE/kubeconfigs/kube-proxy.conf
hostnameOverride: $LC_CP_NODE
mode: iptables
clusterCIDR: $LC_POD_CIDR
bindAddress: 0.0.0.0
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOF
# kube-proxy exits when its config file changes: only replace it when the content differs.
if cmp -s "$LC_STATE/kube-proxy.yaml.new" "$LC_STATE/kube-proxy.yaml"; then
  rm "$LC_STATE/kube-proxy.yaml.new"
else
  mv "$LC_STATE/kube-proxy.yaml.new" "$LC_STATE/kube-proxy.yaml"
fi
start nsfwd "${LC_IN[@]}" "$kubelet_bin" nsfwd --netns "/run/netns/$LC_NETNS" \
  --in 127.0.0.1:10249=127.0.0.1:10249 --out 127.0.0.1:6443=127.0.0.1:6443
supervised kube-proxy ip netns exec "$LC_NETNS" kube-proxy --config="$LC_STATE/kube-proxy.yaml"

# Nodes of workers beyond EKSA_LOCALCLUSTER_WORKERS (from an earlier, larger run) go away.
for n in $(lc_kubectl get nodes -o name 2>/dev/null | sed -n 's|^node/\(eksa-worker-[0-9]*\)$|\1|p'); do
  printf '%s\n' "${node_names[@]}" | grep -qx "$n" || { lc_log "deleting stale node $n"; lc_kubectl delete node "$n" --wait=false >/dev/null; }
done

all_nodes_ready() {
  local n
  for n in "${node_names[@]}"; do
    [ "$(lc_kubectl get node "$n" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ] || return 1
  done
}
wait_for kubelet "$run/kubelet.pid" all_nodes_ready
# Every node's gateway: the first address of its podCIDR, on the bridge.
node_cidrs() {
  local n
  for n in "${node_names[@]}"; do
    lc_kubectl get node "$n" -o jsonpath='{.spec.podCIDR}{"\n"}' | grep . || return 1
  done
}
wait_for kube-controller-manager "$run/kube-controller-manager.pid" node_cidrs
for cidr in $(node_cidrs); do
  IFS=./ read -r a b c d bits <<<"$cidr"
  gw=$(((a << 24 | b << 16 | c << 8 | d) + 1))
  "${podnet[@]}" addr replace "$((gw >> 24 & 255)).$((gw >> 16 & 255)).$((gw >> 8 & 255)).$((gw & 255))/$bits" dev "$LC_PODNET_BRIDGE"
done
# What kubeadm's mark-control-plane phase does (a kubelet may not set node-role labels).
lc_kubectl label node "$LC_CP_NODE" node-role.kubernetes.io/control-plane= \
  node.kubernetes.io/exclude-from-external-load-balancers= --overwrite >/dev/null
# The service-account machinery the proxy pods rely on.
root_ca_published() { lc_kubectl -n default get configmap kube-root-ca.crt; }
wait_for kube-controller-manager "$run/kube-controller-manager.pid" root_ca_published

# kube-proxy reports healthy once its Node exists and it has synced its rules.
wait_for kube-proxy "$run/kube-proxy.pid" ip netns exec "$LC_NETNS" curl -fsS --max-time 2 http://127.0.0.1:10256/healthz
wait_for nsfwd "$run/nsfwd.pid" "${LC_IN[@]}" curl -fsS --max-time 2 http://127.0.0.1:10249/metrics

# Kubelet binaries of earlier sources that no process runs any more.
for f in "$EKSA_METRICS_CACHE"/localcluster/eksa-localkubelet-*; do
  [ -f "$f" ] && [ "$f" != "$kubelet_bin" ] || continue
  in_use=false
  for exe in /proc/[0-9]*/exe; do
    [ "$(readlink "$exe" 2>/dev/null)" = "$f" ] && { in_use=true; break; }
  done
  $in_use || rm -f "$f"
done

elapsed=$(awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
{
  echo
  echo "eksa-metrics localcluster is up (Kubernetes $k8s_version) in ${elapsed}s"
  echo "  kubeconfig (cluster-admin):  $LC_KUBECONFIG"
  echo "      export KUBECONFIG=$LC_KUBECONFIG"
  echo "  apiserver:                   $LC_API_SERVER"
  echo "  nodes:"
  for n in "${nodes[@]}"; do
    read -r name ip role <<<"$n"
    printf '    %-16s InternalIP %-10s %s\n' "$name" "$ip" "$role"
  done
  echo "  loopback-only metrics:       kube-controller-manager https://127.0.0.1:10257/metrics"
  echo "                               kube-scheduler          https://127.0.0.1:10259/metrics"
  echo "                               kube-proxy              http://127.0.0.1:10249/metrics (real kube-proxy in netns $LC_NETNS)"
  echo "                               etcd                    http://127.0.0.1:2381/metrics"
  if [ -n "$LC_CLUSTER_NETNS" ]; then
    echo "  network namespace:           $LC_CLUSTER_NETNS (the loopback-only ports above are in it)"
    echo "  forwarded from the caller's: $LC_API_IP:6443, NODE_IP:{$(IFS=,; echo "${LC_NODE_PORTS[*]}")}"
  fi
  echo "  pod network:                 netns $LC_PODNET_NETNS, bridge $LC_PODNET_BRIDGE (pod IPs reachable from it: ip netns exec $LC_PODNET_NETNS CMD)"
  echo "  state and logs:              $LC_STATE (logs/, pods/<ns>_<pod>/<container>.log; localcluster/logs.sh)"
  echo "  tear down:                   $LC_HERE/down.sh   (add --purge to delete the state dir)"
}
