# Shared settings and helpers of localcluster/{up,down,selftest,logs}.sh. Sourced, not run.
# shellcheck shell=bash
# shellcheck disable=SC2034 # settings used by the scripts that source this file

LC_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LC_REPO=$(cd "$LC_HERE/../.." && pwd)
LC_STATE=${EKSA_LOCALCLUSTER_DIR:-/tmp/eksa-metrics-localcluster}
LC_WORKERS=${EKSA_LOCALCLUSTER_WORKERS:-1}
# Named after the state dir, so clusters with different state dirs (e.g. each in a network
# namespace of its own) never share or delete each other's kube-proxy namespace.
LC_NETNS=${EKSA_LOCALCLUSTER_NETNS:-eksa-lc-kp-$(printf '%s' "$LC_STATE" | sha256sum | cut -c1-8)}
# The pod network: a namespace holding the bridge that every pod's veth is attached to.
LC_PODNET_NETNS=eksa-lc-pn-$(printf '%s' "$LC_STATE" | sha256sum | cut -c1-8)
LC_PODNET_BRIDGE=eksa-br0
LC_CLUSTER_NAME=eksa-localcluster
LC_SERVICE_CIDR=10.96.0.0/12
LC_POD_CIDR=192.168.0.0/16
LC_CP_NODE=eksa-cp-1
LC_KUBECONFIG=$LC_STATE/kubeconfig
# The emulated registries (kubelet/registry.go, a stand-in): absent, an open network; present, the
# nodes pull only from the registries it declares (README "Emulated registries").
LC_REGISTRIES_FILE=$LC_STATE/run/registries.json

# The address block 127.X.Y of the nodes. The default, 127.0.0, runs every process in the
# caller's network namespace. Any other block gives the cluster a network namespace of its own
# (LC_CLUSTER_NETNS, named after the state dir), so several clusters can run side by side
# with the same ports; forwarders make the apiserver (BLOCK.1:6443) and the node IPs' ports
# reachable from the caller's namespace.
LC_BLOCK=${EKSA_LOCALCLUSTER_ADDRESS_BLOCK:-127.0.0}
LC_CLUSTER_NETNS=
LC_IN=()
LC_API_IP=127.0.0.1
if [ "$LC_BLOCK" != 127.0.0 ]; then
  LC_CLUSTER_NETNS=eksa-lc-cl-$(printf '%s' "$LC_STATE" | sha256sum | cut -c1-8)
  LC_IN=(nsenter --net="/run/netns/$LC_CLUSTER_NETNS" --)
  LC_API_IP=$LC_BLOCK.1
fi
LC_CP_IP=$LC_BLOCK.2
LC_API_SERVER=https://$LC_API_IP:6443
# Node ports the caller reaches through the forwarders: the metrics proxy's listeners
# (KCM, scheduler, kube-proxy, etcd), its health port and the kubelet API.
LC_NODE_PORTS=(10257 10259 10249 2381 10263 10250)

lc_log() { printf '[localcluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
lc_die() { lc_log "ERROR: $*"; exit 1; }

# Node list: "NAME IP ROLE" lines (control plane first, then eksa-worker-1..N = BLOCK.(2+N)).
lc_nodes() {
  echo "$LC_CP_NODE $LC_CP_IP control-plane"
  local i
  for ((i = 1; i <= LC_WORKERS; i++)); do
    echo "eksa-worker-$i $LC_BLOCK.$((2 + i)) worker"
  done
}

lc_validate_settings() {
  if ! [[ $LC_WORKERS =~ ^[0-9]+$ ]] || ((LC_WORKERS > 200)); then
    lc_die "EKSA_LOCALCLUSTER_WORKERS must be an integer in 0..200 (got '$LC_WORKERS')"
  fi
  if ! [[ $LC_BLOCK =~ ^127\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])$ ]]; then
    lc_die "EKSA_LOCALCLUSTER_ADDRESS_BLOCK must be 127.X.Y (got '$LC_BLOCK')"
  fi
}

# Field 22 of /proc/PID/stat: with the PID it identifies a process across PID reuse. Fails
# for a process that is gone or a zombie (dead, not yet reaped by its parent).
lc_starttime() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  # shellcheck disable=SC2086
  set -- $stat
  case $1 in Z | X) return 1 ;; esac
  echo "${20}"
}

# lc_alive PIDFILE: true when the process recorded in PIDFILE ("PID STARTTIME") still runs.
lc_alive() {
  local pid st
  [ -f "$1" ] || return 1
  read -r pid st _ <"$1" || return 1
  [ -n "$pid" ] && [ "$(lc_starttime "$pid" 2>/dev/null)" = "$st" ]
}

lc_pid() { local pid; read -r pid _ <"$1"; echo "$pid"; }

# lc_stop PIDFILE [GRACE]: SIGTERM the recorded process (and its process group when it
# leads one), SIGKILL after GRACE seconds; removes the pid file.
lc_stop() {
  local f=$1 grace=${2:-15} pid i
  if lc_alive "$f"; then
    pid=$(lc_pid "$f")
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
      lc_alive "$f" || break
      sleep 0.1
    done
    if lc_alive "$f"; then
      lc_log "$(basename "$f" .pid) (pid $pid) did not stop in ${grace}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
    # its process group, if it led one (container processes do)
    if [ "$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" = "$pid" ]; then
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$f"
}

lc_kubectl() { kubectl --kubeconfig "$LC_KUBECONFIG" "$@"; }
