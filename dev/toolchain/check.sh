#!/usr/bin/env bash
# Prints the version of every tool dev/toolchain/setup.sh provides and exits non-zero if any is
# missing or not the pinned version. Run after setup (dev/toolchain/setup.sh --check).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=versions.sh
source "$here/versions.sh"
# shellcheck source=env.sh
source "$here/env.sh"
cache=$EKSA_METRICS_CACHE

failed=0
ok() { printf '  ok    %-30s %s\n' "$1" "$2"; }
bad() { printf '  FAIL  %-30s %s\n' "$1" "$2"; failed=$((failed + 1)); }

# want NAME EXPECTED ACTUAL: ok when ACTUAL contains EXPECTED.
want() {
  if [[ $3 == *"$2"* ]]; then ok "$1" "$3"; else bad "$1" "got '${3:-nothing}', want '$2'"; fi
}

# ver CMD ARGS...: the first line CMD prints, or "" when CMD is not on PATH.
ver() {
  command -v "$1" >/dev/null || return 0
  "$@" 2>&1 | head -n 1 || true
}

# in_cache NAME: the command resolves into $EKSA_METRICS_CACHE (not, e.g., /usr/bin/kubectl).
in_cache() {
  local p
  p=$(command -v "$1" || true)
  if [ -z "$p" ]; then bad "$1" "not on PATH"; return 1; fi
  case $(readlink -f "$p") in
    "$cache"/*) return 0 ;;
    *) bad "$1" "resolves to $p, not into $cache"; return 1 ;;
  esac
}

echo "toolchain check (cache: $cache)"

# Node and npm.
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -ge "$NODE_MIN_MAJOR" ]; then ok node "$(node --version) ($(command -v node))"; else bad node "$(ver node --version) is older than $NODE_MIN_MAJOR"; fi
if command -v npm >/dev/null; then ok npm "$(npm --version)"; else bad npm "not on PATH"; fi
for dir in "$repo" "$repo/policy"; do
  name="node_modules (${dir#"$repo"}/)"
  if [ "$(cat "$dir/node_modules/.eksa-lock-hash" 2>/dev/null)" = "$(sha256sum <"$dir/package-lock.json" | cut -d' ' -f1)" ]; then
    ok "$name" "matches package-lock.json"
  else
    bad "$name" "missing or stale: run dev/toolchain/setup.sh npm"
  fi
done
for pkg in pulumi kubernetes command policy; do
  for dir in "$repo" "$repo/policy"; do
    f="$dir/node_modules/@pulumi/$pkg/package.json"
    [ -f "$f" ] || continue
    ok "@pulumi/$pkg (${dir#"$repo"}/)" "$(node -p "require('$f').version")"
  done
done

# Debian packages.
want haproxy "HAProxy version" "$(ver haproxy -v)"
want curl "curl " "$(ver curl --version)"
want openssl "OpenSSL" "$(ver openssl version)"
want socat "socat" "$(socat -V 2>&1 | grep -m1 'socat version' || true)"
want jq "jq-" "$(ver jq --version)"
want faketime "faketime: Version" "$(faketime --version 2>&1 | grep -m1 'faketime: Version' || true)"

# Kubernetes.
for b in kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do
  in_cache "$b" && want "$b" "Kubernetes $KUBERNETES_VERSION" "$(ver "$b" --version)"
done
if in_cache kubectl; then
  want kubectl "\"gitVersion\": \"$KUBERNETES_VERSION\"" "$(kubectl version --client -o json 2>&1 | grep -m1 gitVersion | sed 's/^ *//; s/,$//')"
fi

# etcd.
in_cache etcd && want etcd "etcd Version: ${ETCD_VERSION#v}" "$(ver etcd --version)"
in_cache etcdctl && want etcdctl "etcdctl version: ${ETCD_VERSION#v}" "$(ver etcdctl version)"

# kube-rbac-proxy.
in_cache kube-rbac-proxy && want kube-rbac-proxy "$KUBE_RBAC_PROXY_VERSION" "$(ver kube-rbac-proxy --version)"

# Prometheus and promtool (setup.sh stamps the module version as their revision).
for b in prometheus promtool; do
  in_cache "$b" && want "$b" "revision: $PROMETHEUS_VERSION)" "$(ver "$b" --version)"
done
in_cache prometheus-test-tls-clock && want prometheus-test-tls-clock "revision: $PROMETHEUS_VERSION-test-tls-clock)" "$(ver prometheus-test-tls-clock --version)"
in_cache prometheus-operator && want prometheus-operator "revision: $PROMETHEUS_OPERATOR_VERSION)" "$(ver prometheus-operator --version)"

# The Cluster API core manager has no --version flag, and -trimpath keeps the ldflags out of its
# build info: it logs the version setup.sh stamped first, then stops on a kubeconfig that is not there.
if in_cache cluster-api-controller; then
  want cluster-api-controller "Version: $CLUSTER_API_VERSION " \
    "$(timeout 10 cluster-api-controller -v=0 --kubeconfig=/nonexistent/kubeconfig 2>&1 | grep -m1 -o 'Version: [^"]*' || true)"
