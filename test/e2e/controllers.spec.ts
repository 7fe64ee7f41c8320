/**
 * Issue 9 end to end: the controllers' diagnostics endpoint (:8443) beside the node components.
 * A real controller-runtime manager — the Cluster API core manager v1.14.2, built by the toolchain
 * and run as a pod with its own IP on the local control plane's pod network (dev/localcluster/capi.ts)
 * — then `pulumi up` of the project's own program with its defaults: the controller is found, its
 * scrape job rendered, and the verification runs from pods in the cluster (cluster mode) for the node
 * components and the manager. A real Prometheus, run in the cluster as a pod with the stack's
 * scrapeConfig output verbatim, scrapes it. Root, inside test/sandbox.sh.
 */
import { strict as assert } from "assert";
import * as path from "path";
import * as yaml from "js-yaml";
import { CapiManager, CAPI_DEPLOYMENT, CAPI_NAMESPACE, deployCapiManager } from "../../dev/localcluster/capi";
import { LocalCluster, ProgramStack, REPO, Result, run } from "../../dev/localcluster/driver";
import { eventually } from "../../dev/localcluster/prometheus";

const text = (r: Result) => `${r.stdout}\n${r.stderr}`;
const PROMETHEUS_IMAGE = "quay.io/prometheus/prometheus:v3.16.0";
const READER = { name: "prometheus-server", namespace: "observability" };

/** A Prometheus in the cluster as a chart would run it: the reader's service account, the stack's scrape jobs and CA. */
function prometheusPod(scrapeConfig: string, caCertificate: string): unknown[] {
    const config = { global: { scrape_interval: "5s", scrape_timeout: "4s" }, ...(yaml.load(scrapeConfig) as object) };
    return [
        // Discovery needs to list nodes and pods; the metrics themselves are the metrics-reader role's.
        {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "ClusterRole",
            metadata: { name: "e2e-prometheus-discovery" },
            rules: [{ apiGroups: [""], resources: ["nodes", "pods"], verbs: ["get", "list", "watch"] }],
        },
        {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "ClusterRoleBinding",
            metadata: { name: "e2e-prometheus-discovery" },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "e2e-prometheus-discovery" },
            subjects: [{ kind: "ServiceAccount", ...READER }],
        },
        {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: "prometheus", namespace: READER.namespace },
            data: { "prometheus.yml": yaml.dump(config), "ca.crt": caCertificate },
        },
        {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: "prometheus", namespace: READER.namespace, labels: { app: "prometheus" } },
            spec: {
                serviceAccountName: READER.name,
                securityContext: { runAsUser: 65534, runAsNonRoot: true, fsGroup: 65534 },
                containers: [
                    {
                        name: "prometheus",
                        image: PROMETHEUS_IMAGE,
                        args: [
                            "--config.file=/etc/prometheus/prometheus.yml",
                            "--storage.tsdb.path=/prometheus",
                            "--web.listen-address=:9090",
                        ],
                        ports: [{ name: "web", containerPort: 9090 }],
                        readinessProbe: { httpGet: { path: "/-/ready", port: "web" }, periodSeconds: 1 },
                        volumeMounts: [
                            { name: "config", mountPath: "/etc/prometheus/prometheus.yml", subPath: "prometheus.yml" },
                            // Where the scrapeConfig output expects the proxy's CA (README, "Prometheus").
                            { name: "config", mountPath: "/etc/prometheus/eksa-metrics/ca.crt", subPath: "ca.crt" },
                            { name: "data", mountPath: "/prometheus" },
                        ],
                    },
                ],
                volumes: [
                    { name: "config", configMap: { name: "prometheus" } },
                    { name: "data", emptyDir: {} },
                ],
            },
        },
    ];
}

