#!/usr/bin/env bash
# Runs the stack's verification now, without `pulumi up`:
#   npm run verify -- [--stack NAME] [--config-file FILE] [--timeout-seconds N] [--mode cluster|local]
# (--timeout-seconds: how long to retry failing checks; default the stack's verify.timeoutSeconds;
# --mode: from pods in the cluster or from this machine; default the stack's verify.mode).
# Reads the plan from the stack's outputs and the kubeconfig from its config (both stay off the command line).
set -euo pipefail
cd "$(dirname "$0")/.."
stack=() config_file=()
while [ $# -gt 0 ]; do
  case $1 in
    --stack) stack=(--stack "$2"); shift 2 ;;
    --config-file) config_file=(--config-file "$2"); shift 2 ;;
    --timeout-seconds) export EKSA_METRICS_VERIFY_TIMEOUT_SECONDS=$2; shift 2 ;;
    --mode) export EKSA_METRICS_VERIFY_MODE=$2; shift 2 ;;
    *) echo "usage: npm run verify -- [--stack NAME] [--config-file FILE] [--timeout-seconds N] [--mode cluster|local]" >&2; exit 64 ;;
  esac
done
EKSA_METRICS_VERIFY_PLAN=$(pulumi stack output verificationPlan --json --show-secrets "${stack[@]}")
EKSA_METRICS_KUBECONFIG=$(pulumi config get eksa-metrics:kubeconfig "${stack[@]}" "${config_file[@]}")
export EKSA_METRICS_VERIFY_PLAN EKSA_METRICS_KUBECONFIG
exec node --require ts-node/register/transpile-only verify/main.ts