fi
if [ -d "$cache/cluster-api/$CLUSTER_API_VERSION/core/config/crd/bases" ]; then
  ok "cluster-api module" "$(readlink "$cache/cluster-api/$CLUSTER_API_VERSION")"
else
  bad "cluster-api module" "$cache/cluster-api/$CLUSTER_API_VERSION has no core/config/crd/bases: run dev/toolchain/setup.sh cluster-api"
fi

# Pulumi CLI and what it needs next to itself.
if in_cache pulumi; then
  want pulumi "$PULUMI_VERSION" "$(ver pulumi version)"
  pdir=$(dirname "$(readlink -f "$(command -v pulumi)")")
  if [ -x "$pdir/pulumi-language-nodejs" ]; then
    want pulumi-language-nodejs "$PULUMI_VERSION" "$("$pdir/pulumi-language-nodejs" -version 2>&1)"
  else
    bad pulumi-language-nodejs "not executable next to pulumi ($pdir)"
  fi
  if [ -x "$pdir/pulumi-resource-pulumi-nodejs" ]; then ok pulumi-resource-pulumi-nodejs "next to pulumi"; else bad pulumi-resource-pulumi-nodejs "not executable next to pulumi ($pdir)"; fi
fi

# Resource plugins the npm packages ask for. kubernetes is built here and must be installed at
# exactly the version @pulumi/kubernetes asks for. command cannot be built here (no registry
# serves pulumi-command): the real plugin is used when installed, else the harness selects our
# stand-in (dev/command-standin/) through a project file's plugins.providers path — say which.
for pkg in kubernetes command; do
  f="$repo/node_modules/@pulumi/$pkg/package.json"
  [ -f "$f" ] || { bad "@pulumi/$pkg" "not installed in node_modules"; continue; }
  pv=$(node -p "const p = require('$f'); (p.pulumi && p.pulumi.version) || p.version")
  if [ -x "$PULUMI_HOME/plugins/resource-$pkg-v$pv/pulumi-resource-$pkg" ]; then
    ok "plugin resource $pkg" "$pv (the real plugin, in $PULUMI_HOME)"
  elif [ "$pkg" = command ] && [ -x "$cache/command-standin/current/pulumi-resource-command" ]; then
    ok "plugin resource $pkg" "$pv not installed: tests and demo use eksa-metrics' STAND-IN ($(readlink -f "$cache/command-standin/current"))"
  else
    bad "plugin resource $pkg" "$pv not installed: run dev/toolchain/setup.sh"
  fi
done
[ "$PULUMI_KUBERNETES_VERSION" = "$(node -p "require('$repo/node_modules/@pulumi/kubernetes/package.json').version")" ] ||
  bad "@pulumi/kubernetes" "is not $PULUMI_KUBERNETES_VERSION (versions.sh): the SDK asks for the plugin of its own version"
[ "$PULUMI_COMMAND_VERSION" = "$(node -p "require('$repo/node_modules/@pulumi/command/package.json').version")" ] ||
  bad "@pulumi/command" "is not $PULUMI_COMMAND_VERSION (versions.sh): the SDK asks for the plugin of its own version"

# The Go wrappers pin the same versions as versions.sh.
gomod_has() { grep -q "$2 $3" "$here/go/$1/go.mod" || bad "go/$1/go.mod" "does not require $2 $3"; }
gomod_has kubernetes k8s.io/kubernetes "$KUBERNETES_VERSION"
gomod_has etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
gomod_has kube-rbac-proxy github.com/brancz/kube-rbac-proxy "$KUBE_RBAC_PROXY_VERSION"
gomod_has pulumi github.com/pulumi/pulumi/pkg/v3 "$PULUMI_VERSION"
gomod_has pulumi-yaml github.com/pulumi/pulumi-yaml "$PULUMI_YAML_VERSION"
gomod_has prometheus github.com/prometheus/prometheus "$PROMETHEUS_VERSION"
gomod_has prometheus-operator github.com/prometheus-operator/prometheus-operator "$PROMETHEUS_OPERATOR_VERSION"
gomod_has pulumi-kubernetes github.com/pulumi/pulumi-kubernetes/provider/v4 "$PULUMI_KUBERNETES_MODULE_VERSION"
gomod_has cluster-api sigs.k8s.io/cluster-api "$CLUSTER_API_VERSION"
gomod_has cluster-api sigs.k8s.io/cluster-api/api "$CLUSTER_API_VERSION"

if [ "$failed" -gt 0 ]; then
  echo "toolchain check: $failed problem(s); run dev/toolchain/setup.sh"
  exit 1
fi
echo "toolchain check: all tools present at their pinned versions"
