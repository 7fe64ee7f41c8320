/**
 * The component under Pulumi's mocks: the resource graph and the fields that matter, read from
 * what the component registers (the engine never runs here; the end-to-end tests run it for real).
 */
import { strict as assert } from "assert";
import { checkedElsewhere } from "../../cluster/preflightRun";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import { FAKE_CERTIFICATE } from "../support/fakeCertificate";
import { isSecret, unwrapSecrets as unwrap } from "../support/mockSecrets";

interface Registered {
    type: string;
    name: string;
    inputs: any;
    /** As registered, secrets still wrapped. */
    raw: any;
}

const registered: Registered[] = [];

pulumi.runtime.setMocks(
    {
        newResource(args: pulumi.runtime.MockResourceArgs) {
            registered.push({ type: args.type, name: args.name, inputs: unwrap(args.inputs), raw: args.inputs });
            const state: any = unwrap(args.inputs);
            if (args.type === "command:local:Command") {
                state.stdout = args.name.endsWith("-certificate")
                    ? JSON.stringify(FAKE_CERTIFICATE)
                    : "verified: 15 checks passed";
                state.stderr = "";
            }
            if (args.type.startsWith("kubernetes:")) {
                state.metadata = { ...args.inputs.metadata, name: args.inputs.metadata?.name ?? `${args.name}-abc123` };
            }
            return { id: `${args.name}-id`, state };
        },
        call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
    },
    "eksa-metrics",
    "test",
    false,
);

// Imported after setMocks, as Pulumi's testing guide requires.
import { MetricsStack, MetricsStackArgs } from "../../components/metricsStack";

function output<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) =>
        o.apply((v) => {
            resolve(v);
            return v;
        }),
    );
}

interface Captured {
    type: string;
    name: string;
    opts: pulumi.CustomResourceOptions;
}

async function build(args: MetricsStackArgs) {
    registered.length = 0;
    const captured: Captured[] = [];
    const stack = new MetricsStack("metrics", args, {
        transformations: [
            (t) => {
                captured.push({ type: t.type, name: t.name, opts: t.opts });
                return undefined;
            },
        ],
    });
    await output(stack.verificationPlan);
    await output(
        pulumi.all([
            stack.namespace,
            stack.readerRoleName,
            stack.caCertificate,
            stack.verificationReport ?? pulumi.output(""),
        ]),
    );
    // Then until every registration the component started (its transformation saw each) has reached the mocks.
    const pending = () => captured.filter((c) => !registered.some((r) => r.type === c.type && r.name === c.name));
    for (const deadline = Date.now() + 10_000; pending().length > 0;) {
        if (Date.now() > deadline) {
            throw new Error(`never registered: ${pending().map((c) => `${c.type} ${c.name}`)}`);
        }
        await new Promise((r) => setImmediate(r));
    }
    return { stack, captured, resources: [...registered] };
}

const KUBECONFIG = "apiVersion: v1\nkind: Config\n# secret-marker-kubeconfig\n";
const byType = (resources: Registered[], type: string) => resources.filter((r) => r.type === type);
const one = (resources: Registered[], type: string, name?: string) => {
    const found = resources.filter((r) => r.type === type && (name === undefined || r.name === name));
    assert.equal(found.length, 1, `expected one ${type} ${name ?? ""}, got ${found.map((r) => r.name).join(", ")}`);
    return found[0];
};

