import * as assert from "assert";
import { controlPlaneMetricsBindAddressUnknownDuringPreview } from "../../../policy/policies/controlPlaneMetricsBindAddressUnknownDuringPreview";
import {
    controlPlaneMetricsNotOnAllInterfaces,
    NOT_ON_ALL_INTERFACES,
} from "../../../policy/policies/controlPlaneMetricsNotOnAllInterfaces";
import { asConfigFileChild, fixture, PolicyRun, RegisteredResource, runPolicy } from "../harness";

type Component = "kube-scheduler" | "kube-controller-manager";

/** One expected violation. `written` is the field's text as the message quotes it (JSON). */
type Expected =
    | { kind: "all-interfaces"; component: Component; path: string; written: string }
    | { kind: "not-an-address"; component: Component; path: string; written: string; reason: string }
    | { kind: "missing"; component: Component; path: string; program: string };

const q = (s: string) => JSON.stringify(s);
const CIS: Record<Component, string> = {
    "kube-controller-manager": "CIS Kubernetes Benchmark 1.3.7",
    "kube-scheduler": "CIS Kubernetes Benchmark 1.4.2",
};

/** Runs the policy on a registered resource; it must apply, and nothing may be unknown. */
async function check(resource: RegisteredResource): Promise<PolicyRun> {
    const run = await runPolicy(controlPlaneMetricsNotOnAllInterfaces, resource);
    assert.strictEqual(run.notApplicable, undefined, `not applicable: ${run.notApplicable}`);
    assert.strictEqual(run.cantRunDuringPreview, undefined);
    const unknowns = await runPolicy(controlPlaneMetricsBindAddressUnknownDuringPreview, resource);
    assert.deepStrictEqual(unknowns.violations, [], "nothing is unknown in a fully known resource");
    return run;
}

function assertViolations(run: PolicyRun, resource: string, expected: Expected[]): void {
    assert.strictEqual(run.violations.length, expected.length, `got:\n${run.violations.join("\n")}`);
    expected.forEach((e, i) => {
        const message = run.violations[i];
        const prefix =
            e.kind === "all-interfaces"
                ? `${e.component} would listen on all interfaces: ${resource} sets ${e.path} = ${e.written}`
                : e.kind === "not-an-address"
                  ? `${e.component} bind address is not an IP address: ${resource} sets ${e.path} = ${e.written}`
                  : `${e.component} would listen on all interfaces: ${resource} runs ${e.component} in ${e.path} (${e.program}) without --bind-address, which defaults to 0.0.0.0`;
        assert.ok(message.startsWith(prefix), `message:\n  ${message}\ndoes not start with:\n  ${prefix}`);
        if (e.kind === "not-an-address") {
            assert.ok(message.includes(e.reason), `message lacks reason ${q(e.reason)}: ${message}`);
        }
        // Every message cites the CIS recommendation and says what to do instead.
        assert.ok(message.includes(CIS[e.component]), message);
        assert.ok(message.includes(`Keep ${e.component} on --bind-address=127.0.0.1`), message);
        assert.ok(message.includes("eksa-metrics stack"), message);
    });
}

async function expectFixture(
    file: string,
    name: string | undefined,
    resource: string,
    expected: Expected[],
): Promise<void> {
    assertViolations(await check(asConfigFileChild(fixture(file, name))), resource, expected);
}

