// Values unknown during `pulumi preview` (they depend on other resources' outputs) reach the
// analyzer as the engine's unknown sentinel; @pulumi/policy throws UnknownValueError when a policy
// reads one, and the engine then only notes "can't run policy during preview". Our policies must
// instead check everything known and name each unknown field.

import * as assert from "assert";
import { UNKNOWN } from "../../../core/resources";
import { materializePreviewProps } from "../../../policy/lib/preview";
import {
    controlPlaneMetricsBindAddressUnknownDuringPreview,
    UNKNOWN_DURING_PREVIEW,
} from "../../../policy/policies/controlPlaneMetricsBindAddressUnknownDuringPreview";
import { controlPlaneMetricsNotOnAllInterfaces } from "../../../policy/policies/controlPlaneMetricsNotOnAllInterfaces";
import { ResourceValidationPolicy, unknownCheckingProxy } from "../../../policy/node_modules/@pulumi/policy";
import {
    asConfigFileChild,
    fixture,
    RegisteredResource,
    runPolicy,
    UNKNOWN_DURING_PREVIEW as SENTINEL,
    withValue,
} from "../harness";

interface Outcome {
    violations: string[];
    unknowns: string[];
}

async function outcome(resource: RegisteredResource): Promise<Outcome> {
    const main = await runPolicy(controlPlaneMetricsNotOnAllInterfaces, resource);
    const preview = await runPolicy(controlPlaneMetricsBindAddressUnknownDuringPreview, resource);
    for (const run of [main, preview]) {
        assert.strictEqual(run.cantRunDuringPreview, undefined, "an UnknownValueError escaped the policy");
        assert.strictEqual(run.notApplicable, undefined);
    }
    return { violations: main.violations, unknowns: preview.violations };
}

function assertUnknown(message: string, resource: string, path: string, what: string): void {
    const expected =
        `${resource}: ${path} is unknown during preview, so the policy cannot check ${what}. ` +
        "It will be checked on `pulumi up`, when the value is known, before the resource is created";
    assert.ok(message.startsWith(expected), `message:\n  ${message}\ndoes not start with:\n  ${expected}`);
    assert.ok(/CIS Kubernetes Benchmark 1\.[34]\.[27]/.test(message), message);
}

