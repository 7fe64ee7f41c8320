import * as assert from "assert";
import { ETCD_METRICS, etcdMetricsNotExposed } from "../../../policy/policies/etcdMetricsNotExposed";
import { metricsExposureUnknownDuringPreview } from "../../../policy/policies/metricsExposureUnknownDuringPreview";
import {
    asConfigFileChild,
    fixture,
    RegisteredResource,
    runPolicy,
    UNKNOWN_DURING_PREVIEW as SENTINEL,
    withValue,
} from "../harness";

async function violations(resource: RegisteredResource, config: object = {}): Promise<string[]> {
    const run = await runPolicy(etcdMetricsNotExposed, resource, config);
    assert.strictEqual(run.notApplicable, undefined, run.notApplicable);
    assert.strictEqual(run.cantRunDuringPreview, undefined);
    assert.deepStrictEqual((await runPolicy(metricsExposureUnknownDuringPreview, resource)).violations, []);
    return run.violations;
}

type Problem = "all interfaces" | "clear text";
const HEADLINE: Record<Problem, string> = {
    "all interfaces": "etcd metrics would be served on all interfaces",
    "clear text": "etcd metrics would be served in clear text off the node",
};

/** Each message: the URL and the problem, then resource, field and value, why, and what to do. */
function assertMessages(
    messages: string[],
    resource: string,
    expected: [problem: Problem, url: string, path: string, written: string][],
): void {
    assert.strictEqual(messages.length, expected.length, messages.join("\n"));
    expected.forEach(([problem, url, path, written], i) => {
        const message = messages[i];
        assert.ok(message.startsWith(`${HEADLINE[problem]}: ${url}`), message);
        for (const part of [
            `${resource} sets ${path} = ${written}`,
            "keep etcd metrics on http://127.0.0.1:2381",
            "eksa-metrics stack",
        ]) {
            assert.ok(message.includes(part), `${message}\nlacks ${part}`);
        }
    });
}

describe(`policy ${ETCD_METRICS}`, () => {
    describe("etcd static pods and containers", () => {
        const pod = "kubernetes:core/v1:Pod";
        it("passes etcd.yaml as kubeadm writes it (http://127.0.0.1:2381)", async () => {
            assert.deepStrictEqual(await violations(asConfigFileChild(fixture("etcd.yaml", "etcd"))), []);
        });

        it("catches an all-interfaces URL in a list next to loopback", async () => {
            assertMessages(
                await violations(asConfigFileChild(fixture("etcd.yaml", "etcd-all-interfaces"))),
                `${pod} kube-system/etcd-all-interfaces`,
                [
                    [
                        "all interfaces",
                        "http://0.0.0.0:2381",
                        "spec.containers[0].command[2]",
                        '"--listen-metrics-urls=http://127.0.0.1:2381,http://0.0.0.0:2381"',
                    ],
                ],
            );
        });

        it("catches http:// on the node IP (flag and value apart), https on all interfaces and ETCD_LISTEN_METRICS_URLS; https on the node IP passes", async () => {
            assertMessages(
                await violations(asConfigFileChild(fixture("etcd.yaml", "etcd-node-ip"))),
                `${pod} kube-system/etcd-node-ip`,
                [
                    ["clear text", "http://10.0.0.10:2381", "spec.containers[0].command[3]", '"http://10.0.0.10:2381"'],
                    [
                        "all interfaces",
                        "https://[::]:2382",
                        "spec.containers[1].args[0]",
                        '"--listen-metrics-urls=https://10.0.0.10:2381,https://[::]:2382"',
                    ],
                    ["all interfaces", "http://[::]:2381", "spec.containers[2].env[0].value", '"http://[::]:2381"'],
                ],
            );
        });
    });

    describe("kubeadm etcd.local.extraArgs", () => {
        it("KubeadmControlPlane v1beta1 (map)", async () => {
            assertMessages(
                await violations(asConfigFileChild(fixture("kubeadm-etcd.yaml", "w06-etcd-map"))),
                "kubernetes:controlplane.cluster.x-k8s.io/v1beta1:KubeadmControlPlane default/w06-etcd-map",
                [
                    [
                        "all interfaces",
                        "http://0.0.0.0:2381",
                        'spec.kubeadmConfigSpec.clusterConfiguration.etcd.local.extraArgs["listen-metrics-urls"]',
                        '"http://0.0.0.0:2381"',
                    ],
                ],
            );
        });

        it("KubeadmControlPlane v1beta2 (list, every entry)", async () => {
            assertMessages(
                await violations(asConfigFileChild(fixture("kubeadm-etcd.yaml", "w06-etcd-list"))),
                "kubernetes:controlplane.cluster.x-k8s.io/v1beta2:KubeadmControlPlane default/w06-etcd-list",
                [
                    [
                        "clear text",
                        "http://10.0.0.10:2381",
                        "spec.kubeadmConfigSpec.clusterConfiguration.etcd.local.extraArgs[1].value",
                        '"http://10.0.0.10:2381"',
                    ],
                ],
            );
        });

        it("KubeadmControlPlaneTemplate: https on the node IP passes; KubeadmConfig: http://:2381 is all interfaces", async () => {
            assert.deepStrictEqual(
                await violations(asConfigFileChild(fixture("kubeadm-etcd.yaml", "w06-etcd-template"))),
                [],
            );
            assertMessages(
                await violations(asConfigFileChild(fixture("kubeadm-etcd.yaml", "w06-etcd-config"))),
                "kubernetes:bootstrap.cluster.x-k8s.io/v1beta1:KubeadmConfig default/w06-etcd-config",
                [
                    [
                        "all interfaces",
                        "http://:2381",
                        'spec.clusterConfiguration.etcd.local.extraArgs["listen-metrics-urls"]',
                        '"http://:2381"',
                    ],
                ],
            );
        });

        it("kube-system/kubeadm-config: localhost passes, listen_metrics_urls is the same flag", async () => {
            assertMessages(
                await violations(asConfigFileChild(fixture("kubeadm-etcd.yaml", "kubeadm-config"))),
                "kubernetes:core/v1:ConfigMap kube-system/kubeadm-config",
                [
                    [
                        "all interfaces",
                        "http://[::]:2381",
                        "data.ClusterConfiguration (YAML): etcd.local.extraArgs[1].value",
                        '"http://[::]:2381"',
                    ],
                ],
            );
        });

        it("lets a configured allowed host pass", async () => {
            assert.deepStrictEqual(
                await violations(asConfigFileChild(fixture("kubeadm-etcd.yaml", "w06-etcd-list")), {
                    allowedHosts: ["10.0.0.10"],
                }),
                [],
            );
        });
    });

    it("names unknown extraArgs during preview (advisory), and checks them on up", async () => {
        const kcp = asConfigFileChild(fixture("kubeadm-etcd.yaml", "w06-etcd-map"));
        const props = withValue(
            kcp.props,
            ["spec", "kubeadmConfigSpec", "clusterConfiguration", "etcd", "local", "extraArgs"],
            SENTINEL,
        );
        assert.deepStrictEqual((await runPolicy(etcdMetricsNotExposed, { ...kcp, props })).violations, []);
        const unknowns = (await runPolicy(metricsExposureUnknownDuringPreview, { ...kcp, props })).violations;
        assert.strictEqual(unknowns.length, 1, unknowns.join("\n"));
        assert.ok(
            unknowns[0].startsWith(
                `[${ETCD_METRICS}] kubernetes:controlplane.cluster.x-k8s.io/v1beta1:KubeadmControlPlane default/w06-etcd-map: ` +
                    "spec.kubeadmConfigSpec.clusterConfiguration.etcd.local.extraArgs is unknown during preview, so the policy cannot check etcd's metrics listener.",
            ),
            unknowns[0],
        );
    });
});

