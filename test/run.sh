#!/usr/bin/env bash
# The project's test command: type-check, then every suite (mocha, go test, the local control plane's self-test).
# Needs `dev/toolchain/setup.sh` first. Prints "N passed, N failed, N skipped" over all suites last; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../dev/toolchain/env.sh
source dev/toolchain/env.sh

counts=$(mktemp "$EKSA_METRICS_CACHE/test-counts.XXXXXX") # not /tmp: the sandbox has its own
trap 'rm -f "$counts"' EXIT
export EKSA_METRICS_TEST_COUNTS=$counts
mocha=(node_modules/.bin/mocha --require ts-node/register --reporter ./test/support/summaryReporter.ts)
status=0

echo "== build: the JavaScript users run (program, component scripts, policy pack; npm pack into test/library/consumer)"
bash dev/toolchain/setup.sh build || status=1

echo "== type-check (tsc --noEmit), lint (eslint, eslint.config.mjs) and format (prettier --check, .prettierrc.json)"
node_modules/.bin/tsc --noEmit -p . || status=1
node_modules/.bin/eslint . || status=1
node_modules/.bin/prettier --check --log-level warn . || status=1

echo "== unit, verification, component (mocked engine), policy and fleet-runner tests"
"${mocha[@]}" 'test/lint/**/*.spec.ts' 'test/core/**/*.spec.ts' 'test/config/**/*.spec.ts' 'test/cluster/**/*.spec.ts' 'test/verify/**/*.spec.ts' 'test/components/**/*.spec.ts' 'test/policy/**/*.spec.ts' 'test/fleet/**/*.spec.ts' || status=1

echo "== real haproxy and kube-rbac-proxy, in a private network namespace"
test/sandbox.sh "${mocha[@]}" 'test/proxy/**/*.spec.ts' || status=1

log=$(mktemp "$EKSA_METRICS_CACHE/test-log.XXXXXX")
# go_tests DIR [RUNNER...]: `go test -v ./...` in DIR (through RUNNER, e.g. the sandbox), counted.
go_tests() {
  local dir=$1
  shift
  (cd "$dir" && "$@" go test -count=1 -v ./...) >"$log" 2>&1 || status=1
  grep -E '^(ok|FAIL|---)' "$log" | grep -v -- '--- PASS' || true
  printf '%s %s %s\n' "$(grep -c -- '--- PASS' "$log")" "$(grep -c -- '--- FAIL' "$log")" "$(grep -c -- '--- SKIP' "$log")" >>"$counts"
}

echo "== the command provider stand-in's conformance tests (dev/command-standin, with the real pulumi CLI)"
go_tests dev/command-standin

echo "== the local control plane: its process kubelet's Go tests, then its self-test (in a private network namespace)"
go_tests dev/localcluster/kubelet
test/sandbox.sh bash -c 'EKSA_LOCALCLUSTER_DIR=$TMPDIR/localcluster exec bash dev/localcluster/selftest.sh' | tee "$log" || status=1
sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2 0/p' "$log" | tail -n 1 >>"$counts"
rm -f "$log"

echo "== the real Prometheus, promtool, the Prometheus Operator's CRDs and operator, in a private network namespace"
test/sandbox.sh "${mocha[@]}" 'test/prometheus/**/*.spec.ts' || status=1

echo "== end to end on a local control plane (dev/localcluster/), in a private network namespace"
test/sandbox.sh "${mocha[@]}" 'test/e2e/**/*.spec.ts' || status=1

summary=$(awk '{p+=$1; f+=$2; s+=$3} END {printf "%d passed, %d failed, %d skipped", p, f, s}' "$counts")
if [ $status -ne 0 ]; then
  summary+=" (and a step above failed: see its output)"
fi
printf '\nall suites: %s\n' "$summary"
exit $status
