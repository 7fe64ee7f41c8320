#!/usr/bin/env bash
# The main job on a local control plane: boots localcluster/ (if not running), deploys the metrics
# stack's objects, runs the stack's verification and prints its table and the endpoints.
#   bash dev/demo/run.sh          (needs root, like localcluster/)
# Tear down with: bash dev/localcluster/down.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
# The toolchain first: idempotent, a no-op of seconds once it has run, so a fresh clone needs nothing else.
bash dev/toolchain/setup.sh
# shellcheck source=../toolchain/env.sh
source dev/toolchain/env.sh
exec node --require ts-node/register/transpile-only dev/demo/deploy.ts
