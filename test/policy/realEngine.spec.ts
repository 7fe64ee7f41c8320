// The pack under the real engine: `pulumi preview --policy-pack policy` of small programs that
// register fixture manifests through k8s.yaml.ConfigGroup, rendered to a directory (no cluster).
// Needs the Pulumi CLI and the kubernetes provider plugin (dev/toolchain/setup.sh); fails without them.

import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { INSECURE_PROXY } from "../../policy/policies/noInsecureMetricsProxy";
import { CLUSTER_CLASS_BIND_ADDRESS_UNKNOWN } from "../../policy/policies/clusterClassBindAddressUnknownDuringPreview";
import { CLUSTER_CLASS_BIND_ADDRESS } from "../../policy/policies/clusterClassControlPlaneMetricsNotOnAllInterfaces";
import { NOT_ON_ALL_INTERFACES } from "../../policy/policies/controlPlaneMetricsNotOnAllInterfaces";
import { CONTROLLER_DIAGNOSTICS } from "../../policy/policies/controllerDiagnosticsAuthenticated";
import { ETCD_METRICS } from "../../policy/policies/etcdMetricsNotExposed";
import { KUBE_PROXY_METRICS } from "../../policy/policies/kubeProxyMetricsNotOnAllInterfaces";
import { pinnedVersion } from "../../dev/toolchain/versions";
import { FIXTURES } from "./harness";
import { ownControlPlaneProxy } from "./support/ownStack";

const REPO = path.join(__dirname, "..", "..");
const PROVIDER_VERSION = pinnedVersion("PULUMI_KUBERNETES_VERSION");

const PROGRAM = `"use strict";
const fs = require("fs");
const k8s = require("@pulumi/kubernetes");
const provider = new k8s.Provider("render", { renderYamlToDirectory: process.env.RENDER_DIR });
const files = process.env.MANIFESTS.split(",");
new k8s.yaml.ConfigGroup("manifests", { yaml: files.map((f) => fs.readFileSync(f, "utf8")) }, { provider });
`;