describe(`policy ${UNKNOWN_DURING_PREVIEW}`, () => {
    it("is advisory by default, so previews are not blocked by values `pulumi up` will check", () => {
        assert.strictEqual(controlPlaneMetricsBindAddressUnknownDuringPreview.enforcementLevel, "advisory");
        assert.strictEqual(
            controlPlaneMetricsNotOnAllInterfaces.enforcementLevel,
            undefined,
            "the pack default (mandatory) applies",
        );
    });

    it("a naive policy reading an unknown value would not run at all during preview (the case we avoid)", async () => {
        const naive: ResourceValidationPolicy = {
            name: "naive",
            description: "reads the field directly",
            validateResource: (args, report) => {
                if (
                    args.props.spec.kubeadmConfigSpec.clusterConfiguration.scheduler.extraArgs["bind-address"] ===
                    "0.0.0.0"
                ) {
                    report("bad");
                }
            },
        };
        const kcp = asConfigFileChild(fixture("kubeadm-control-plane-v1beta1.yaml", "w02"));
        const props = withValue(
            kcp.props,
            ["spec", "kubeadmConfigSpec", "clusterConfiguration", "scheduler", "extraArgs", "bind-address"],
            SENTINEL,
        );
        const run = await runPolicy(naive, { ...kcp, props });
        assert.ok(run.cantRunDuringPreview?.includes("can't be known during preview"), run.cantRunDuringPreview);
    });

    describe("cluster definitions", () => {
        const kcpType = "kubernetes:controlplane.cluster.x-k8s.io/v1beta1:KubeadmControlPlane";

        it("KubeadmControlPlane: an unknown extraArgs value is named, the known one still checked", async () => {
            const kcp = asConfigFileChild(fixture("kubeadm-control-plane-v1beta1.yaml", "w02"));
            const props = withValue(
                kcp.props,
                ["spec", "kubeadmConfigSpec", "clusterConfiguration", "scheduler", "extraArgs", "bind-address"],
                SENTINEL,
            );
            const { violations, unknowns } = await outcome({ ...kcp, props });
            assert.strictEqual(violations.length, 1);
            assert.ok(violations[0].includes('controllerManager.extraArgs["bind-address"] = "0.0.0.0"'), violations[0]);
            assert.strictEqual(unknowns.length, 1);
            assertUnknown(
                unknowns[0],
                `${kcpType} eksa-system/w02`,
                'spec.kubeadmConfigSpec.clusterConfiguration.scheduler.extraArgs["bind-address"]',
                "the kube-scheduler bind address",
            );
        });

        it("KubeadmControlPlane v1beta2: an unknown list entry value", async () => {
            const kcp = asConfigFileChild(fixture("kubeadm-control-plane-v1beta2.yaml", "prod"));
            const props = withValue(
                kcp.props,
                ["spec", "kubeadmConfigSpec", "clusterConfiguration", "controllerManager", "extraArgs", 1, "value"],
                SENTINEL,
            );
            const { violations, unknowns } = await outcome({ ...kcp, props });
            assert.deepStrictEqual(violations, []);
            assert.strictEqual(unknowns.length, 1);
            assertUnknown(
                unknowns[0],
                "kubernetes:controlplane.cluster.x-k8s.io/v1beta2:KubeadmControlPlane clusters/prod",
                "spec.kubeadmConfigSpec.clusterConfiguration.controllerManager.extraArgs[1].value",
                "the kube-controller-manager bind address",
            );
        });

        it("an unknown kubeadmConfigSpec is one finding for both components", async () => {
            const kcp = asConfigFileChild(fixture("kubeadm-control-plane-v1beta1.yaml", "mgmt"));
            const props = withValue(kcp.props, ["spec", "kubeadmConfigSpec"], SENTINEL);
            const { violations, unknowns } = await outcome({ ...kcp, props });
            assert.deepStrictEqual(violations, []);
            assert.strictEqual(unknowns.length, 1);
            assertUnknown(
                unknowns[0],
                `${kcpType} eksa-system/mgmt`,
                "spec.kubeadmConfigSpec",
                "the kube-controller-manager / kube-scheduler bind address",
            );
        });

        it("EKS Anywhere Cluster: unknown schedulerExtraArgs", async () => {
            const cluster = asConfigFileChild(fixture("eksa-cluster.yaml", "mgmt"));
            const props = withValue(
                cluster.props,
                ["spec", "controlPlaneConfiguration", "schedulerExtraArgs"],
                SENTINEL,
            );
            const { violations, unknowns } = await outcome({ ...cluster, props });
            assert.deepStrictEqual(violations, []);
            assert.strictEqual(unknowns.length, 1);
            assertUnknown(
                unknowns[0],
                "kubernetes:anywhere.eks.amazonaws.com/v1alpha1:Cluster default/mgmt",
                "spec.controlPlaneConfiguration.schedulerExtraArgs",
                "the kube-scheduler bind address",
            );
        });

        it("kubeadm-config ConfigMap: unknown ClusterConfiguration; other ConfigMaps with computed data stay quiet", async () => {
            const configMap = asConfigFileChild(fixture("kubeadm-config-v1beta3.yaml"));
            const props = withValue(configMap.props, ["data", "ClusterConfiguration"], SENTINEL);
            const { violations, unknowns } = await outcome({ ...configMap, props });
            assert.deepStrictEqual(violations, []);
            assert.strictEqual(unknowns.length, 1);
            assertUnknown(
                unknowns[0],
                "kubernetes:core/v1:ConfigMap kube-system/kubeadm-config",
                "data.ClusterConfiguration",
                "the kube-controller-manager / kube-scheduler bind address",
            );

            const ordinary = await outcome({
                type: "kubernetes:core/v1:ConfigMap",
                name: "app",
                props: {
                    apiVersion: "v1",
                    kind: "ConfigMap",
                    metadata: { name: "app" },
                    data: { "app.conf": SENTINEL },
                },
            });
            assert.deepStrictEqual(ordinary, { violations: [], unknowns: [] });
        });
    });

    describe("containers", () => {
        const pod = (containers: unknown[]): RegisteredResource => ({
            type: "kubernetes:core/v1:Pod",
            name: "kube-system/kube-scheduler",
            props: {
                apiVersion: "v1",
                kind: "Pod",
                metadata: { name: "kube-scheduler", namespace: "kube-system" },
                spec: { containers, hostNetwork: true },
            },
        });
        const resource = "kubernetes:core/v1:Pod kube-system/kube-scheduler";
        const image = "registry.k8s.io/kube-scheduler:v1.31.2";

        it("an unknown argument of kube-scheduler may be the flag: unknown, not 'missing'", async () => {
            const { violations, unknowns } = await outcome(
                pod([
                    {
                        name: "s",
                        image,
                        command: ["kube-scheduler", "--kubeconfig=/etc/kubernetes/scheduler.conf", SENTINEL],
                    },
                ]),
            );
            assert.deepStrictEqual(violations, []);
            assert.strictEqual(unknowns.length, 1);
            assertUnknown(unknowns[0], resource, "spec.containers[0].command[2]", "the kube-scheduler bind address");
        });

        it("an unknown value after --bind-address", async () => {
            const { violations, unknowns } = await outcome(
                pod([{ name: "s", image, command: ["kube-scheduler", "--bind-address", SENTINEL] }]),
            );
            assert.deepStrictEqual(violations, []);
            assert.strictEqual(unknowns.length, 1);
            assertUnknown(unknowns[0], resource, "spec.containers[0].command[2]", "the kube-scheduler bind address");
        });

        it("unknown args of the component image", async () => {
            const { violations, unknowns } = await outcome(pod([{ name: "s", image, args: SENTINEL }]));
            assert.deepStrictEqual(violations, []);
            assert.strictEqual(unknowns.length, 1);
            assertUnknown(unknowns[0], resource, "spec.containers[0].args", "the kube-scheduler bind address");
        });

        it("an unknown env value behind $(VAR)", async () => {
            const container = {
                name: "s",
                image,
                command: ["kube-scheduler", "--bind-address=$(BIND)"],
                env: [{ name: "BIND", value: SENTINEL }],
            };
            const { violations, unknowns } = await outcome(pod([container]));
            assert.deepStrictEqual(violations, []);
            assert.strictEqual(unknowns.length, 1);
            assertUnknown(unknowns[0], resource, "spec.containers[0].env[0].value", "the kube-scheduler bind address");
        });

        it("an unknown image or command: cannot tell whether it runs a component", async () => {
            const byImage = await outcome(pod([{ name: "s", image: SENTINEL, args: ["--v=2"] }]));
            assert.deepStrictEqual(byImage.violations, []);
            assert.strictEqual(byImage.unknowns.length, 1);
            assertUnknown(
                byImage.unknowns[0],
                resource,
                "spec.containers[0].image",
                "whether it runs kube-controller-manager / kube-scheduler (and with which --bind-address)",
            );

            const byCommand = await outcome(pod([{ name: "s", image, command: SENTINEL }]));
            assert.strictEqual(byCommand.unknowns.length, 1);
            assertUnknown(
                byCommand.unknowns[0],
                resource,
                "spec.containers[0].command",
                "whether it runs kube-controller-manager / kube-scheduler (and with which --bind-address)",
            );
        });

        it("a known violation is still reported next to an unknown container", async () => {
            const { violations, unknowns } = await outcome(
                pod([
                    { name: "a", image: SENTINEL },
                    { name: "s", image, command: ["kube-scheduler", "--bind-address=0.0.0.0"] },
                ]),
            );
            assert.strictEqual(violations.length, 1);
            assert.ok(
                violations[0].startsWith(
                    `kube-scheduler would listen on all interfaces: ${resource} sets spec.containers[1].command[1] = "--bind-address=0.0.0.0"`,
                ),
                violations[0],
            );
            assert.strictEqual(unknowns.length, 1);
            assertUnknown(
                unknowns[0],
                resource,
                "spec.containers[0].image",
                "whether it runs kube-controller-manager / kube-scheduler (and with which --bind-address)",
            );
        });

        it("computed values of ordinary containers stay quiet", async () => {
            const deployment: RegisteredResource = {
                type: "kubernetes:apps/v1:Deployment",
                name: "web",
                props: {
                    metadata: { name: "web" },
                    spec: {
                        template: {
                            spec: {
                                containers: [
                                    {
                                        name: "web",
                                        image: "nginx:1.27",
                                        args: [SENTINEL],
                                        env: [{ name: "DB", value: SENTINEL }],
                                    },
                                ],
                            },
                        },
                    },
                },
            };
            assert.deepStrictEqual(await outcome(deployment), { violations: [], unknowns: [] });
        });
    });

    describe("materializePreviewProps", () => {
        it("copies @pulumi/policy's unknown-checking proxy into plain data with UNKNOWN markers", () => {
            const proxied = unknownCheckingProxy({ a: { b: [1, SENTINEL, { c: SENTINEL }] }, d: SENTINEL, e: "x" });
            assert.deepStrictEqual(materializePreviewProps(proxied), {
                a: { b: [1, UNKNOWN, { c: UNKNOWN }] },
                d: UNKNOWN,
                e: "x",
            });
        });
    });
});
