#!/usr/bin/env bash
# The project's test command: the toolchain's setup, test/unit.sh (type-check, lint, format, the suites that need
# no toolchain), then every other suite (mocha, go test, the local control plane's self-test). Prints
# "N passed, N failed, N skipped" over all suites last; exits non-zero on any failure and on any skipped test.
set -euo pipefail
cd "$(dirname "$0")/.."

# A fresh clone needs nothing but this script: the setup is idempotent and, once it has run, a no-op of seconds.
echo "== the toolchain and the build of the JavaScript users run (dev/toolchain/setup.sh, its build part included)"
bash dev/toolchain/setup.sh
# shellcheck source=../dev/toolchain/env.sh
source dev/toolchain/env.sh

counts=$(mktemp "$EKSA_METRICS_CACHE/test-counts.XXXXXX") # not /tmp: the sandbox has its own
trap 'rm -f "$counts"' EXIT
export EKSA_METRICS_TEST_COUNTS=$counts
mocha=(node_modules/.bin/mocha --require ts-node/register --reporter ./test/support/summaryReporter.ts)
status=0

bash test/unit.sh || status=1

echo "== the policy pack under the real engine and as published (npm pack of the build), the fleet runner through the real Automation API"
"${mocha[@]}" test/policy/realEngine.spec.ts test/policy/publishing.spec.ts test/fleet/runner.spec.ts || status=1

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
# A skipped test is one that did not run: the run fails, as it would on a failure (mocha also has
# --forbid-pending, .mocharc.yml; go test's SKIP lines are counted here).
if [ "$(awk '{s+=$3} END {print s+0}' "$counts")" -gt 0 ]; then
  status=1
  summary+=" (a skipped test fails the run: see SKIP / pending above)"
elif [ $status -ne 0 ]; then
  summary+=" (and a step above failed: see its output)"
fi
printf '\nall suites: %s\n' "$summary"
exit $status