describe("MetricsStack (mocked engine)", function () {
    this.timeout(20_000);
    // These specs are about what the component registers: its preflight, which reads a real cluster, has its
    // own (test/cluster/preflightRun.spec.ts, test/e2e/library.spec.ts). As after the program's preflight:
    before(() => checkedElsewhere(KUBECONFIG));

    it("registers the whole stack as children of the component", async () => {
        const { resources, captured } = await build({ kubeconfig: KUBECONFIG });
        assert.deepEqual(
            resources.map((r) => `${r.type} ${r.name}`).sort(),
            [
                "command:local:Command metrics-certificate",
                "command:local:Command metrics-verify",
                "eksa-metrics:index:MetricsStack metrics",
                "kubernetes:apps/v1:DaemonSet metrics-control-plane",
                "kubernetes:apps/v1:DaemonSet metrics-worker",
                "kubernetes:core/v1:ConfigMap metrics-control-plane-haproxy",
                "kubernetes:core/v1:ConfigMap metrics-worker-haproxy",
                "kubernetes:core/v1:Namespace metrics-namespace",
                "kubernetes:core/v1:Secret metrics-tls",
                "kubernetes:core/v1:ServiceAccount metrics-proxy",
                "kubernetes:core/v1:ServiceAccount metrics-unbound",
                "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole metrics-metrics-reader",
                "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding metrics-metrics-reader",
                "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding metrics-token-review",
            ].sort(),
        );
        assert.ok(
            captured.length >= 11 &&
                captured
                    .filter((c) => c.type !== "eksa-metrics:index:MetricsStack")
                    .every((c) => c.opts.parent instanceof MetricsStack),
            "every child has the component as parent",
        );
    });

    it("outputs the alert rules as a plain rule file, and for the Prometheus Operator the same rules and jobs as its objects", async () => {
        const { stack, resources } = await build({
            kubeconfig: KUBECONFIG,
            prometheusOperator: { enabled: true, labels: { release: "kps" } },
        });
        assert.equal(await (stack.alertRules as any).isSecret, false, "the certificate's notAfter is public");
        const groups = (yaml.load(await output(stack.alertRules)) as { groups: any[] }).groups;
        assert.deepEqual(
            groups[0].rules.find((r: any) => r.record).expr,
            `vector(${Date.parse(FAKE_CERTIFICATE.serving.notAfter) / 1000})`,
        );
        const rule = one(resources, "kubernetes:monitoring.coreos.com/v1:PrometheusRule", "metrics-alerts").inputs;
        assert.deepEqual(
            [rule.metadata, rule.spec.groups],
            [{ name: "metrics-alerts", namespace: "monitoring", labels: { release: "kps" } }, groups],
        );
        assert.deepEqual(
            byType(resources, "kubernetes:monitoring.coreos.com/v1alpha1:ScrapeConfig")
                .map((r) => r.inputs.spec.jobName)
                .sort(),
            ["etcd", "kube-controller-manager", "kube-proxy", "kube-scheduler"],
        );
        const ca = one(resources, "kubernetes:core/v1:ConfigMap", "metrics-operator-ca");
        assert.deepEqual(ca.inputs.data, { "ca.crt": "CA-PEM\n" });
        assert.ok(!isSecret(ca.raw.data["ca.crt"]), "the CA is public");
        const token = one(resources, "kubernetes:core/v1:Secret", "metrics-scraper-token").inputs;
        assert.deepEqual(
            [token.type, token.metadata.annotations],
            ["kubernetes.io/service-account-token", { "kubernetes.io/service-account.name": "metrics-scraper" }],
        );
        const binding = one(
            resources,
            "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
            "metrics-scraper",
        ).inputs;
        assert.deepEqual(
            [binding.roleRef.name, binding.subjects],
            [
                "metrics-metrics-reader-abc123",
                [{ kind: "ServiceAccount", name: "metrics-scraper", namespace: "monitoring" }],
            ],
        );
        const without = (await build({ kubeconfig: KUBECONFIG })).resources;
        assert.ok(
            !without.some(
                (r) => r.type.startsWith("kubernetes:monitoring.coreos.com/") || r.name.startsWith("metrics-scraper"),
            ),
            "nothing for the operator unless enabled",
        );
    });

    it("grants readers GET on /metrics only, bound to the configured subjects", async () => {
        const readers = [
            { kind: "ServiceAccount" as const, name: "prometheus-k8s", namespace: "monitoring" },
            { kind: "Group" as const, name: "sre" },
        ];
        const { resources } = await build({ kubeconfig: KUBECONFIG, readers });
        assert.deepEqual(one(resources, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole").inputs.rules, [
            { nonResourceURLs: ["/metrics"], verbs: ["get"] },
        ]);
        const binding = one(
            resources,
            "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
            "metrics-metrics-reader",
        ).inputs;
        assert.deepEqual(binding.subjects, [
            { kind: "ServiceAccount", name: "prometheus-k8s", namespace: "monitoring" },
            { kind: "Group", name: "sre", apiGroup: "rbac.authorization.k8s.io" },
        ]);
        assert.equal(binding.roleRef.name, "metrics-metrics-reader-abc123");
        const review = one(
            resources,
            "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
            "metrics-token-review",
        ).inputs;
        assert.equal(review.roleRef.name, "system:auth-delegator");
        assert.deepEqual(review.subjects, [
            { kind: "ServiceAccount", name: "metrics-proxy-abc123", namespace: "eksa-metrics" },
        ]);
    });

    it("runs haproxy in front of every port, and kube-rbac-proxy on loopback behind it for the components that authenticate nobody, locked down", async () => {
        const { resources } = await build({ kubeconfig: KUBECONFIG });
        const ds = one(resources, "kubernetes:apps/v1:DaemonSet", "metrics-control-plane").inputs;
        const pod = ds.spec.template.spec;
        assert.equal(pod.hostNetwork, true);
        assert.equal(pod.automountServiceAccountToken, false);
        assert.equal(pod.priorityClassName, "system-node-critical");
        assert.deepEqual(pod.securityContext, {
            runAsNonRoot: true,
            runAsUser: 65534,
            runAsGroup: 65534,
            fsGroup: 65534,
            seccompProfile: { type: "RuntimeDefault" },
        });
        assert.deepEqual(pod.nodeSelector, { "node-role.kubernetes.io/control-plane": "" });
        assert.deepEqual(pod.tolerations, [
            { key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" },
            { key: "node-role.kubernetes.io/master", operator: "Exists", effect: "NoSchedule" },
        ]);
        assert.deepEqual(
            pod.containers.map((c: any) => c.name),
            ["haproxy", "rbac-proxy-kube-proxy", "rbac-proxy-etcd"],
        );
        for (const c of pod.containers) {
            assert.deepEqual(c.securityContext, {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                capabilities: { drop: ["ALL"] },
            });
            // Only haproxy needs the node's address: kube-rbac-proxy listens on loopback.
            assert.deepEqual(
                c.env,
                c.name === "haproxy"
                    ? [{ name: "NODE_IP", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "status.hostIP" } } }]
                    : undefined,
            );
            assert.ok(
                c.readinessProbe && c.livenessProbe && c.resources.requests && c.resources.limits,
                `${c.name} lacks probes or resources`,
            );
        }
        const [haproxy, kubeProxyGate, etcdGate] = pod.containers;
        const gateHost = kubeProxyGate.args[0].replace(/^--secure-listen-address=(.*):10249$/, "$1");
        assert.equal(haproxy.image, "public.ecr.aws/eks-anywhere/kubernetes-sigs/kind/haproxy:v0.20.0-eks-a-54");
        // No port declared (the scheduler would refuse a surge pod while the old one holds them): the pod
        // names its node ports in an annotation, for the preflight.
        assert.ok(pod.containers.every((c: any) => c.ports === undefined));
        assert.deepEqual(ds.spec.template.metadata.annotations, {
            "eksa-metrics/host-ports": "2381,10249,10257,10259,10263",
        });
        // haproxy keeps accepting while a replacement starts, then soft-stops (SIGUSR1, the image's
        // STOPSIGNAL); kube-rbac-proxy outlives it; the grace covers both and haproxy's longest request.
        assert.deepEqual(haproxy.lifecycle, { preStop: { sleep: { seconds: 5 } } });
        assert.deepEqual(kubeProxyGate.lifecycle, { preStop: { sleep: { seconds: 8 } } });
        assert.equal(pod.terminationGracePeriodSeconds, 5 + 3 + 30);
        assert.deepEqual(haproxy.readinessProbe.httpGet, { path: "/healthz", port: 10263, scheme: "HTTP" });
        assert.ok(!haproxy.volumeMounts.some((m: any) => m.name === "kube-api-access"), "haproxy gets no API token");
        assert.deepEqual(kubeProxyGate.args, [
            `--secure-listen-address=${gateHost}:10249`,
            "--upstream=http://127.0.0.1:10249/",
            "--allow-paths=/metrics",
            "--tls-cert-file=/etc/eksa-metrics/tls/tls.crt",
            "--tls-private-key-file=/etc/eksa-metrics/tls/tls.key",
            "--tls-min-version=VersionTLS12",
        ]);
        assert.match(gateHost, /^127\.100\.\d+\.\d+$/);
        assert.deepEqual(etcdGate.readinessProbe.tcpSocket, { host: gateHost, port: 2381 });
        assert.ok(
            kubeProxyGate.volumeMounts.some(
                (m: any) =>
                    m.name === "kube-api-access" && m.mountPath === "/var/run/secrets/kubernetes.io/serviceaccount",
            ),
        );
        const configMap = one(resources, "kubernetes:core/v1:ConfigMap", "metrics-control-plane-haproxy").inputs;
        assert.equal(configMap.immutable, true);
        assert.match(
            configMap.data["haproxy.cfg"],
            /frontend kube-controller-manager[\s\S]*frontend kube-scheduler[\s\S]*frontend kube-proxy[\s\S]*frontend etcd/,
        );
        assert.ok(configMap.data["haproxy.cfg"].includes(`server etcd ${gateHost}:2381 ssl verify none`));
        assert.equal(
            pod.volumes.find((v: any) => v.name === "haproxy-config").configMap.name,
            "metrics-control-plane-haproxy-abc123",
        );
    });

    it("puts haproxy and kube-proxy's gate on workers, away from control-plane nodes", async () => {
        const { resources } = await build({
            kubeconfig: KUBECONFIG,
            tolerations: [{ key: "dedicated", operator: "Exists", effect: "NoSchedule" }],
        });
        const pod = one(resources, "kubernetes:apps/v1:DaemonSet", "metrics-worker").inputs.spec.template.spec;
        assert.deepEqual(
            pod.containers.map((c: any) => c.name),
            ["haproxy", "rbac-proxy-kube-proxy"],
        );
        assert.deepEqual(
            pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]
                .matchExpressions,
            [
                { key: "node-role.kubernetes.io/control-plane", operator: "DoesNotExist" },
                { key: "node-role.kubernetes.io/master", operator: "DoesNotExist" },
            ],
        );
        assert.deepEqual(pod.tolerations, [{ key: "dedicated", operator: "Exists", effect: "NoSchedule" }]);
        assert.ok(pod.volumes.some((v: any) => v.name === "haproxy-config"));
    });

    it("deploys no worker DaemonSet and no gate RBAC when kube-proxy and etcd are off", async () => {
        const { resources } = await build({ kubeconfig: KUBECONFIG, components: { "kube-proxy": false, etcd: false } });
        assert.deepEqual(
            byType(resources, "kubernetes:apps/v1:DaemonSet").map((r) => r.name),
            ["metrics-control-plane"],
        );
        assert.equal(byType(resources, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding").length, 1);
    });

    it("keeps etcd off the control plane with an external etcd", async () => {
        const { resources, stack } = await build({
            kubeconfig: KUBECONFIG,
            etcd: { topology: "external", endpoints: ["https://10.0.0.21:2379"] },
        });
        const pod = one(resources, "kubernetes:apps/v1:DaemonSet", "metrics-control-plane").inputs.spec.template.spec;
        assert.deepEqual(
            pod.containers.map((c: any) => c.name),
            ["haproxy", "rbac-proxy-kube-proxy"],
        );
        const endpoints = await output(stack.endpoints);
        assert.deepEqual(
            endpoints.find((e) => e.nodes === "external"),
            {
                component: "etcd",
                url: "https://10.0.0.21:2379/metrics",
                nodes: "external",
                authenticatedBy: "etcd client certificate",
            },
        );
    });

    it("uses an existing namespace when told to", async () => {
        const { resources, stack } = await build({
            kubeconfig: KUBECONFIG,
            createNamespace: false,
            namespace: "monitoring",
        });
        assert.equal(byType(resources, "kubernetes:core/v1:Namespace").length, 0);
        assert.equal(await output(stack.namespace), "monitoring");
        assert.equal(
            one(resources, "kubernetes:apps/v1:DaemonSet", "metrics-worker").inputs.metadata.namespace,
            "monitoring",
        );
    });

    it("keeps the TLS key in an immutable Secret and the issuing command's output secret", async () => {
        const { resources, captured } = await build({ kubeconfig: KUBECONFIG });
        const secret = one(resources, "kubernetes:core/v1:Secret").inputs;
        assert.equal(secret.immutable, true);
        assert.equal(secret.stringData["haproxy.pem"], "CERT-PEM\nKEY-PEM\n");
        assert.ok(
            isSecret(one(resources, "kubernetes:core/v1:Secret").raw.stringData),
            "the key material is a secret input",
        );
        const issuing = captured.find((c) => c.name === "metrics-certificate")!;
        assert.deepEqual(issuing.opts.additionalSecretOutputs, ["stdout", "stderr"]);
        const command = one(resources, "command:local:Command", "metrics-certificate").inputs;
        assert.equal(command.logging, "none");
        assert.match(
            command.create,
            /^node --require ts-node\/register\/transpile-only components\/issueCertificate\.ts$/,
        );
        // The same script on update, which hands it the stored state; the period, not the time, as input.
        assert.equal(command.update, command.create);
        assert.deepEqual(command.environment, {
            SERVER_NAME: "eksa-metrics-metrics-proxy",
            VALIDITY_DAYS: "90",
            CA_VALIDITY_DAYS: "3650",
            PERIOD: command.environment.PERIOD,
        });
        assert.match(command.environment.PERIOD, /^60d#\d+$/);
        assert.equal(command.triggers, undefined);
        assert.deepEqual(issuing.opts.ignoreChanges, ["triggers"], "a stack of the previous version updates");
    });

    it("publishes when the next up renews and when each certificate expires, plainly, with no key anywhere public", async () => {
        const { stack } = await build({ kubeconfig: KUBECONFIG });
        const renewal = await output(stack.tlsRenewal);
        assert.equal(await pulumi.isSecret(stack.tlsRenewal), false);
        assert.equal(renewal.phase, "single CA");
        assert.deepEqual(
            [renewal.servingCertificate.notAfter, renewal.ca.notAfter],
            ["2027-01-01T00:00:00.000Z", "2036-01-01T00:00:00.000Z"],
        );
        assert.match(renewal.nextRenewal.at, /^\d{4}-\d{2}-\d{2}T00:00:00\.000Z$/);
        const published = JSON.stringify([
            await output(stack.caCertificate),
            renewal,
            await output(stack.alertRules),
            await output(stack.verificationPlan),
        ]);
        assert.doesNotMatch(published, /KEY-PEM/);
    });

    it("publishes the CA certificate and the verification table as plain outputs (the private key stays secret)", async () => {
        const { stack } = await build({ kubeconfig: KUBECONFIG });
        assert.equal(await output(stack.caCertificate), "CA-PEM\n");
        assert.equal(
            await pulumi.isSecret(stack.caCertificate),
            false,
            "clients save it with pulumi stack output caCertificate",
        );
        assert.equal(await pulumi.isSecret(stack.verificationReport!), false);
    });

    it("verifies after the rollout, with the kubeconfig only in a secret environment and never a token in the command", async () => {
        const { resources, captured } = await build({ kubeconfig: KUBECONFIG });
        const verify = one(resources, "command:local:Command", "metrics-verify").inputs;
        assert.equal(verify.create, "node --require ts-node/register/transpile-only verify/main.ts");
        assert.equal(verify.logging, "none");
        assert.doesNotMatch(
            JSON.stringify({ create: verify.create, plan: verify.environment.EKSA_METRICS_VERIFY_PLAN }),
            /secret-marker-kubeconfig|Bearer|token=/i,
        );
        const plan = JSON.parse(verify.environment.EKSA_METRICS_VERIFY_PLAN);
        assert.deepEqual(plan.serviceAccount, { name: "prometheus-server", namespace: "observability" });
        assert.deepEqual(
            plan.components.map((c: any) => c.name),
            ["kube-controller-manager", "kube-scheduler", "kube-proxy", "etcd"],
        );
        assert.equal(plan.caCertificate, "CA-PEM\n");
        const opts = captured.find((c) => c.name === "metrics-verify")!.opts;
        assert.deepEqual(opts.additionalSecretOutputs, ["stdout", "stderr"]);
        const dependsOn = (opts.dependsOn as pulumi.Resource[]).map((r) => (r as any).__name);
        assert.deepEqual(dependsOn, [
            "metrics-control-plane",
            "metrics-worker",
            "metrics-metrics-reader",
            "metrics-token-review",
            "metrics-unbound",
        ]);
        assert.deepEqual(plan.unboundServiceAccount, { name: "eksa-metrics-unbound", namespace: "eksa-metrics" });
        assert.ok(
            isSecret(one(resources, "command:local:Command", "metrics-verify").raw.environment),
            "the environment is a secret input",
        );
        assert.equal(verify.environment.EKSA_METRICS_KUBECONFIG, KUBECONFIG);
    });

    it("changes the verification's inputs when what it verifies changes, and only then", async () => {
        const plan = async (args: MetricsStackArgs) =>
            one((await build(args)).resources, "command:local:Command", "metrics-verify").inputs.environment
                .EKSA_METRICS_VERIFY_PLAN;
        const base = await plan({ kubeconfig: KUBECONFIG });
        assert.equal(await plan({ kubeconfig: KUBECONFIG }), base, "same config, same inputs: nothing re-runs");
        assert.notEqual(await plan({ kubeconfig: KUBECONFIG, proxyImage: "mirror.example/haproxy:1" }), base);
        assert.notEqual(
            await plan({
                kubeconfig: KUBECONFIG,
                readers: [
                    { kind: "ServiceAccount", name: "prometheus-server", namespace: "observability" },
                    { kind: "User", name: "alice" },
                ],
            }),
            base,
        );
        assert.notEqual(await plan({ kubeconfig: KUBECONFIG, components: { etcd: false } }), base);
    });

    describe("controllers", () => {
        const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        const extra = {
            name: "my-operator",
            namespace: "my-operator-system",
            selector: { "control-plane": "controller-manager" },
        };
        const verifyPlan = (resources: Registered[]) =>
            JSON.parse(
                one(resources, "command:local:Command", "metrics-verify").inputs.environment.EKSA_METRICS_VERIFY_PLAN,
            );

        it("scrapes and verifies none unless told (the component does not read the cluster)", async () => {
            const { stack, resources } = await build({ kubeconfig: KUBECONFIG });
            assert.deepEqual([verifyPlan(resources).controllers, verifyPlan(resources).controllerTls], [[], {}]);
            assert.ok(!(await output(stack.endpoints)).some((e) => e.nodes === "controller pods"));
        });

        it("puts the listed and the extra controllers in the plan, the scrape jobs and the endpoints, saying their certificates are not pinned", async () => {
            const { stack, resources } = await build({
                kubeconfig: KUBECONFIG,
                controllers: { expect: ["capi-controller-manager"], extra: [extra] },
            });
            assert.deepEqual(verifyPlan(resources).controllers, [
                {
                    name: "capi-controller-manager",
                    namespace: "capi-system",
                    selector: { "cluster.x-k8s.io/provider": "cluster-api" },
                    port: 8443,
                },
                { ...extra, port: 8443 },
            ]);
            const jobs = (yaml.load(await output(stack.scrapeConfig)) as { scrape_configs: any[] }).scrape_configs;
            const capi = jobs.find((j) => j.job_name === "capi-controller-manager");
            assert.deepEqual(
                [capi.tls_config, capi.kubernetes_sd_configs[0].namespaces],
                [{ insecure_skip_verify: true }, { names: ["capi-system"] }],
            );
            assert.ok(jobs.some((j) => j.job_name === "my-operator"));
            assert.deepEqual(
                (await output(stack.endpoints)).filter((e) => e.nodes === "controller pods"),
                [
                    {
                        component: "capi-controller-manager",
                        url: "https://POD_IP:8443/metrics",
                        nodes: "controller pods",
                        authenticatedBy: "controller-runtime (TokenReview + SubjectAccessReview)",
                        certificate: "self-signed, not pinned",
                    },
                    {
                        component: "my-operator",
                        url: "https://POD_IP:8443/metrics",
                        nodes: "controller pods",
                        authenticatedBy: "controller-runtime (TokenReview + SubjectAccessReview)",
                        certificate: "self-signed, not pinned",
                    },
                ],
            );
        });

        it("pins a controllers CA in the plan and the scrape jobs, as public data", async () => {
            const tls = { caCertificate: PEM, serverName: "controllers.example.internal" };
            const { stack, resources } = await build({
                kubeconfig: KUBECONFIG,
                controllers: { expect: ["capi-controller-manager"], tls },
            });
            assert.deepEqual(verifyPlan(resources).controllerTls, tls);
            const [capi] = (
                yaml.load(await output(stack.scrapeConfig)) as { scrape_configs: any[] }
            ).scrape_configs.filter((j) => j.job_name === "capi-controller-manager");
            assert.deepEqual(capi.tls_config, {
                ca_file: "/etc/prometheus/eksa-metrics/controllers-ca.crt",
                server_name: "controllers.example.internal",
            });
            assert.equal(
                (await output(stack.endpoints)).find((e) => e.component === "capi-controller-manager")?.certificate,
                "pinned: controllers.tls.caCertificate",
            );
            assert.equal(await pulumi.isSecret(stack.verificationPlan), false);
        });

        it("gives the Prometheus Operator a ScrapeConfig per controller too, by pod discovery", async () => {
            const { resources } = await build({
                kubeconfig: KUBECONFIG,
                prometheusOperator: { enabled: true },
                controllers: { expect: ["capi-controller-manager"] },
            });
            const capi = one(
                resources,
                "kubernetes:monitoring.coreos.com/v1alpha1:ScrapeConfig",
                "metrics-capi-controller-manager-scrape",
            ).inputs.spec;
            assert.deepEqual(
                [capi.jobName, capi.kubernetesSDConfigs[0].role, capi.tlsConfig],
                ["capi-controller-manager", "Pod", { insecureSkipVerify: true }],
            );
        });

        it("re-runs the verification when the controllers change", async () => {
            const plan = async (args: MetricsStackArgs) =>
                one((await build(args)).resources, "command:local:Command", "metrics-verify").inputs.environment
                    .EKSA_METRICS_VERIFY_PLAN;
            assert.notEqual(
                await plan({ kubeconfig: KUBECONFIG, controllers: { expect: ["capi-controller-manager"] } }),
                await plan({ kubeconfig: KUBECONFIG }),
            );
        });

        it("rejects an unknown controller before registering anything", () => {
            registered.length = 0;
            assert.throws(
                () =>
                    new MetricsStack("bad", {
                        kubeconfig: KUBECONFIG,
                        controllers: { expect: ["capd-controller-manager"] },
                    }),
                /controllers\.expect\[0\]: "capd-controller-manager" is not a catalogue controller/,
            );
            assert.equal(registered.length, 0);
        });
    });

    it("leaves the verification out when switched off", async () => {
        const { resources, stack } = await build({ verify: { enabled: false } });
        assert.equal(
            byType(resources, "command:local:Command")
                .map((r) => r.name)
                .join(),
            "metrics-certificate",
        );
        assert.equal(stack.verificationReport, undefined);
    });

    it("fails on bad arguments before registering anything", () => {
        registered.length = 0;
        assert.throws(
            () => new MetricsStack("bad", { kubeconfig: KUBECONFIG, components: { kubelet: true } }),
            /components\.kubelet: is not a component this stack exposes/,
        );
        assert.throws(() => new MetricsStack("bad", {}), /kubeconfig: is required for the verification/);
        // An image given as text that no node could pull, with a registry mirror given with a scheme: both named.
        assert.throws(
            () =>
                new MetricsStack("bad", {
                    kubeconfig: KUBECONFIG,
                    imageRegistry: "https://mirror.example",
                    verifyImage: "Curl:8",
                }),
            (err: Error) =>
                /imageRegistry: "https:\/\/mirror\.example" has a scheme/.test(err.message) &&
                /verifyImage: "Curl:8" is not an image reference/.test(err.message),
        );
        assert.equal(registered.length, 0);
    });

    it("pulls every default image from imageRegistry, with the pull secrets, in the proxy's pods and the verification's; an image's own key wins", async () => {
        const images = async (args: MetricsStackArgs) => {
            const { resources } = await build({ kubeconfig: KUBECONFIG, ...args });
            const pods = byType(resources, "kubernetes:apps/v1:DaemonSet").map((d) => d.inputs.spec.template.spec);
            const plan = JSON.parse(
                one(resources, "command:local:Command", "metrics-verify").inputs.environment.EKSA_METRICS_VERIFY_PLAN,
            );
            return {
                proxy: [...new Set(pods.flatMap((p: any) => p.containers.map((c: any) => c.image)))].sort(),
                pullSecrets: pods.map((p: any) => p.imagePullSecrets),
                verify: plan.image,
                verifyPullSecrets: plan.imagePullSecrets,
            };
        };
        assert.deepEqual(await images({}), {
            proxy: [
                "public.ecr.aws/eks-anywhere/kubernetes-sigs/kind/haproxy:v0.20.0-eks-a-54",
                "quay.io/brancz/kube-rbac-proxy:v0.19.1",
            ],
            pullSecrets: [undefined, undefined],
            verify: "curlimages/curl:8.11.1",
            verifyPullSecrets: [],
        });
        assert.deepEqual(await images({ imageRegistry: "mirror.example:5000", imagePullSecrets: ["mirror-pull"] }), {
            proxy: [
                "mirror.example:5000/brancz/kube-rbac-proxy:v0.19.1",
                "mirror.example:5000/eks-anywhere/kubernetes-sigs/kind/haproxy:v0.20.0-eks-a-54",
            ],
            pullSecrets: [[{ name: "mirror-pull" }], [{ name: "mirror-pull" }]],
            verify: "mirror.example:5000/curlimages/curl:8.11.1",
            verifyPullSecrets: ["mirror-pull"],
        });
        const own = await images({
            imageRegistry: "mirror.example:5000",
            gateImage: "other.example/kube-rbac-proxy:v0.19.1",
            verifyImage: pulumi.output("other.example/curl:8"),
        });
        assert.ok(own.proxy.includes("other.example/kube-rbac-proxy:v0.19.1"));
        assert.equal(own.verify, "other.example/curl:8");
    });
});

describe("MetricsStack for the preflight (mocked engine)", function () {
    this.timeout(20_000);

    it("labels the namespace, DaemonSets and pods with the stack, outside the immutable selector", async () => {
        const { resources } = await build({ kubeconfig: KUBECONFIG });
        assert.equal(
            one(resources, "kubernetes:core/v1:Namespace").inputs.metadata.labels["eksa-metrics/stack"],
            "eksa-metrics.test",
        );
        for (const ds of byType(resources, "kubernetes:apps/v1:DaemonSet").map((r) => r.inputs)) {
            assert.equal(ds.metadata.labels["eksa-metrics/stack"], "eksa-metrics.test");
            assert.equal(ds.spec.template.metadata.labels["eksa-metrics/stack"], "eksa-metrics.test");
            assert.equal(ds.spec.selector.matchLabels["eksa-metrics/stack"], undefined);
        }
    });

    it("with readersMayNotExistYet, creates the verification's own service account, binds it and verifies with it", async () => {
        const { resources, captured } = await build({ kubeconfig: KUBECONFIG, readersMayNotExistYet: true });
        const verifier = one(resources, "kubernetes:core/v1:ServiceAccount", "metrics-verifier").inputs;
        assert.deepEqual(
            [verifier.metadata.name, verifier.metadata.namespace],
            ["eksa-metrics-verifier", "eksa-metrics"],
        );
        assert.deepEqual(
            one(resources, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "metrics-metrics-reader")
                .inputs.subjects,
            [
                { kind: "ServiceAccount", name: "prometheus-server", namespace: "observability" },
                { kind: "ServiceAccount", name: "eksa-metrics-verifier", namespace: "eksa-metrics" },
            ],
        );
        const plan = JSON.parse(
            one(resources, "command:local:Command", "metrics-verify").inputs.environment.EKSA_METRICS_VERIFY_PLAN,
        );
        assert.deepEqual(plan.serviceAccount, { name: "eksa-metrics-verifier", namespace: "eksa-metrics" });
        const opts = captured.find((c) => c.name === "metrics-verify")!.opts;
        assert.ok(
            (opts.dependsOn as pulumi.Resource[]).some((r) => (r as any).__name === "metrics-verifier"),
            "the token is asked for after the account exists",
        );
    });

    it("with replaceDocsMetricsProxy, removes the docs page's install before the DaemonSets, with the kubeconfig secret", async () => {
        const { resources, captured } = await build({ kubeconfig: KUBECONFIG, replaceDocsMetricsProxy: true });
        const removal = one(resources, "command:local:Command", "metrics-replace-docs-metrics-proxy");
        assert.match(removal.inputs.create, /cluster\/replaceDocsProxy\.ts$/);
        assert.ok(isSecret(removal.raw.environment));
        for (const ds of ["metrics-control-plane", "metrics-worker"]) {
            const dependsOn = (captured.find((c) => c.name === ds)!.opts.dependsOn as pulumi.Resource[]).map(
                (r) => (r as any).__name,
            );
            assert.deepEqual(dependsOn, ["metrics-replace-docs-metrics-proxy"]);
        }
        assert.equal(
            byType((await build({ kubeconfig: KUBECONFIG })).resources, "command:local:Command").length,
            2,
            "not without the key",
        );
    });
});
