#!/usr/bin/env bash
# The main job on a local control plane: boots localcluster/ (if not running), deploys the metrics
# stack's objects, runs the stack's verification and prints its table and the endpoints.
#   bash demo/run.sh          (after bash toolchain/setup.sh; needs root, like localcluster/)
# Tear down with: bash localcluster/down.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../toolchain/env.sh
source toolchain/env.sh
exec node --require ts-node/register/transpile-only demo/deploy.ts