describe("controllers on the diagnostics endpoint, verified from the cluster (issue 9)", function () {
    this.timeout(900_000);
    const cluster = new LocalCluster();
    const stack = new ProgramStack("controllers");
    let capi: CapiManager;
    let up: Result;

    const promQuery = async (
        podIP: string,
        promql: string,
    ): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
        const answer = await run(
            cluster.podNetwork([
                "curl",
                "--silent",
                "--fail",
                "--get",
                "--data-urlencode",
                `query=${promql}`,
                `http://${podIP}:9090/api/v1/query`,
            ]),
        );
        assert.equal(answer.code, 0, text(answer));
        return JSON.parse(answer.stdout).data.result;
    };

    before(async () => {
        assert.ok(
            process.env.EKSA_METRICS_SANDBOX === "1" && process.getuid?.() === 0,
            "run as root inside test/sandbox.sh",
        );
        await cluster.up();
        await cluster.createDefaultReaders();
        capi = await deployCapiManager(cluster);
        await stack.init(cluster.kubeconfig());
    });

    after(async () => {
        await stack.destroy().catch(() => undefined);
        await cluster.down();
    });

    it("stops the preview when a listed controller is absent, naming it, its namespace and labels", async () => {
        stack.setConfig({ controllers: { expect: ["capi-controller-manager", "capv-controller-manager"] } });
        const preview = await stack.preview();
        stack.setConfig({});
        assert.notEqual(preview.code, 0, text(preview));
        assert.match(text(preview), /capv-controller-manager/);
        assert.match(text(preview), /capv-system/);
        assert.doesNotMatch(text(preview), /capi-controller-manager[^\n]*(absent|not found|no Deployment)/);
    });

    it("pulumi up with the defaults finds the CAPI manager and verifies it and every node component from pods in the cluster", async () => {
        up = await stack.up();
        assert.equal(up.code, 0, text(up));
        const report = (await stack.output("verificationReport")) as string;
        const pod = `${CAPI_NAMESPACE}/${capi.podName}`.replace(/\./g, "\\.");
        const ip = capi.podIP.replace(/\./g, "\\.");
        assert.match(report, new RegExp(`^${pod} +${ip} +${CAPI_DEPLOYMENT} +authorised +ok +200 \\+ metrics$`, "m"));
        assert.match(report, new RegExp(`^${pod} +${ip} +${CAPI_DEPLOYMENT} +anonymous +ok +401$`, "m"));
        assert.match(report, new RegExp(`^${pod} +${ip} +${CAPI_DEPLOYMENT} +unbound +ok +403$`, "m"));
        for (const component of ["kube-controller-manager", "kube-scheduler", "kube-proxy", "etcd"]) {
            assert.match(report, new RegExp(`^eksa-cp-1 +127\\.0\\.0\\.2 +${component} +unbound +ok +403$`, "m"));
            assert.match(
                report,
                new RegExp(`^eksa-cp-1 +127\\.0\\.0\\.2 +${component} +authorised +ok +200 \\+ metrics$`, "m"),
            );
        }
        assert.match(report, /note: the controllers' certificates were not verified/);
        assert.match(report, /cluster mode/);
        assert.match(report, /verified: \d+ checks passed/);
    });

    it("leaves no verification pod behind", async () => {
        const pods = JSON.parse(await cluster.mustKubectl(["get", "pods", "--all-namespaces", "--output", "json"]))
            .items as { metadata: { name: string; namespace: string } }[];
        const names = pods.map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
        assert.deepEqual(
            names.filter((n) => /verif/.test(n)),
            [],
            names.join("\n"),
        );
    });

    it("renders a pod-discovery scrape job for the controller", async () => {
        const jobs = (yaml.load(await stack.output("scrapeConfig")) as { scrape_configs: Record<string, any>[] })
            .scrape_configs;
        const job = jobs.find((j) => j.job_name === CAPI_DEPLOYMENT)!;
        assert.ok(job, jobs.map((j) => j.job_name).join(", "));
        assert.equal(job.scheme, "https");
        assert.deepEqual(job.kubernetes_sd_configs[0].role, "pod");
        assert.deepEqual(job.kubernetes_sd_configs[0].namespaces, { names: [CAPI_NAMESPACE] });
    });

    it("a real Prometheus in the cluster, given the scrapeConfig output verbatim, scrapes the manager and the node components (up == 1)", async () => {
        const manifests = prometheusPod(await stack.output("scrapeConfig"), await stack.output("caCertificate"));
        await cluster.mustKubectl(
            ["apply", "-f", "-"],
            JSON.stringify({ apiVersion: "v1", kind: "List", items: manifests }),
        );
        await cluster.mustKubectl([
            "wait",
            "--for=condition=Ready",
            "pod/prometheus",
            "-n",
            READER.namespace,
            "--timeout=120s",
        ]);
        const podIP = (
            await cluster.mustKubectl([
                "get",
                "pod",
                "prometheus",
                "-n",
                READER.namespace,
                "-o",
                "jsonpath={.status.podIP}",
            ])
        ).trim();
        const series = await eventually(90, async () => {
            const up = await promQuery(podIP, "up");
            assert.ok(
                up.length >= 6 && up.every((s) => s.value[1] === "1"),
                JSON.stringify(up.map((s) => [s.metric, s.value[1]])),
            );
            return up;
        });
        const capiUp = series.filter((s) => s.metric.job === CAPI_DEPLOYMENT);
        assert.equal(capiUp.length, 1);
        assert.equal(capiUp[0].metric.pod, capi.podName);
        assert.equal(capiUp[0].metric.namespace, CAPI_NAMESPACE);
        const reconciles = await eventually(30, async () => {
            const found = await promQuery(podIP, `controller_runtime_reconcile_total{job="${CAPI_DEPLOYMENT}"}`);
            assert.ok(found.length > 0);
            return found;
        });
        assert.ok(reconciles.every((s) => s.metric.pod === capi.podName));
    });

    it("without the reader's binding, the verification fails naming the controller", async () => {
        const binding = (await cluster.mustKubectl(["get", "clusterrolebindings", "-o", "name"]))
            .split("\n")
            .find((n) => /metrics-reader/.test(n))!;
        assert.ok(binding, "the stack's metrics-reader binding");
        await cluster.mustKubectl(["delete", binding]);
        const plan = JSON.stringify(await stack.output("verificationPlan"));
        const verify = await run(
            ["node", "--require", "ts-node/register/transpile-only", path.join(REPO, "verify", "main.ts")],
            {
                env: {
                    ...process.env,
                    EKSA_METRICS_VERIFY_PLAN: plan,
                    KUBECONFIG: cluster.kubeconfigFile,
                    EKSA_METRICS_VERIFY_TIMEOUT_SECONDS: "20",
                },
            },
        );
        assert.equal(verify.code, 1, text(verify));
        assert.match(
            verify.stdout,
            new RegExp(
                `^FAIL ${CAPI_DEPLOYMENT} on pod ${CAPI_NAMESPACE}/\\S+ \\([\\d.]+\\): authorised https://[\\d.]+:8443/metrics with the reader's token: expected 200, got 403`,
                "m",
            ),
        );
        assert.match(verify.stdout, /^FAIL kube-controller-manager on node eksa-cp-1/m);
    });
});