describe(`policy ${NOT_ON_ALL_INTERFACES}`, () => {
    describe("EKS Anywhere Cluster", () => {
        const type = "kubernetes:anywhere.eks.amazonaws.com/v1alpha1:Cluster";
        const base = "spec.controlPlaneConfiguration";

        it("passes a generated cluster spec (apiServerExtraArgs are not its business)", () =>
            expectFixture("eksa-cluster.yaml", "mgmt", `${type} default/mgmt`, []));

        it("passes explicit loopback addresses in both spellings", () =>
            expectFixture("eksa-cluster.yaml", "w01-explicit-loopback", `${type} default/w01-explicit-loopback`, []));

        it("catches the design's bindAddress: 0.0.0.0 schema for both components", () =>
            expectFixture("eksa-cluster.yaml", "w02-design-schema", `${type} default/w02-design-schema`, [
                {
                    kind: "all-interfaces",
                    component: "kube-controller-manager",
                    path: `${base}.controllerManagerExtraArgs.bindAddress`,
                    written: q("0.0.0.0"),
                },
                {
                    kind: "all-interfaces",
                    component: "kube-scheduler",
                    path: `${base}.schedulerExtraArgs.bindAddress`,
                    written: q("0.0.0.0"),
                },
            ]));

        it("catches the bind-address spelling, IPv4 and IPv6", () =>
            expectFixture("eksa-cluster.yaml", "w03-kubeadm-spelling", `${type} default/w03-kubeadm-spelling`, [
                {
                    kind: "all-interfaces",
                    component: "kube-controller-manager",
                    path: `${base}.controllerManagerExtraArgs["bind-address"]`,
                    written: q("0.0.0.0"),
                },
                {
                    kind: "all-interfaces",
                    component: "kube-scheduler",
                    path: `${base}.schedulerExtraArgs["bind-address"]`,
                    written: q("::"),
                },
            ]));

        it("reports values that are not IP addresses", () =>
            expectFixture("eksa-cluster.yaml", "w04-not-addresses", `${type} default/w04-not-addresses`, [
                {
                    kind: "not-an-address",
                    component: "kube-controller-manager",
                    path: `${base}.controllerManagerExtraArgs["bind-address"]`,
                    written: "10",
                    reason: "not a valid IPv4 address",
                },
                {
                    kind: "not-an-address",
                    component: "kube-scheduler",
                    path: `${base}.schedulerExtraArgs.bindAddress`,
                    written: q("localhost"),
                    reason: "a host name, not an IP address (use 127.0.0.1)",
                },
            ]));
    });

    describe("Cluster API KubeadmControlPlane", () => {
        const v1beta1 = "kubernetes:controlplane.cluster.x-k8s.io/v1beta1:KubeadmControlPlane";
        const v1beta2 = "kubernetes:controlplane.cluster.x-k8s.io/v1beta2:KubeadmControlPlane";
        const cc = "spec.kubeadmConfigSpec.clusterConfiguration";

        it("v1beta1: passes the EKS-A generated control plane", () =>
            expectFixture("kubeadm-control-plane-v1beta1.yaml", "mgmt", `${v1beta1} eksa-system/mgmt`, []));

        it("v1beta1: catches map extraArgs bind-address for both components", () =>
            expectFixture("kubeadm-control-plane-v1beta1.yaml", "w02", `${v1beta1} eksa-system/w02`, [
                {
                    kind: "all-interfaces",
                    component: "kube-controller-manager",
                    path: `${cc}.controllerManager.extraArgs["bind-address"]`,
                    written: q("0.0.0.0"),
                },
                {
                    kind: "all-interfaces",
                    component: "kube-scheduler",
                    path: `${cc}.scheduler.extraArgs["bind-address"]`,
                    written: q("0.0.0.0"),
                },
            ]));

        it("v1beta2: passes loopback list entries (and ignores the API server's)", () =>
            expectFixture("kubeadm-control-plane-v1beta2.yaml", "prod", `${v1beta2} clusters/prod`, []));

        it("v1beta2: catches list extraArgs entries by index", () =>
            expectFixture("kubeadm-control-plane-v1beta2.yaml", "lab", `${v1beta2} clusters/lab`, [
                {
                    kind: "all-interfaces",
                    component: "kube-controller-manager",
                    path: `${cc}.controllerManager.extraArgs[0].value`,
                    written: q("[::]"),
                },
                {
                    kind: "all-interfaces",
                    component: "kube-scheduler",
                    path: `${cc}.scheduler.extraArgs[1].value`,
                    written: q("0.0.0.0"),
                },
            ]));
    });

    describe("Cluster API KubeadmControlPlaneTemplate, KubeadmConfig, KubeadmConfigTemplate", () => {
        const kcpTemplate = "kubernetes:controlplane.cluster.x-k8s.io/v1beta1:KubeadmControlPlaneTemplate";
        const kubeadmConfig = "kubernetes:bootstrap.cluster.x-k8s.io/v1beta1:KubeadmConfig";
        const kubeadmConfigTemplate = "kubernetes:bootstrap.cluster.x-k8s.io/v1beta2:KubeadmConfigTemplate";

        it("KubeadmControlPlaneTemplate: passes the quick-start template", () =>
            expectFixture(
                "kubeadm-control-plane-template.yaml",
                "quick-start-control-plane",
                `${kcpTemplate} default/quick-start-control-plane`,
                [],
            ));

        it("KubeadmControlPlaneTemplate: reads spec.template.spec.kubeadmConfigSpec", () =>
            expectFixture(
                "kubeadm-control-plane-template.yaml",
                "metrics-everywhere-control-plane",
                `${kcpTemplate} default/metrics-everywhere-control-plane`,
                [
                    {
                        kind: "all-interfaces",
                        component: "kube-scheduler",
                        path: 'spec.template.spec.kubeadmConfigSpec.clusterConfiguration.scheduler.extraArgs["bind-address"]',
                        written: q("0.0.0.0"),
                    },
                ],
            ));

        it("KubeadmConfig: passes loopback, catches the long IPv6 spelling of ::", async () => {
            await expectFixture("kubeadm-config.yaml", "mgmt-cp-0", `${kubeadmConfig} eksa-system/mgmt-cp-0`, []);
            await expectFixture("kubeadm-config.yaml", "mgmt-cp-1", `${kubeadmConfig} eksa-system/mgmt-cp-1`, [
                {
                    kind: "all-interfaces",
                    component: "kube-controller-manager",
                    path: 'spec.clusterConfiguration.controllerManager.extraArgs["bind-address"]',
                    written: q("0:0:0:0:0:0:0:0"),
                },
            ]);
        });

        it("KubeadmConfigTemplate: passes a worker template, catches ::ffff:0.0.0.0 and lets 10.0.0.5 pass", async () => {
            await expectFixture(
                "kubeadm-config.yaml",
                "md-0-bootstrap",
                `${kubeadmConfigTemplate} eksa-system/md-0-bootstrap`,
                [],
            );
            await expectFixture(
                "kubeadm-config.yaml",
                "cp-bootstrap",
                `${kubeadmConfigTemplate} eksa-system/cp-bootstrap`,
                [
                    {
                        kind: "all-interfaces",
                        component: "kube-scheduler",
                        path: "spec.template.spec.clusterConfiguration.scheduler.extraArgs[0].value",
                        written: q("::ffff:0.0.0.0"),
                    },
                ],
            );
        });

        it("honours pflag's _/- equivalence in extraArgs keys; a missing key is fine", async () => {
            const config = fixture("kubeadm-config.yaml", "mgmt-cp-0");
            const spec = {
                clusterConfiguration: { controllerManager: { extraArgs: { bind_address: "0.0.0.0" } }, scheduler: {} },
            };
            const run = await check(asConfigFileChild({ ...config, spec }));
            assertViolations(run, `${kubeadmConfig} eksa-system/mgmt-cp-0`, [
                {
                    kind: "all-interfaces",
                    component: "kube-controller-manager",
                    path: "spec.clusterConfiguration.controllerManager.extraArgs.bind_address",
                    written: q("0.0.0.0"),
                },
            ]);
        });
    });

    describe("kubeadm ClusterConfiguration in a ConfigMap", () => {
        const configMap = "kubernetes:core/v1:ConfigMap";

        it("v1beta3: passes kube-system/kubeadm-config as kubeadm uploads it", () =>
            expectFixture("kubeadm-config-v1beta3.yaml", undefined, `${configMap} kube-system/kubeadm-config`, []));

        it("v1beta3: catches map extraArgs inside the YAML", () =>
            expectFixture("kubeadm-config-v1beta3-exposed.yaml", undefined, `${configMap} kube-system/kubeadm-config`, [
                {
                    kind: "all-interfaces",
                    component: "kube-controller-manager",
                    path: 'data.ClusterConfiguration (YAML): controllerManager.extraArgs["bind-address"]',
                    written: q("0.0.0.0"),
                },
                {
                    kind: "all-interfaces",
                    component: "kube-scheduler",
                    path: 'data.ClusterConfiguration (YAML): scheduler.extraArgs["bind-address"]',
                    written: q("0.0.0.0"),
                },
            ]));

        it("v1beta4: passes list extraArgs with 127.0.0.1", () =>
            expectFixture("kubeadm-config-v1beta4.yaml", undefined, `${configMap} kube-system/kubeadm-config`, []));

        it("v1beta4: catches list extraArgs, with white space around the address", () =>
            expectFixture("kubeadm-config-v1beta4-exposed.yaml", undefined, `${configMap} kube-system/kubeadm-config`, [
                {
                    kind: "all-interfaces",
                    component: "kube-controller-manager",
                    path: "data.ClusterConfiguration (YAML): controllerManager.extraArgs[1].value",
                    written: q("0.0.0.0"),
                },
                {
                    kind: "all-interfaces",
                    component: "kube-scheduler",
                    path: "data.ClusterConfiguration (YAML): scheduler.extraArgs[0].value",
                    written: q("0.0.0.0 "),
                },
            ]));

        it("scans every data value, every YAML document, and only kubeadm.k8s.io ClusterConfigurations", () =>
            expectFixture(
                "kubeadm-config-files.yaml",
                undefined,
                `${configMap} cluster-bootstrap/kubeadm-bootstrap-files`,
                [
                    {
                        kind: "all-interfaces",
                        component: "kube-scheduler",
                        path: 'data["kubeadm.yaml"] (YAML document 2): scheduler.extraArgs[0].value',
                        written: q("::"),
                    },
                ],
            ));
    });

    describe("static pods (kubeadm manifests registered as Pods)", () => {
        const pod = "kubernetes:core/v1:Pod";

        it("passes kube-scheduler.yaml and kube-controller-manager.yaml as kubeadm writes them", async () => {
            await expectFixture("kube-scheduler.yaml", "kube-scheduler", `${pod} kube-system/kube-scheduler`, []);
            await expectFixture(
                "kube-controller-manager.yaml",
                "kube-controller-manager",
                `${pod} kube-system/kube-controller-manager`,
                [],
            );
        });

        it("catches --bind-address=0.0.0.0 in command", () =>
            expectFixture(
                "kube-scheduler.yaml",
                "kube-scheduler-all-interfaces",
                `${pod} kube-system/kube-scheduler-all-interfaces`,
                [
                    {
                        kind: "all-interfaces",
                        component: "kube-scheduler",
                        path: "spec.containers[0].command[3]",
                        written: q("--bind-address=0.0.0.0"),
                    },
                ],
            ));

        it("catches a missing --bind-address (the upstream default is 0.0.0.0)", () =>
            expectFixture(
                "kube-scheduler.yaml",
                "kube-scheduler-default-bind",
                `${pod} kube-system/kube-scheduler-default-bind`,
                [
                    {
                        kind: "missing",
                        component: "kube-scheduler",
                        path: "spec.containers[0]",
                        program: 'command[0] "kube-scheduler"',
                    },
                ],
            ));

        it("catches --bind-address 0.0.0.0 as two arguments, naming the value's field", () =>
            expectFixture(
                "kube-controller-manager.yaml",
                "kube-controller-manager-separate-value",
                `${pod} kube-system/kube-controller-manager-separate-value`,
                [
                    {
                        kind: "all-interfaces",
                        component: "kube-controller-manager",
                        path: "spec.containers[0].command[5]",
                        written: q("0.0.0.0"),
                    },
                ],
            ));

        it("reports an interface name as not an address", () =>
            expectFixture(
                "kube-controller-manager.yaml",
                "kube-controller-manager-interface-name",
                `${pod} kube-system/kube-controller-manager-interface-name`,
                [
                    {
                        kind: "not-an-address",
                        component: "kube-controller-manager",
                        path: "spec.containers[0].command[2]",
                        written: q("--bind-address=eth0"),
                        reason: '"eth0" is a host or interface name, not an IP address',
                    },
                ],
            ));
    });

    describe("a second scheduler as a Deployment", () => {
        const deployment = "kubernetes:apps/v1:Deployment";
        const container = "spec.template.spec.containers[0]";

        it("catches the Kubernetes docs' my-scheduler, which has no --bind-address", () =>
            expectFixture("second-scheduler.yaml", "my-scheduler", `${deployment} kube-system/my-scheduler`, [
                {
                    kind: "missing",
                    component: "kube-scheduler",
                    path: container,
                    program: 'command[0] "/usr/local/bin/kube-scheduler"',
                },
            ]));

        it("passes it with --bind-address=127.0.0.1", () =>
            expectFixture(
                "second-scheduler.yaml",
                "my-scheduler-loopback",
                `${deployment} kube-system/my-scheduler-loopback`,
                [],
            ));

        it("recognises the upstream image without a command and reads args", () =>
            expectFixture(
                "second-scheduler.yaml",
                "my-scheduler-upstream-image",
                `${deployment} kube-system/my-scheduler-upstream-image`,
                [
                    {
                        kind: "all-interfaces",
                        component: "kube-scheduler",
                        path: `${container}.args[1]`,
                        written: q("--bind-address=0.0.0.0"),
                    },
                ],
            ));

        it("reads `sh -c` scripts that exec kube-scheduler", async () => {
            const run = await check(asConfigFileChild(fixture("second-scheduler.yaml", "my-scheduler-shell")));
            assertViolations(run, `${deployment} kube-system/my-scheduler-shell`, [
                {
                    kind: "all-interfaces",
                    component: "kube-scheduler",
                    path: `${container}.args[0]`,
                    written: q("--bind-address=0.0.0.0") + " (a word of the shell script)",
                },
            ]);
        });

        it("passes $(POD_IP) from the downward API (one address)", () =>
            expectFixture(
                "second-scheduler.yaml",
                "my-scheduler-pod-ip",
                `${deployment} kube-system/my-scheduler-pod-ip`,
                [],
            ));

        it("expands $(VAR) from a literal env value", () =>
            expectFixture(
                "second-scheduler.yaml",
                "my-scheduler-env-literal",
                `${deployment} kube-system/my-scheduler-env-literal`,
                [
                    {
                        kind: "all-interfaces",
                        component: "kube-scheduler",
                        path: `${container}.command[1]`,
                        written: `${q("--bind-address=$(BIND_ADDRESS)")} ($(BIND_ADDRESS) is env BIND_ADDRESS = "0.0.0.0")`,
                    },
                ],
            ));

        it("leaves host-network pods that run other programs alone (the eksa-metrics proxy)", () =>
            expectFixture(
                "metrics-proxy-daemonset.yaml",
                undefined,
                "kubernetes:apps/v1:DaemonSet observability/metrics-proxy",
                [],
            ));
    });

    describe("every workload kind with a pod template", () => {
        const exposed = {
            name: "kube-scheduler",
            image: "registry.k8s.io/kube-scheduler:v1.31.2",
            command: ["kube-scheduler", "--kubeconfig=/etc/kubernetes/scheduler.conf", "--bind-address=0.0.0.0"],
        };
        const podSpec = { containers: [exposed], hostNetwork: true };
        const template = { metadata: { labels: { app: "scheduler" } }, spec: podSpec };
        const selector = { matchLabels: { app: "scheduler" } };
        const cases: [string, Record<string, unknown>, string][] = [
            ["kubernetes:core/v1:Pod", { spec: podSpec }, "spec.containers[0]"],
            ["kubernetes:core/v1:PodTemplate", { template }, "template.spec.containers[0]"],
            ["kubernetes:core/v1:ReplicationController", { spec: { template } }, "spec.template.spec.containers[0]"],
            ["kubernetes:apps/v1:Deployment", { spec: { selector, template } }, "spec.template.spec.containers[0]"],
            [
                "kubernetes:apps/v1:StatefulSet",
                { spec: { selector, serviceName: "s", template } },
                "spec.template.spec.containers[0]",
            ],
            ["kubernetes:apps/v1:DaemonSet", { spec: { selector, template } }, "spec.template.spec.containers[0]"],
            ["kubernetes:apps/v1:ReplicaSet", { spec: { selector, template } }, "spec.template.spec.containers[0]"],
            ["kubernetes:extensions/v1beta1:Deployment", { spec: { template } }, "spec.template.spec.containers[0]"],
            ["kubernetes:apps/v1beta2:DaemonSet", { spec: { selector, template } }, "spec.template.spec.containers[0]"],
            ["kubernetes:batch/v1:Job", { spec: { template } }, "spec.template.spec.containers[0]"],
            [
                "kubernetes:batch/v1:CronJob",
                { spec: { schedule: "*/5 * * * *", jobTemplate: { spec: { template } } } },
                "spec.jobTemplate.spec.template.spec.containers[0]",
            ],
        ];
        for (const [type, body, container] of cases) {
            it(`${type}: ${container}.command[2]`, async () => {
                const run = await check({
                    type,
                    name: "s",
                    props: { metadata: { name: "s", namespace: "kube-system" }, ...body },
                });
                assertViolations(run, `${type} kube-system/s (Pulumi resource "s")`, [
                    {
                        kind: "all-interfaces",
                        component: "kube-scheduler",
                        path: `${container}.command[2]`,
                        written: q("--bind-address=0.0.0.0"),
                    },
                ]);
            });
        }

        it("init containers (native sidecars) count too", async () => {
            const sidecar = { ...exposed, restartPolicy: "Always" };
            const run = await check({
                type: "kubernetes:core/v1:Pod",
                name: "p",
                props: {
                    metadata: { name: "p" },
                    spec: { initContainers: [sidecar], containers: [{ name: "app", image: "nginx" }] },
                },
            });
            assertViolations(run, "kubernetes:core/v1:Pod p", [
                {
                    kind: "all-interfaces",
                    component: "kube-scheduler",
                    path: "spec.initContainers[0].command[2]",
                    written: q("--bind-address=0.0.0.0"),
                },
            ]);
        });
    });

    describe("command lines", () => {
        const pod = (container: Record<string, unknown>): RegisteredResource => ({
            type: "kubernetes:core/v1:Pod",
            name: "kube-system/c",
            props: {
                apiVersion: "v1",
                kind: "Pod",
                metadata: { name: "c", namespace: "kube-system" },
                spec: { containers: [{ name: "c", ...container }] },
            },
        });
        const resource = "kubernetes:core/v1:Pod kube-system/c";
        const kcm = "registry.k8s.io/kube-controller-manager:v1.31.2";

        it("reads args after command, and args[0] as the binary when there is no command", async () => {
            assertViolations(
                await check(pod({ image: kcm, command: ["kube-controller-manager"], args: ["--bind-address=::"] })),
                resource,
                [
                    {
                        kind: "all-interfaces",
                        component: "kube-controller-manager",
                        path: "spec.containers[0].args[0]",
                        written: q("--bind-address=::"),
                    },
                ],
            );
            assertViolations(
                await check(
                    pod({ image: "example.com/tools:1", args: ["kube-controller-manager", "--bind-address", "0"] }),
                ),
                resource,
                [
                    {
                        kind: "all-interfaces",
                        component: "kube-controller-manager",
                        path: "spec.containers[0].args[2]",
                        written: q("0"),
                    },
                ],
            );
        });

        it("reports the upstream image run without args as missing the flag", async () => {
            assertViolations(await check(pod({ image: kcm })), resource, [
                {
                    kind: "missing",
                    component: "kube-controller-manager",
                    path: "spec.containers[0]",
                    program: `image ${q(kcm)} (its entrypoint, no command)`,
                },
            ]);
        });

        it("ignores a component image that runs another program", async () => {
            assertViolations(await check(pod({ image: kcm, command: ["/bin/sleep", "infinity"] })), resource, []);
        });

        it("checks every occurrence of the flag, and --bind_address", async () => {
            assertViolations(
                await check(
                    pod({
                        image: kcm,
                        command: ["kube-controller-manager", "--bind-address=127.0.0.1", "--bind_address=0.0.0.0"],
                    }),
                ),
                resource,
                [
                    {
                        kind: "all-interfaces",
                        component: "kube-controller-manager",
                        path: "spec.containers[0].command[2]",
                        written: q("--bind_address=0.0.0.0"),
                    },
                ],
            );
        });

        it("reports an empty value as all interfaces (pflag keeps the default 0.0.0.0 from Kubernetes 1.34)", async () => {
            const run = await check(pod({ image: kcm, command: ["kube-controller-manager", "--bind-address="] }));
            assertViolations(run, resource, [
                {
                    kind: "all-interfaces",
                    component: "kube-controller-manager",
                    path: "spec.containers[0].command[1]",
                    written: q("--bind-address="),
                },
            ]);
            assert.ok(
                run.violations[0].includes(
                    "an empty --bind-address keeps the default 0.0.0.0, so from Kubernetes 1.34 kube-controller-manager listens on " +
                        "every interface, IPv4 and IPv6 alike (Go opens the unspecified address dual-stack) (pflag 1.0.6 and later " +
                        'ignore an empty IP flag), and Kubernetes 1.33 and older refuse to start ("failed to parse IP")',
                ),
                run.violations[0],
            );
        });

        it("reports a flag without value and an unresolvable variable as not addresses", async () => {
            assertViolations(
                await check(pod({ image: kcm, command: ["kube-controller-manager", "--bind-address"] })),
                resource,
                [
                    {
                        kind: "not-an-address",
                        component: "kube-controller-manager",
                        path: "spec.containers[0].command[1]",
                        written: `${q("--bind-address")} (no value follows the flag)`,
                        reason: 'refuses to start ("flag needs an argument")',
                    },
                ],
            );
            assertViolations(
                await check(pod({ image: kcm, command: ["kube-controller-manager", "--bind-address=$(NOT_DEFINED)"] })),
                resource,
                [
                    {
                        kind: "not-an-address",
                        component: "kube-controller-manager",
                        path: "spec.containers[0].command[1]",
                        written: `${q("--bind-address=$(NOT_DEFINED)")} ($(NOT_DEFINED) is not resolved by this policy (no literal env value))`,
                        reason: "it contains a variable this policy cannot resolve",
                    },
                ],
            );
        });
    });

    describe("server-side-apply patches", () => {
        it("DeploymentPatch: checks what the patch sets, but a flag it leaves out may already be there", async () => {
            const template = (command: string[]) => ({
                spec: { template: { spec: { containers: [{ name: "kube-second-scheduler", command }] } } },
            });
            const type = "kubernetes:apps/v1:DeploymentPatch";
            const props = (command: string[]) => ({
                metadata: { name: "my-scheduler", namespace: "kube-system" },
                ...template(command),
            });
            assertViolations(
                await check({ type, name: "p", props: props(["kube-scheduler", "--v=4"]) }),
                `${type} kube-system/my-scheduler (Pulumi resource "p")`,
                [],
            );
            assertViolations(
                await check({ type, name: "p", props: props(["kube-scheduler", "--bind-address=0.0.0.0"]) }),
                `${type} kube-system/my-scheduler (Pulumi resource "p")`,
                [
                    {
                        kind: "all-interfaces",
                        component: "kube-scheduler",
                        path: "spec.template.spec.containers[0].command[1]",
                        written: q("--bind-address=0.0.0.0"),
                    },
                ],
            );
        });

        it("ConfigMapPatch and CustomResource patches", async () => {
            const configMap = fixture("kubeadm-config-v1beta3-exposed.yaml");
            const configMapPatch = { ...asConfigFileChild(configMap), type: "kubernetes:core/v1:ConfigMapPatch" };
            assert.strictEqual((await check(configMapPatch)).violations.length, 2);
            const kcp = asConfigFileChild(fixture("kubeadm-control-plane-v1beta2.yaml", "lab"));
            const kcpPatch = { ...kcp, type: `${kcp.type}Patch` };
            assert.strictEqual((await check(kcpPatch)).violations.length, 2);
        });
    });

    describe("resources that cannot set the bind address", () => {
        const types = [
            "kubernetes:core/v1:Service",
            "kubernetes:core/v1:Secret",
            "kubernetes:cluster.x-k8s.io/v1beta1:Cluster", // the CAPI Cluster, not the EKS-A one
            "kubernetes:yaml:ConfigFile",
            "kubernetes:yaml/v2:ConfigGroup",
            "kubernetes:helm.sh/v4:Chart",
            "eksa-metrics:index:MetricsProxy",
            "aws:s3/bucket:Bucket",
        ];
        for (const type of types) {
            it(`${type} is not applicable`, async () => {
                const run = await runPolicy(controlPlaneMetricsNotOnAllInterfaces, {
                    type,
                    name: "x",
                    props: { spec: { bindAddress: "0.0.0.0" } },
                });
                assert.deepStrictEqual(run.violations, []);
                assert.ok(
                    run.notApplicable?.includes("can set the kube-scheduler / kube-controller-manager bind address"),
                    run.notApplicable,
                );
            });
        }
    });
});

