#!/usr/bin/env bash
# Runs a command in a private network namespace (loopback only, up) and a private mount namespace
# with its own TMPDIR (a tmpfs), so tests can use the components' real ports and paths without
# touching the host's network or files.
set -euo pipefail
scratch=$(mktemp -d "${TMPDIR:-/tmp}/eksa-sandbox.XXXXXX")
status=0
unshare --net --mount --propagation private -- bash -c \
  'ip link set lo up && mount -t tmpfs -o mode=1777 tmpfs "$0" && TMPDIR="$0" EKSA_METRICS_SANDBOX=1 exec "$@"' \
  "$scratch" "$@" || status=$?
# Only once the command is gone: removing the directory earlier would unmount the sandbox's
# TMPDIR under it (a mount point deleted in one namespace is detached in all). If this script is
# killed instead, the empty directory stays behind, and the sandbox keeps its files.
rmdir "$scratch"
exit $status
