#!/usr/bin/env bash
# supervise.sh NAME CMD...: runs CMD and starts it again whenever it exits, as a kubelet restarts
# a static pod (kube-controller-manager and kube-scheduler exit when they lose their lease, e.g.
# during an API server outage): at once the first time, then after a back-off of
# EKSA_LOCALCLUSTER_RESTART_BACKOFF seconds (10, the kubelet's) doubling up to
# EKSA_LOCALCLUSTER_RESTART_BACKOFF_MAX (300), back to at once after 10 minutes of running.
# SIGTERM/SIGINT stop CMD (SIGTERM, then what lc_stop does) and the supervisor with it.
# Records in $LC_STATE/run: NAME.child ("PID STARTTIME" of the running CMD), NAME.restarts (count).
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
name=$1
shift
base=${EKSA_LOCALCLUSTER_RESTART_BACKOFF:-10}
max=${EKSA_LOCALCLUSTER_RESTART_BACKOFF_MAX:-300}
[[ $base =~ ^[0-9]+$ && $max =~ ^[0-9]+$ ]] || lc_die "EKSA_LOCALCLUSTER_RESTART_BACKOFF(_MAX) must be whole seconds"
run=$LC_STATE/run
child=
stopping=false
on_signal() {
  stopping=true
  if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null; fi
}
trap on_signal TERM INT

restarts=0
next=0
echo "$restarts" >"$run/$name.restarts"
while :; do
  started=$SECONDS
  "$@" &
  child=$!
  echo "$child $(lc_starttime "$child")" >"$run/$name.child"
  rc=0
  wait "$child" || rc=$?
  # A trapped signal interrupts wait: keep waiting for the child itself.
  while kill -0 "$child" 2>/dev/null; do
    rc=0
    wait "$child" || rc=$?
  done
  rm -f "$run/$name.child"
  child=
  $stopping && exit 0
  if ((SECONDS - started >= 600)); then
    next=0
  fi
  restarts=$((restarts + 1))
  echo "$restarts" >"$run/$name.restarts"
  printf '\n==== %s %s exited with status %d after %ds; restart %d in %ds (supervise.sh, as a kubelet restarts a static pod)\n' \
    "$(date -u +%FT%TZ)" "$name" "$rc" "$((SECONDS - started))" "$restarts" "$next"
  if ((next > 0)); then
    sleep "$next" &
    child=$!
    wait "$child" || true
    child=
    $stopping && exit 0
  fi
  if ((next == 0)); then next=$base; else next=$((next * 2 > max ? max : next * 2)); fi
done