describe(`policy ${NOT_ON_ALL_INTERFACES}: wrappers and what an address means`, () => {
    const pod = (name: string) => `kubernetes:core/v1:Pod kube-system/${name}`;

    it("reads the component's flags after /go-runner and its options (kOps' static pods)", () =>
        expectFixture("wrappers-exposed.yaml", "kube-scheduler-go-runner", pod("kube-scheduler-go-runner"), [
            {
                kind: "all-interfaces",
                component: "kube-scheduler",
                path: "spec.containers[0].command[6]",
                written: q("--bind-address=0.0.0.0"),
            },
        ]));

    it("reads args after go-runner as the image's entrypoint (options, --, the component): a missing flag", () =>
        expectFixture(
            "wrappers-exposed.yaml",
            "kube-controller-manager-go-runner",
            pod("kube-controller-manager-go-runner"),
            [
                {
                    kind: "missing",
                    component: "kube-controller-manager",
                    path: "spec.containers[0]",
                    program: `the image's entrypoint runs ${q("/usr/local/bin/kube-controller-manager")} (spec.containers[0].args[3])`,
                },
            ],
        ));

    it("passes the same wrappers on loopback, and leaves a wrapped program that only names a component alone", async () => {
        for (const name of ["kube-scheduler-go-runner", "kube-controller-manager-go-runner", "log-shipper"]) {
            assertViolations(await check(asConfigFileChild(fixture("wrappers-safe.yaml", name))), pod(name), []);
        }
    });

    it("reads wrappers inside `sh -c` scripts and wrappers of wrappers", async () => {
        const script = {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: "s", namespace: "kube-system" },
            spec: {
                containers: [
                    {
                        name: "kube-scheduler",
                        image: "registry.k8s.io/kube-scheduler:v1.34.4",
                        command: [
                            "/bin/sh",
                            "-c",
                            "exec /usr/bin/nice -n 5 /go-runner --log-file=/var/log/s.log /usr/local/bin/kube-scheduler --bind-address=:: > /dev/null 2>&1",
                        ],
                    },
                    {
                        name: "kube-controller-manager",
                        image: "registry.k8s.io/kube-controller-manager:v1.34.4",
                        command: ["/usr/bin/dumb-init", "--", "/usr/bin/timeout", "1h", "kube-controller-manager"],
                        args: ["--bind-address=127.0.0.1"],
                    },
                ],
            },
        };
        assertViolations(await check(asConfigFileChild(script)), pod("s"), [
            {
                kind: "all-interfaces",
                component: "kube-scheduler",
                path: "spec.containers[0].command[2]",
                written: `${q("--bind-address=::")} (a word of the shell script)`,
            },
        ]);
    });

    it("says what the component does with each form of the address", async () => {
        const run = async (value: string) =>
            (
                await check(
                    asConfigFileChild({
                        apiVersion: "v1",
                        kind: "Pod",
                        metadata: { name: "f", namespace: "kube-system" },
                        spec: {
                            containers: [
                                {
                                    name: "kube-scheduler",
                                    image: "registry.k8s.io/kube-scheduler:v1.34.4",
                                    command: ["kube-scheduler", `--bind-address=${value}`],
                                },
                            ],
                        },
                    }),
                )
            ).violations;
        const [zero] = await run("0");
        assert.ok(
            zero.includes(
                '"0" is the unspecified IPv4 address 0.0.0.0: kube-scheduler refuses to start with this notation ("failed to parse IP"',
            ) && zero.includes("written as 0.0.0.0 it listens on every interface"),
            zero,
        );
        const [v6] = await run("::");
        assert.ok(
            v6.includes(
                ":: is the unspecified IPv6 address: kube-scheduler listens on every interface, IPv4 and IPv6 alike",
            ),
            v6,
        );
        const [name] = await run("node-1.example.com");
        assert.ok(name.startsWith("kube-scheduler bind address is not an IP address"), name);
        assert.ok(
            name.includes(
                'kube-scheduler refuses to start with it (--bind-address is pflag\'s IP flag: "failed to parse IP")',
            ),
            name,
        );
        assert.deepStrictEqual(await run("10.0.0.5"), []);
    });
});
