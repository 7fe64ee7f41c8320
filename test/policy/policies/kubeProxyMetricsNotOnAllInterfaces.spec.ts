import * as assert from "assert";
import {
    KUBE_PROXY_METRICS,
    kubeProxyMetricsNotOnAllInterfaces,
} from "../../../policy/policies/kubeProxyMetricsNotOnAllInterfaces";
import {
    METRICS_EXPOSURE_UNKNOWN,
    metricsExposureUnknownDuringPreview,
} from "../../../policy/policies/metricsExposureUnknownDuringPreview";
import {
    asConfigFileChild,
    fixture,
    RegisteredResource,
    runPolicy,
    UNKNOWN_DURING_PREVIEW as SENTINEL,
    withValue,
} from "../harness";

const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";

/** Runs the policy (it must apply and nothing be unknown) and returns its violations. */
async function violations(resource: RegisteredResource, config: object = {}): Promise<string[]> {
    const run = await runPolicy(kubeProxyMetricsNotOnAllInterfaces, resource, config);
    assert.strictEqual(run.notApplicable, undefined, run.notApplicable);
    assert.strictEqual(run.cantRunDuringPreview, undefined);
    assert.deepStrictEqual((await runPolicy(metricsExposureUnknownDuringPreview, resource)).violations, []);
    return run.violations;
}

/** Every message names resource, field and value, says why, cites CIS 4.3.1 and says what to do. */
function assertMessages(
    messages: string[],
    resource: string,
    expected: [path: string, written: string, reason: string][],
): void {
    assert.strictEqual(messages.length, expected.length, messages.join("\n"));
    expected.forEach(([path, written, reason], i) => {
        const prefix = `kube-proxy metrics would be served on all interfaces: ${resource} sets ${path} = ${written}`;
        assert.ok(messages[i].startsWith(prefix), `${messages[i]}\ndoes not start with\n${prefix}`);
        for (const part of [
            reason,
            "checks no credentials",
            "CIS Kubernetes Benchmark 4.3.1",
            "Set it to 127.0.0.1:10249",
            "eksa-metrics stack",
        ]) {
            assert.ok(messages[i].includes(part), `${messages[i]}\nlacks ${part}`);
        }
    });
}

