// Resources from k8s.yaml.ConfigFile / ConfigGroup: the components themselves carry no cluster
// definition (policies on them never see the objects), their children — Pods, ConfigMaps,
// CustomResources — are validated like any other resource. Here @pulumi/kubernetes expands real
// fixtures under Pulumi mocks (in a child process), and the policies run on what it registered.

import * as assert from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { controlPlaneMetricsBindAddressUnknownDuringPreview } from "../../policy/policies/controlPlaneMetricsBindAddressUnknownDuringPreview";
import { controlPlaneMetricsNotOnAllInterfaces } from "../../policy/policies/controlPlaneMetricsNotOnAllInterfaces";
import { asConfigFileChild, FIXTURES, fixtureDocuments, RegisteredResource, runPolicy } from "./harness";

interface Registration extends RegisteredResource {
    readonly custom: boolean;
}

describe("policies on resources registered by k8s.yaml.ConfigFile / ConfigGroup", function () {
    this.timeout(120_000);
    const configFileFixture = "kube-scheduler.yaml";
    const configGroupFixtures = ["eksa-cluster.yaml", "kubeadm-config-v1beta4-exposed.yaml"];
    let registrations: Registration[] = [];

    before(() => {
        const result = spawnSync(
            process.execPath,
            [
                "-r",
                "ts-node/register",
                path.join(__dirname, "support", "registerYaml.ts"),
                ...[configFileFixture, ...configGroupFixtures].map((f) => path.join(FIXTURES, f)),
            ],
            { cwd: path.join(__dirname, "..", ".."), encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
        );
        assert.strictEqual(result.status, 0, `registerYaml.ts failed:\n${result.stderr}`);
        registrations = JSON.parse(result.stdout);
    });

    it("registers each object with the type token and name the policies expect", () => {
        const children = registrations
            .filter((r) => r.custom)
            .map((r) => `${r.type} ${r.name}`)
            .sort();
        assert.deepStrictEqual(children, [
            "kubernetes:anywhere.eks.amazonaws.com/v1alpha1:Cluster default/mgmt",
            "kubernetes:anywhere.eks.amazonaws.com/v1alpha1:Cluster default/w01-explicit-loopback",
            "kubernetes:anywhere.eks.amazonaws.com/v1alpha1:Cluster default/w02-design-schema",
            "kubernetes:anywhere.eks.amazonaws.com/v1alpha1:Cluster default/w03-kubeadm-spelling",
            "kubernetes:anywhere.eks.amazonaws.com/v1alpha1:Cluster default/w04-not-addresses",
            "kubernetes:core/v1:ConfigMap kube-system/kubeadm-config",
            "kubernetes:core/v1:Pod kube-system/kube-scheduler",
            "kubernetes:core/v1:Pod kube-system/kube-scheduler-all-interfaces",
            "kubernetes:core/v1:Pod kube-system/kube-scheduler-default-bind",
        ]);
        assert.deepStrictEqual(
            registrations
                .filter((r) => !r.custom)
                .map((r) => r.type)
                .sort(),
            ["kubernetes:yaml:ConfigFile", "kubernetes:yaml:ConfigGroup"],
        );
    });

    it("registers the same props the other tests build with asConfigFileChild", () => {
        for (const file of [configFileFixture, ...configGroupFixtures]) {
            for (const document of fixtureDocuments(file)) {
                const expected = asConfigFileChild(document);
                const registered = registrations.find((r) => r.type === expected.type && r.name === expected.name);
                assert.ok(registered, `${expected.type} ${expected.name} was not registered`);
                assert.deepStrictEqual(
                    registered.props,
                    JSON.parse(JSON.stringify(expected.props)),
                    `${expected.type} ${expected.name}`,
                );
            }
        }
    });

    it("catches the violating children and ignores the components", async () => {
        const results: string[] = [];
        for (const registration of registrations) {
            const run = await runPolicy(controlPlaneMetricsNotOnAllInterfaces, registration);
            const unknowns = await runPolicy(controlPlaneMetricsBindAddressUnknownDuringPreview, registration);
            assert.deepStrictEqual(unknowns.violations, []);
            results.push(
                `${registration.name}: ${run.notApplicable !== undefined ? "not applicable" : run.violations.length}`,
            );
            for (const message of run.violations) {
                assert.ok(message.includes(`${registration.type} ${registration.name}`), message);
            }
        }
        assert.deepStrictEqual(results.sort(), [
            "cluster-definitions: not applicable",
            "default/mgmt: 0",
            "default/w01-explicit-loopback: 0",
            "default/w02-design-schema: 2",
            "default/w03-kubeadm-spelling: 2",
            "default/w04-not-addresses: 2",
            "kube-system/kube-scheduler-all-interfaces: 1",
            "kube-system/kube-scheduler-default-bind: 1",
            "kube-system/kube-scheduler: 0",
            "kube-system/kubeadm-config: 2",
            "manifests: not applicable",
        ]);
    });
});
