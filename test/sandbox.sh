#!/usr/bin/env bash
# Runs a command in a private network namespace (loopback only, up) and a private mount namespace
# with its own /tmp, so tests can use the components' real ports and paths without touching the host.
set -euo pipefail
exec unshare --net --mount --propagation private -- bash -c 'ip link set lo up && mount -t tmpfs -o mode=1777 tmpfs /tmp && EKSA_METRICS_SANDBOX=1 exec "$@"' sandbox "$@"
