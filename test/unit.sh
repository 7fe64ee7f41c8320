#!/usr/bin/env bash
# The fast tests a contributor runs while editing (`npm run test:unit`), and the first step of test/run.sh:
# type-check, lint, format check, then every mocha suite that needs no toolchain (no Pulumi CLI, plugin,
# cluster or network namespace: npm packages and Node only). Prints "N passed, N failed, N skipped" last.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../dev/toolchain/env.sh
source dev/toolchain/env.sh

status=0
echo "== type-check (tsc --noEmit), lint (eslint, eslint.config.mjs) and format (prettier --check, .prettierrc.json)"
node_modules/.bin/tsc --noEmit -p . || status=1
node_modules/.bin/eslint . || status=1
node_modules/.bin/prettier --check --log-level warn . || status=1

echo "== unit, verification, component (mocked engine), policy, fleet-runner and benchmark-helper tests, without the toolchain"
# Off PATH: the toolchain's binaries; PULUMI_HOME: empty. A suite here that starts needing them fails here,
# rather than passing only on a machine that has them. The suites that need the Pulumi CLI or the build
# (dev/toolchain/setup.sh build) run in test/run.sh. tsc has just type-checked every file, so mocha only transpiles.
no_toolchain_path=$(tr ':' '\n' <<<"$PATH" | grep -vxF "$EKSA_METRICS_CACHE/bin" | paste -sd:)
empty_pulumi_home=$(mktemp -d "${TMPDIR:-/tmp}/eksa-unit-pulumi-home.XXXXXX")
trap 'rm -rf "$empty_pulumi_home"' EXIT
PATH=$no_toolchain_path PULUMI_HOME=$empty_pulumi_home node_modules/.bin/mocha \
    --require ts-node/register/transpile-only --reporter ./test/support/summaryReporter.ts \
    --ignore test/policy/realEngine.spec.ts --ignore test/fleet/runner.spec.ts --ignore test/policy/publishing.spec.ts \
    'test/lint/**/*.spec.ts' 'test/core/**/*.spec.ts' 'test/config/**/*.spec.ts' 'test/cluster/**/*.spec.ts' \
    'test/verify/**/*.spec.ts' 'test/components/**/*.spec.ts' 'test/provider/**/*.spec.ts' 'test/policy/**/*.spec.ts' 'test/fleet/**/*.spec.ts' \
    'test/bench/**/*.spec.ts' ||
    status=1
exit $status