describe(`policy ${KUBE_PROXY_METRICS}`, () => {
    describe("KubeProxyConfiguration in ConfigMaps", () => {
        it("passes kube-system/kube-proxy as kubeadm uploads it (metricsBindAddress empty: the default)", async () => {
            assert.deepStrictEqual(
                await violations(asConfigFileChild(fixture("kube-proxy-configmap.yaml", "kube-proxy"))),
                [],
            );
        });

        it("catches kube-prometheus' metricsBindAddress: 0.0.0.0:10249", async () => {
            assertMessages(
                await violations(asConfigFileChild(fixture("kube-proxy-configmap.yaml", "kube-proxy-kube-prometheus"))),
                `${CONFIG_MAP} kube-system/kube-proxy-kube-prometheus`,
                [
                    [
                        'data["config.conf"] (YAML): metricsBindAddress',
                        '"0.0.0.0:10249"',
                        '"0.0.0.0" is the unspecified IPv4 address',
                    ],
                ],
            );
        });

        it("parses every spelling of all interfaces; loopback and the node IP pass", async () => {
            assertMessages(
                await violations(asConfigFileChild(fixture("kube-proxy-configmap.yaml", "kube-proxy-spellings"))),
                `${CONFIG_MAP} kube-system/kube-proxy-spellings`,
                [
                    ['data["no-host.conf"] (YAML): metricsBindAddress', '":10249"', "no host, so every interface"],
                    [
                        'data["ipv6.conf"] (YAML): metricsBindAddress',
                        '"[::]:10249"',
                        '"[::]" is the unspecified IPv6 address',
                    ],
                    ['data["bare-port.conf"] (YAML): metricsBindAddress', "10249", "a bare port with no host"],
                    [
                        'data["range.conf"] (YAML): metricsBindAddress',
                        '"0.0.0.0/0:10249"',
                        '"0.0.0.0/0" is the range of every address',
                    ],
                ],
            );
        });

        it("reads KubeProxyConfiguration documents in kubeadm config files", async () => {
            assertMessages(
                await violations(asConfigFileChild(fixture("kube-proxy-configmap.yaml", "kubeadm-bootstrap-proxy"))),
                `${CONFIG_MAP} cluster-bootstrap/kubeadm-bootstrap-proxy`,
                [['data["kubeadm.yaml"] (YAML document 2): metricsBindAddress', '"0.0.0.0:10249"', "unspecified IPv4"]],
            );
        });

        it("lets a configured allowed host pass (configSchema allowedHosts)", async () => {
            const resource = asConfigFileChild(fixture("kube-proxy-configmap.yaml", "kube-proxy-spellings"));
            const messages = await violations(resource, { allowedHosts: ["::", "0.0.0.0/0"] });
            assert.deepStrictEqual(
                messages.map((m) => /data\["([^"]+)"\]/.exec(m)![1]),
                ["no-host.conf", "bare-port.conf"],
            );
        });
    });

    describe("Cluster API KubeadmConfigSpec files", () => {
        const type = "kubernetes:controlplane.cluster.x-k8s.io/v1beta1:KubeadmControlPlane";
        it("decodes plain, base64 and gzip+base64 file contents", async () => {
            assertMessages(
                await violations(asConfigFileChild(fixture("kubeadm-control-plane-files.yaml", "w05-proxy-files"))),
                `${type} default/w05-proxy-files`,
                [
                    [
                        "spec.kubeadmConfigSpec.files[0].content (/etc/kubernetes/kube-proxy-config.yaml) (YAML): metricsBindAddress",
                        '"0.0.0.0:10249"',
                        "unspecified IPv4",
                    ],
                    [
                        "spec.kubeadmConfigSpec.files[1].content (/etc/kubernetes/kube-proxy-b64.yaml) (YAML): metricsBindAddress",
                        '"0.0.0.0:10249"',
                        "unspecified IPv4",
                    ],
                    [
                        "spec.kubeadmConfigSpec.files[2].content (/etc/kubernetes/kube-proxy-gz.yaml) (YAML): metricsBindAddress",
                        '":10249"',
                        "no host",
                    ],
                ],
            );
        });

        it("passes a KubeadmConfigTemplate with 127.0.0.1:10249", async () => {
            assert.deepStrictEqual(
                await violations(asConfigFileChild(fixture("kubeadm-control-plane-files.yaml", "w05-md-0"))),
                [],
            );
        });
    });

    describe("containers running kube-proxy", () => {
        const type = "kubernetes:apps/v1:DaemonSet";
        it("passes kubeadm's kube-proxy DaemonSet (config file, no flag)", async () => {
            assert.deepStrictEqual(
                await violations(asConfigFileChild(fixture("kube-proxy-daemonset.yaml", "kube-proxy"))),
                [],
            );
        });

        it("reads --metrics-bind-address in sh -c scripts (with $(VAR) expansion) and args; a downward-API address passes", async () => {
            const containers = "spec.template.spec.containers";
            assertMessages(
                await violations(asConfigFileChild(fixture("kube-proxy-daemonset.yaml", "kube-proxy-flag"))),
                `${type} kube-system/kube-proxy-flag`,
                [
                    [
                        `${containers}[0].command[2]`,
                        '"$(METRICS_HOST):10249"',
                        '$(METRICS_HOST) is env METRICS_HOST = "0.0.0.0"',
                    ],
                    [`${containers}[1].args[0]`, '"--metrics-bind-address=[::]:10249"', "unspecified IPv6"],
                ],
            );
        });
    });

    it("is not applicable to resources that cannot configure kube-proxy", async () => {
        const run = await runPolicy(kubeProxyMetricsNotOnAllInterfaces, {
            type: "kubernetes:core/v1:Service",
            name: "svc",
            props: { metadata: { name: "svc" } },
        });
        assert.ok(run.notApplicable?.includes("kube-proxy's metrics address"), run.notApplicable);
    });

    describe(`unknown during preview (${METRICS_EXPOSURE_UNKNOWN})`, () => {
        it("names an unknown config.conf of kube-system/kube-proxy and an unknown flag value; the policy itself passes", async () => {
            const configMap = asConfigFileChild(fixture("kube-proxy-configmap.yaml", "kube-proxy"));
            const unknownConfig = {
                ...configMap,
                props: withValue(configMap.props, ["data", "config.conf"], SENTINEL),
            };
            assert.deepStrictEqual((await runPolicy(kubeProxyMetricsNotOnAllInterfaces, unknownConfig)).violations, []);
            const [message, ...rest] = (await runPolicy(metricsExposureUnknownDuringPreview, unknownConfig)).violations;
            assert.deepStrictEqual(rest, []);
            assert.ok(
                message.startsWith(
                    `[${KUBE_PROXY_METRICS}] ${CONFIG_MAP} kube-system/kube-proxy: data["config.conf"] is unknown during preview, so the policy cannot check kube-proxy's metrics address.`,
                ),
                message,
            );
            assert.ok(
                message.includes("checked on `pulumi up`") && message.includes("CIS Kubernetes Benchmark 4.3.1"),
                message,
            );

            const daemonSet = asConfigFileChild(fixture("kube-proxy-daemonset.yaml", "kube-proxy-flag"));
            const unknownArg = {
                ...daemonSet,
                props: withValue(daemonSet.props, ["spec", "template", "spec", "containers", 1, "args", 0], SENTINEL),
            };
            assert.strictEqual(
                (await runPolicy(kubeProxyMetricsNotOnAllInterfaces, unknownArg)).violations.length,
                1,
                "the known script is still checked",
            );
            const unknowns = (await runPolicy(metricsExposureUnknownDuringPreview, unknownArg)).violations;
            assert.deepStrictEqual(
                unknowns.map((m) => /: (\S+) is unknown/.exec(m)?.[1]),
                ["spec.template.spec.containers[1].args[0]"],
            );
        });

        it("stays quiet on ordinary ConfigMaps with computed data", async () => {
            const props = {
                apiVersion: "v1",
                kind: "ConfigMap",
                metadata: { name: "app" },
                data: { "app.conf": SENTINEL },
            };
            assert.deepStrictEqual(
                (await runPolicy(metricsExposureUnknownDuringPreview, { type: CONFIG_MAP, name: "app", props }))
                    .violations,
                [],
            );
        });
    });
});

