#!/usr/bin/env bash
# Runs one benchmark, dev/bench/NAME.ts, in the sandbox (private network namespace and /tmp), after
# `bash dev/toolchain/setup.sh` once (needs root). See dev/bench/README.md for each one.
#
#   bash dev/bench/run.sh scrape [--requests N] [--warmup N] [--concurrency 1,16] [--block N] [--gzip true|false]
#   bash dev/bench/run.sh fleet [ROUNDS] [--stacks N] [--modes loop,fleet-1,fleet-2,fleet-4,fleet-8]
#   bash dev/bench/run.sh NAME [ARGS...]    any other dev/bench/NAME.ts
#
# Exits non-zero if the benchmark failed (e.g. a request of the scrape benchmark failed).
set -euo pipefail
cd "$(dirname "$0")/../.."
name=${1:-}
if [ -z "$name" ] || [ ! -f "dev/bench/$name.ts" ]; then
  echo "usage: bash dev/bench/run.sh NAME [ARGS...], NAME one of: $(cd dev/bench && ls -- *.ts | sed 's/\.ts$//' | tr '\n' ' ')" >&2
  exit 64
fi
shift
# shellcheck source=../toolchain/env.sh
source dev/toolchain/env.sh
exec test/sandbox.sh node --require ts-node/register/transpile-only "dev/bench/$name.ts" "$@"
