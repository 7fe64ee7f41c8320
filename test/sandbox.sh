#!/usr/bin/env bash
# Runs a command in a private network namespace (loopback only, up) and a private mount namespace.
set -euo pipefail
exec unshare --net --mount --propagation private -- bash -c 'ip link set lo up && EKSA_METRICS_PROXY_SANDBOX=1 exec "$@"' sandbox "$@"
