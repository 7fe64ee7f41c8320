# Source this file (`source dev/toolchain/env.sh`) to use the toolchain that dev/toolchain/setup.sh
# built. Cheap and idempotent: it only sets variables, it never builds or downloads.
#
# Contract:
#   EKSA_METRICS_CACHE   cache root (default $HOME/.cache/eksa-metrics), kept if already set
#   PATH                 $EKSA_METRICS_CACHE/bin first (our kubectl shadows /usr/bin/kubectl,
#                        a gcloud dispatcher), then the chosen Node's bin dir
#                        ($EKSA_METRICS_CACHE/node/current/bin, only when setup chose a Node
#                        from the cache; otherwise the system node is used)
#   PULUMI_HOME          $EKSA_METRICS_CACHE/pulumi-home (plugins registered by setup.sh)
#   PULUMI_SKIP_UPDATE_CHECK=true, PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true,
#   PULUMI_DISABLE_REGISTRY_RESOLVE=true: offline operation (no update check, no plugin
#                        download, no registry look-up)
# It sets no backend (PULUMI_BACKEND_URL) and no passphrase: callers choose those.
# shellcheck shell=bash

export EKSA_METRICS_CACHE="${EKSA_METRICS_CACHE:-$HOME/.cache/eksa-metrics}"

# Put $1 first on PATH, removing any earlier occurrence (so repeated sourcing keeps PATH short
# and our directory stays ahead of anything prepended since).
_eksa_metrics_path_first() {
  local dir=$1 rest=":${PATH}:"
  while [[ $rest == *":$dir:"* ]]; do rest=${rest/":$dir:"/:}; done
  rest=${rest#:}
  rest=${rest%:}
  PATH="$dir${rest:+:$rest}"
}
if [ -d "$EKSA_METRICS_CACHE/node/current/bin" ]; then
  _eksa_metrics_path_first "$EKSA_METRICS_CACHE/node/current/bin"
fi
_eksa_metrics_path_first "$EKSA_METRICS_CACHE/bin"
unset -f _eksa_metrics_path_first
export PATH

export PULUMI_HOME="$EKSA_METRICS_CACHE/pulumi-home"
# Offline: never look for a newer CLI, never download a plugin, never ask the registry.
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_DISABLE_REGISTRY_RESOLVE=true
