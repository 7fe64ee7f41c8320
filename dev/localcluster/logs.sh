#!/usr/bin/env bash
# Read localcluster's logs: the control-plane components', and the pods' (also of deleted
# pods; for live pods `kubectl logs` works too).
#   logs.sh                          list what there is
#   logs.sh COMPONENT [-f]           etcd, kube-apiserver, kube-controller-manager,
#                                    kube-scheduler, kube-proxy, nsfwd, kubelet, kubelet-build
#   logs.sh NAMESPACE/POD [CONTAINER] [-f]
#                                    a pod's container log(s), also of deleted pods
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

follow=false
args=()
for a in "$@"; do
  if [ "$a" = -f ]; then follow=true; else args+=("$a"); fi
done
show() { if $follow; then tail -n 200 -F "$@"; else cat "$@"; fi; }

if ((${#args[@]} == 0)); then
  echo "components ($LC_STATE/logs):"
  for f in "$LC_STATE"/logs/*.log; do [ -f "$f" ] && echo "  $(basename "$f" .log)"; done
  echo "pods ($LC_STATE/pods/<ns>_<pod>/<container>.log):"
  for d in "$LC_STATE"/pods/*/; do
    [ -d "$d" ] || continue
    p=$(basename "$d")
    state=running
    [ -f "$d/deleted" ] && state="deleted $(cat "$d/deleted")"
    cs=$(cd "$d" && ls -- *.log 2>/dev/null | sed 's/\.log$//' | tr '\n' ' ')
    echo "  ${p/_//}  [$state]  containers: $cs"
  done
  exit 0
fi

target=${args[0]}
if [[ $target == */* ]]; then
  dir=$LC_STATE/pods/${target/\//_}
  [ -d "$dir" ] || lc_die "no pod dir $dir"
  if ((${#args[@]} > 1)); then
    show "$dir/${args[1]}.log"
  else
    show "$dir"/*.log
  fi
else
  f=$LC_STATE/logs/$target.log
  [ -f "$f" ] || lc_die "no log $f"
  show "$f"
fi