describe(`policy ${ETCD_METRICS}: wrappers, etcd-manager and what a URL means`, () => {
    const pod = (name: string) => `kubernetes:core/v1:Pod kube-system/${name}`;

    it("reads etcd's flags after env and its assignments; on loopback it passes", async () => {
        const messages = await violations(asConfigFileChild(fixture("wrappers-exposed.yaml", "etcd-env-wrapper")));
        assertMessages(messages, pod("etcd-env-wrapper"), [
            [
                "all interfaces",
                "http://0.0.0.0:2381",
                "spec.containers[0].command[4]",
                '"--listen-metrics-urls=http://0.0.0.0:2381"',
            ],
        ]);
        assert.ok(
            messages[0].includes(
                "etcd serves /metrics and /health there on every interface, IPv4 and IPv6 alike, in plain HTTP and asking no client certificate",
            ),
            messages[0],
        );
        assert.deepStrictEqual(
            await violations(asConfigFileChild(fixture("wrappers-safe.yaml", "etcd-env-wrapper"))),
            [],
        );
    });

    it("reads ETCD_LISTEN_METRICS_URLS of kOps' etcd-manager, which hands it to the etcd it starts; localhost passes", async () => {
        const messages = await violations(asConfigFileChild(fixture("etcd-manager-exposed.yaml")));
        assertMessages(messages, pod("etcd-manager-main"), [
            [
                "all interfaces",
                "http://0.0.0.0:8081",
                "spec.containers[0].env[0].value",
                '"http://0.0.0.0:8081" (etcd-manager passes its ETCD_* variables to the etcd it starts)',
            ],
        ]);
        assert.deepStrictEqual(await violations(asConfigFileChild(fixture("etcd-manager-safe.yaml"))), []);
    });

    it("does not read etcd-manager's own flags as etcd's", async () => {
        const manager = withValue(
            asConfigFileChild(fixture("etcd-manager-safe.yaml")).props,
            ["spec", "containers", 0, "command"],
            ["/etcd-manager", "--listen-metrics-urls=http://0.0.0.0:8081"],
        );
        assert.deepStrictEqual(
            await violations({ ...asConfigFileChild(fixture("etcd-manager-safe.yaml")), props: manager }),
            [],
        );
    });

    it("says what etcd does with URLs it refuses: no port, no host", async () => {
        for (const url of ["http://0.0.0.0", "http://:2381"]) {
            const resource = asConfigFileChild({
                apiVersion: "v1",
                kind: "Pod",
                metadata: { name: "e", namespace: "kube-system" },
                spec: {
                    containers: [
                        {
                            name: "etcd",
                            image: "registry.k8s.io/etcd:3.6.4-0",
                            command: ["etcd", `--listen-metrics-urls=${url}`],
                        },
                    ],
                },
            });
            const [message, ...rest] = await violations(resource);
            assert.deepStrictEqual(rest, []);
            assert.ok(
                message.includes(
                    "etcd refuses to start with this URL (it wants scheme://IP:port, e.g. http://127.0.0.1:2381), and written as http://0.0.0.0:",
                ),
                message,
            );
        }
    });
});