describe("the pack under the real engine (pulumi preview --policy-pack policy)", function () {
    this.timeout(600_000); // a preview takes a minute, several on a loaded machine
    let dir: string;
    let env: NodeJS.ProcessEnv;

    before(() => {
        const pulumiHome = process.env.PULUMI_HOME ?? path.join(os.homedir(), ".pulumi");
        const plugin = path.join(pulumiHome, "plugins", `resource-kubernetes-v${PROVIDER_VERSION}`);
        assert.equal(
            spawnSync("pulumi", ["version"]).status,
            0,
            "no pulumi CLI on PATH: run dev/toolchain/setup.sh, then source dev/toolchain/env.sh",
        );
        assert.ok(
            fs.existsSync(plugin),
            `no kubernetes provider plugin v${PROVIDER_VERSION} (dev/toolchain/versions.sh) in ${plugin}: run dev/toolchain/setup.sh pulumi-kubernetes`,
        );
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "eksa-policy-engine-"));
        const project = path.join(dir, "project");
        fs.mkdirSync(project);
        fs.mkdirSync(path.join(dir, "state"));
        fs.writeFileSync(
            path.join(project, "Pulumi.yaml"),
            "name: policy-engine-test\nruntime: nodejs\nmain: index.js\n",
        );
        fs.writeFileSync(
            path.join(project, "package.json"),
            JSON.stringify({ name: "policy-engine-test", private: true }),
        );
        fs.writeFileSync(path.join(project, "index.js"), PROGRAM);
        fs.symlinkSync(path.join(REPO, "node_modules"), path.join(project, "node_modules"));
        env = {
            ...process.env,
            PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
            PULUMI_CONFIG_PASSPHRASE: "test",
            RENDER_DIR: path.join(dir, "rendered"),
        };
        const init = spawnSync("pulumi", ["stack", "init", "test", "--non-interactive"], {
            cwd: project,
            env,
            encoding: "utf8",
        });
        assert.strictEqual(init.status, 0, init.stderr);
    });

    after(() => {
        if (dir) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    function preview(fixtures: string[]): { status: number | null; output: string } {
        const result = spawnSync(
            "pulumi",
            ["preview", "--non-interactive", "--policy-pack", path.join(REPO, "policy")],
            {
                cwd: path.join(dir, "project"),
                env: { ...env, MANIFESTS: fixtures.map((f) => path.resolve(FIXTURES, f)).join(",") },
                encoding: "utf8",
                maxBuffer: 64 * 1024 * 1024,
            },
        );
        return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
    }

    it("fails the EKS Anywhere docs' ConfigMap + DaemonSet, naming both objects", () => {
        const { status, output } = preview(["docs-metrics-proxy.yaml"]);
        assert.notStrictEqual(status, 0, output);
        assert.ok(output.includes(INSECURE_PROXY), output);
        assert.ok(output.includes("kubernetes:core/v1:ConfigMap metrics-proxy:"), output);
        assert.ok(
            output.includes(
                "kubernetes:apps/v1:DaemonSet metrics-proxy spec.template.spec.containers[0] publishes 10257",
            ),
            output,
        );
    });

    it("fails kube-prometheus-style kube-proxy and etcd rebinding", () => {
        const { status, output } = preview(["kube-proxy-configmap.yaml", "kubeadm-etcd.yaml"]);
        assert.notStrictEqual(status, 0, output);
        assert.ok(
            output.includes(KUBE_PROXY_METRICS) && output.includes("kube-system/kube-proxy-kube-prometheus"),
            output,
        );
        assert.ok(output.includes(ETCD_METRICS) && output.includes("default/w06-etcd-map"), output);
    });

    // Each form of issue 18 as a cluster definition writes it: the exposed file fails with each message, the safe one passes.
    // One preview each way for all of them: a preview costs tens of seconds.
    const SHAPES = ["wrappers", "etcd-manager", "controllers-older-flags", "cluster-class"];

    it("fails components under wrappers, etcd under etcd-manager, the controllers' older metrics flags and ClusterClass patches (literal, variable default, a Cluster's variables)", () => {
        const { status, output } = preview(SHAPES.map((s) => `${s}-exposed.yaml`));
        assert.notStrictEqual(status, 0, output);
        for (const expected of [
            'kube-scheduler would listen on all interfaces: kubernetes:core/v1:Pod kube-system/kube-scheduler-go-runner sets spec.containers[0].command[6] = "--bind-address=0.0.0.0"',
            "kube-controller-manager would listen on all interfaces: kubernetes:core/v1:Pod kube-system/kube-controller-manager-go-runner runs kube-controller-manager in spec.containers[0]",
            'kube-proxy metrics would be served on all interfaces: kubernetes:apps/v1:DaemonSet kube-system/kube-proxy-tini sets spec.template.spec.containers[0].command[4] = "--metrics-bind-address=0.0.0.0:10249"',
            'kubernetes:core/v1:Pod kube-system/etcd-env-wrapper sets spec.containers[0].command[4] = "--listen-metrics-urls=http://0.0.0.0:2381"',
            'kubernetes:core/v1:Pod kube-system/etcd-manager-main sets spec.containers[0].env[0].value = "http://0.0.0.0:8081" (etcd-manager passes its ETCD_* variables to the etcd it starts)',
            'capi-system/capi-controller-manager runs a controller-runtime manager in spec.template.spec.containers[0] (command[0] "/manager") with spec.template.spec.containers[0].args[0] = "--metrics-addr=:8080"',
            'capi-kubeadm-control-plane-system/capi-kubeadm-control-plane-controller-manager runs a controller-runtime manager in spec.template.spec.containers[0] (command[0] "/manager") with spec.template.spec.containers[0].args[3] = "--metrics-bind-addr=0.0.0.0:8080"',
            'kubernetes:cluster.x-k8s.io/v1beta2:ClusterClass default/literal-v1beta2 sets spec.patches[0].definitions[0].jsonPatches[0].value = "0.0.0.0"',
            'kubernetes:cluster.x-k8s.io/v1beta1:ClusterClass default/variable-default-v1beta1 sets spec.variables[0].schema.openAPIV3Schema.default = "0.0.0.0"',
            'kubernetes:cluster.x-k8s.io/v1beta2:Cluster default/team-a sets spec.topology.variables[0].value = "0.0.0.0"',
            'kubernetes:cluster.x-k8s.io/v1beta1:Cluster default/team-b sets spec.topology.variables[0].value = "::"',
        ]) {
            assert.ok(output.replace(/\s+/g, " ").includes(expected), `missing: ${expected}\n${output}`);
        }
        for (const policy of [
            NOT_ON_ALL_INTERFACES,
            KUBE_PROXY_METRICS,
            ETCD_METRICS,
            CONTROLLER_DIAGNOSTICS,
            CLUSTER_CLASS_BIND_ADDRESS,
        ]) {
            assert.ok(output.includes(policy), `${policy} reports nothing:\n${output}`);
        }
    });

    it("passes the same forms kept on loopback; names a ClusterClass variable known only at run time (advisory)", () => {
        const { status, output } = preview([...SHAPES.map((s) => `${s}-safe.yaml`), "cluster-class-run-time.yaml"]);
        assert.strictEqual(status, 0, output);
        assert.ok(output.includes(CLUSTER_CLASS_BIND_ADDRESS_UNKNOWN), output);
        assert.ok(
            output
                .replace(/\s+/g, " ")
                .includes(
                    'ClusterClass default/run-time-v1beta1: variable "controllerManagerBindAddress" has no default, and no Cluster of this program that uses the class sets it, so its value is known only at run time',
                ),
            output,
        );
    });

    it("passes the stack's own proxy, as the product renders it", async () => {
        const ownProxy = path.join(dir, "eksa-metrics-proxy.yaml");
        fs.writeFileSync(ownProxy, (await ownControlPlaneProxy()).map((m) => yaml.dump(m)).join("---\n"));
        const { status, output } = preview([ownProxy]);
        assert.strictEqual(status, 0, output);
    });
});