describe(`policy ${KUBE_PROXY_METRICS}: wrappers and what an address means`, () => {
    const daemonSet = "kubernetes:apps/v1:DaemonSet kube-system/kube-proxy-tini";

    it("reads kube-proxy's flags after tini --; on loopback it passes", async () => {
        assertMessages(
            await violations(asConfigFileChild(fixture("wrappers-exposed.yaml", "kube-proxy-tini"))),
            daemonSet,
            [
                [
                    "spec.template.spec.containers[0].command[4]",
                    '"--metrics-bind-address=0.0.0.0:10249"',
                    "kube-proxy serves its metrics on 0.0.0.0:10249: every interface, IPv4 and IPv6 alike",
                ],
            ],
        );
        assert.deepStrictEqual(
            await violations(asConfigFileChild(fixture("wrappers-safe.yaml", "kube-proxy-tini"))),
            [],
        );
    });

    /** kube-proxy with one --metrics-bind-address value. */
    const withFlag = (value: string) =>
        asConfigFileChild({
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: "p", namespace: "kube-system" },
            spec: {
                containers: [
                    {
                        name: "kube-proxy",
                        image: "registry.k8s.io/kube-proxy:v1.34.4",
                        args: [`--metrics-bind-address=${value}`],
                    },
                ],
            },
        });

    it('passes an empty flag: kube-proxy keeps its default 127.0.0.1:10249 (IPPortVar drops "")', async () => {
        assert.deepStrictEqual(await violations(withFlag("")), []);
    });

    it("says what kube-proxy does with each all-interfaces form", async () => {
        const cases: [value: string, does: string][] = [
            [
                "0.0.0.0",
                "kube-proxy serves its metrics on 0.0.0.0:10249: every interface, IPv4 and IPv6 alike (Go opens the unspecified address dual-stack), as it adds its metrics port to a bare address",
            ],
            ["::", "kube-proxy serves its metrics on [::]:10249"],
            ["[::]:10249", "kube-proxy serves its metrics on [::]:10249: every interface"],
            [
                ":10249",
                "kube-proxy refuses to start with this value (its configuration validation wants IP:port with an IP host), and written as 0.0.0.0:10249 it serves its metrics on every interface",
            ],
            ["0.0.0.0/0", "kube-proxy refuses to start with this value"],
        ];
        for (const [value, does] of cases) {
            const [message, ...rest] = await violations(withFlag(value));
            assert.deepStrictEqual(rest, [], value);
            assert.ok(message.includes(does), `${value}: ${message}`);
        }
    });
});
