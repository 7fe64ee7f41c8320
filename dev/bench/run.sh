#!/usr/bin/env bash
# Scrape-latency benchmark: GET /metrics of kube-controller-manager and etcd, straight to the
# component on 127.0.0.1 versus through the eksa-metrics proxy on the control-plane node, plus the
# proxy processes' memory. Brings a local control plane up and tears it down (needs root and
# `bash dev/toolchain/setup.sh` once); takes about a minute. See dev/bench/README.md.
#
#   bash dev/bench/run.sh [--requests N] [--warmup N] [--concurrency 1,16] [--block N] [--gzip true|false]
#
# Every flag has an environment equivalent: BENCH_REQUESTS (400), BENCH_WARMUP (32),
# BENCH_CONCURRENCY (1,16), BENCH_BLOCK (50), BENCH_GZIP (false: no Accept-Encoding; true: gzip,
# as Prometheus asks). Exits non-zero if any request failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=../toolchain/env.sh
source dev/toolchain/env.sh
# The sandbox gives the cluster a private network and /tmp, so it never collides with another one.
exec test/sandbox.sh node --require ts-node/register/transpile-only dev/bench/scrape.ts "$@"
