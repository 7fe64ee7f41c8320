#!/usr/bin/env bash
# Stop everything localcluster/up.sh started, remove its network namespaces, and check that
# nothing is left. What to remove is read from the state dir, not from the environment. The
# state dir (PKI, etcd data, logs) is kept for a fast warm `up.sh` unless --purge is given.
#   down.sh [--purge]
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export PATH=$PATH:/usr/sbin:/sbin

purge=false
[ "${1:-}" = --purge ] && purge=true
run=$LC_STATE/run
if [ -d "$LC_STATE" ]; then
  exec 9>"$LC_STATE/lock"
  flock -w 600 9 || lc_die "another up.sh/down.sh holds $LC_STATE/lock"
fi

if [ -d "$run" ]; then
  # The kubelet first: on SIGTERM it stops its container processes (SIGTERM, grace, SIGKILL).
  lc_stop "$run/kubelet.pid" 30
  # Container processes a killed kubelet could have left behind (pid + start time must match;
  # each container leads its own process group).
  for f in "$LC_STATE"/pods/*/containers/*/pid; do
    [ -f "$f" ] || continue
    if lc_alive "$f"; then
      pid=$(lc_pid "$f")
      lc_log "stopping leftover container process $pid ($f)"
      kill -TERM -- "-$pid" 2>/dev/null || true
      sleep 1
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  done
  # Pod network namespaces a killed kubelet left (the reservations in pods/*/network stay).
  for f in "$LC_STATE"/pods/*/network; do
    [ -f "$f" ] || continue
    read -r _ _ pod_ns _ <"$f"
    if [ -e "/run/netns/$pod_ns" ]; then
      ip netns delete "$pod_ns"
      lc_log "deleted leftover pod network namespace $pod_ns"
    fi
  done
  for name in fwd kube-proxy nsfwd kube-scheduler kube-controller-manager kube-apiserver etcd; do
    lc_stop "$run/$name.pid" 20
  done
  # kube-proxy's namespace, the pod network's, then the cluster's own one (address blocks
  # other than 127.0.0)
  for f in "$run/netns" "$run/podnet-netns" "$run/cluster-netns"; do
    [ -f "$f" ] || continue
    ns=$(cat "$f")
    if [ -e "/run/netns/$ns" ]; then
      # a process we do not know of would keep the namespace alive after its deletion
      pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
      [ -z "$pids" ] || lc_die "processes still in network namespace $ns: $pids"
      ip netns delete "$ns"
      lc_log "deleted network namespace $ns"
    fi
    rm -f "$f"
  done
  rm -f "$run"/*.cmd "$run"/*.child "$run"/*.restarts "$run/block"
fi

# Verify: nothing recorded is still alive.
left=()
for f in "$run"/*.pid "$LC_STATE"/pods/*/containers/*/pid; do
  [ -f "$f" ] && lc_alive "$f" && left+=("$f")
done
((${#left[@]} == 0)) || lc_die "still running: ${left[*]}"

if $purge; then
  rm -rf "$LC_STATE"
  lc_log "removed $LC_STATE"
fi
lc_log "localcluster is down"
