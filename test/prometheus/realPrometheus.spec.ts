/**
 * The real Prometheus (dev/toolchain/setup.sh prometheus) scraping a stack deployed by the real
 * engine on the local control plane, started as a user outside the cluster starts it: the stack's
 * `scrapeConfig` output verbatim plus only what running outside needs (a kubeconfig for node
 * discovery, the CA from `caCertificate`, a TokenRequest token), and the `alertRules` output as its
 * rule file. Then the real Prometheus Operator (built by the same setup part) generates a
 * configuration from the stack's ScrapeConfigs and PrometheusRule (prometheusOperator.enabled), and a
 * second Prometheus scrapes with it; before the operator's CRDs are applied, the preflight stops the
 * preview. Everything else is asserted through Prometheus' own HTTP API. Root, inside test/sandbox.sh.
 */
import { strict as assert } from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import * as yaml from "js-yaml";
import { LocalCluster, ProgramStack, Result } from "../../dev/localcluster/driver";
import {
    eventually,
    instantQuery,
    Job,
    outsideTheCluster,
    prometheusApi,
    startPrometheus,
} from "../../dev/localcluster/prometheus";
import { applyOperatorCrds } from "../support/prometheusOperator";

const API = "http://127.0.0.1:9090";
const SCRAPE_SECONDS = 5;
// Above haproxy's ~3 s of connection retries, so a component that is down shows the proxy's 503.
const TIMEOUT_SECONDS = 5;
const ALERT_FOR_SECONDS = 15;
const CONTROL_PLANE = "eksa-cp-1";
const WORKER = "eksa-worker-1";
/** A series each component exports, and only it. */
const OWN_SERIES: Record<string, string> = {
    "kube-controller-manager": "workqueue_adds_total",
    "kube-scheduler": "scheduler_schedule_attempts_total",
    "kube-proxy": "kubeproxy_sync_proxy_rules_duration_seconds_count",
    etcd: "etcd_server_has_leader",
};

const api = (query: string, base = API) => prometheusApi(base, query);
const instant = (promql: string, base = API) => instantQuery(base, promql);

const alertState = async (name: string): Promise<string | undefined> =>
    ((await api("/api/v1/alerts")).alerts as { labels: Record<string, string>; state: string }[]).find(
        (a) => a.labels.alertname === name,
    )?.state;

const OPERATOR_LABELS = { release: "e2e" };

describe("the real Prometheus scrapes every target through the stack", function () {
    this.timeout(20 * 60_000);
    const cluster = new LocalCluster();
    const stack = new ProgramStack("prometheus-e2e");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eksa-prometheus-"));
    const children: ChildProcess[] = [];
    let previewWithoutCrds: Result;

    before(async function () {
        assert.ok(
            process.env.EKSA_METRICS_SANDBOX === "1" && process.getuid?.() === 0,
            "run as root inside test/sandbox.sh",
        );
        await cluster.up();
        await cluster.mustKubectl(["create", "namespace", "observability"]);
        await cluster.mustKubectl(["create", "serviceaccount", "prometheus-server", "-n", "observability"]);
        await cluster.mustKubectl(["create", "serviceaccount", "not-a-reader", "-n", "observability"]);
        await cluster.mustKubectl(["create", "namespace", "monitoring"]);
        await stack.init(cluster.kubeconfig(), {
            prometheus: { alertForSeconds: ALERT_FOR_SECONDS },
            prometheusOperator: { enabled: true, namespace: "monitoring", labels: OPERATOR_LABELS },
        });
        previewWithoutCrds = await stack.preview();
        // The operator's CRDs, before the stack's objects.
        await applyOperatorCrds(cluster);
        const up = await stack.up();
        assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);
    });

    after(async () => {
        for (const child of children) {
            child.kill("SIGTERM");
        }
        // Deletion waits for the garbage collector (kube-controller-manager): have every process back first.
        await cluster.up();
        await stack.destroy().catch(() => undefined);
        await cluster.down();
    });

    it("stopped the preview while the cluster lacked the operator's CRDs, naming each", () => {
        assert.notEqual(previewWithoutCrds.code, 0);
        for (const crd of ["scrapeconfigs.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com"]) {
            assert.match(
                `${previewWithoutCrds.stdout}\n${previewWithoutCrds.stderr}`,
                new RegExp(
                    `eksa-metrics:prometheusOperator\\.enabled: the cluster has no CustomResourceDefinition ${crd.replace(/\./g, "\\.")}`,
                ),
            );
        }
    });

    describe("outside the cluster, with the scrapeConfig and alertRules outputs", () => {
        before(async () => {
            const files = {
                kubeconfig: cluster.kubeconfigFile,
                ca: path.join(dir, "ca.crt"),
                token: path.join(dir, "reader.token"),
            };
            fs.writeFileSync(files.ca, await stack.output("caCertificate"));
            fs.writeFileSync(
                files.token,
                await cluster.mustKubectl([
                    "create",
                    "token",
                    "prometheus-server",
                    "-n",
                    "observability",
                    "--duration=1h",
                ]),
                { mode: 0o600 },
            );
            const unboundToken = path.join(dir, "not-a-reader.token");
            fs.writeFileSync(
                unboundToken,
                await cluster.mustKubectl(["create", "token", "not-a-reader", "-n", "observability", "--duration=1h"]),
                { mode: 0o600 },
            );
            const ruleFile = path.join(dir, "alertRules.yaml");
            fs.writeFileSync(ruleFile, await stack.output("alertRules"));
            const jobs = outsideTheCluster(await stack.output("scrapeConfig"), files);
            // Not the stack's: the controller manager's job with a token whose account is not bound to metrics-reader.
            const kcm = jobs.find((j) => j.job_name === "kube-controller-manager")!;
            const unbound = { ...kcm, job_name: "not-a-reader", authorization: { credentials_file: unboundToken } };
            children.push(
                await startPrometheus(
                    dir,
                    {
                        global: {
                            scrape_interval: `${SCRAPE_SECONDS}s`,
                            scrape_timeout: `${TIMEOUT_SECONDS}s`,
                            evaluation_interval: "1s",
                        },
                        rule_files: [ruleFile],
                        scrape_configs: [...jobs, unbound],
                    },
                    "127.0.0.1:9090",
                ),
            );
        });

        it("discovers every node × enabled component and scrapes each up; the worker has kube-proxy only", async () => {
            const targets = await eventually(60, async () => {
                const active = ((await api("/api/v1/targets?state=active")).activeTargets as any[]).filter(
                    (t) => t.labels.job !== "not-a-reader",
                );
                assert.equal(active.length, 5, JSON.stringify(active.map((t) => [t.labels, t.health, t.lastError])));
                assert.ok(
                    active.every((t) => t.health === "up"),
                    JSON.stringify(active.map((t) => [t.labels.job, t.labels.node, t.lastError])),
                );
                return active;
            });
            assert.deepEqual(targets.map((t) => `${t.labels.job} ${t.labels.node}`).sort(), [
                `etcd ${CONTROL_PLANE}`,
                `kube-controller-manager ${CONTROL_PLANE}`,
                `kube-proxy ${CONTROL_PLANE}`,
                `kube-proxy ${WORKER}`,
                `kube-scheduler ${CONTROL_PLANE}`,
            ]);
        });

        it("labels the series with the component's job and the node, never with the proxy pod", async () => {
            const up = await instant('up{job!="not-a-reader"}');
            assert.equal(up.length, 5);
            for (const series of up) {
                assert.deepEqual(Object.keys(series.metric).sort(), ["__name__", "instance", "job", "node"]);
                // Prometheus' node discovery names the instance after the node.
                assert.equal(series.metric.instance, series.metric.node);
            }
        });

        it("returns each component's own series under its job", async () => {
            for (const [job, name] of Object.entries(OWN_SERIES)) {
                const found = await eventually(30, async () => {
                    const result = await instant(`count by (job) (${name}{job="${job}"})`);
                    assert.equal(result.length, 1, `${name} under job ${job}`);
                    return result;
                });
                assert.ok(Number(found[0].value[1]) > 0);
            }
        });

        it("scrapes without an error over the run, none at or above its timeout, and no alert fires", async () => {
            await new Promise((r) => setTimeout(r, 4 * SCRAPE_SECONDS * 1000));
            const gaps = await instant('min_over_time(up{job!="not-a-reader"}[20s]) < 1');
            assert.deepEqual(gaps, [], "every scrape of the last 20 s succeeded");
            // Relative to the jobs' own timeout, not an absolute latency a loaded machine may exceed.
            const timedOut = await instant(
                `max_over_time(scrape_duration_seconds{job!="not-a-reader"}[1m]) >= ${TIMEOUT_SECONDS}`,
            );
            assert.deepEqual(
                timedOut.map((s: any) => `${s.metric.job} ${s.metric.instance}: ${s.value[1]} s`),
                [],
                `scrapes that took their whole ${TIMEOUT_SECONDS} s timeout`,
            );
            const alerts = ((await api("/api/v1/alerts")).alerts as { labels: Record<string, string> }[]).map(
                (a) => a.labels.alertname,
            );
            assert.deepEqual(alerts, []);
        });

        it("shows a reader without the binding refused (403) on its target", async () => {
            await eventually(30, async () => {
                const t = ((await api("/api/v1/targets?state=active")).activeTargets as any[]).find(
                    (x) => x.labels.job === "not-a-reader",
                );
                assert.equal(t?.health, "down");
                assert.match(t.lastError, /403/);
            });
        });

        it("stopping kube-controller-manager: its target goes down with the proxy's error, the Down alert goes pending then firing, and all recovers", async () => {
            await cluster.stopComponent("kube-controller-manager");
            try {
                await eventually(30, async () => {
                    const t = ((await api("/api/v1/targets?state=active")).activeTargets as any[]).find(
                        (x) => x.labels.job === "kube-controller-manager",
                    );
                    assert.equal(t.health, "down");
                    // haproxy in front of it answers 503 when the component does not.
                    assert.match(t.lastError, /server returned HTTP status 503 Service Unavailable/);
                });
                assert.deepEqual(
                    (await instant('up{job="kube-controller-manager"}')).map((s) => s.value[1]),
                    ["0"],
                );
                await eventually(30, async () =>
                    assert.equal(await alertState("EksaMetricsKubeControllerManagerDown"), "pending"),
                );
                await eventually(ALERT_FOR_SECONDS + 15, async () =>
                    assert.equal(await alertState("EksaMetricsKubeControllerManagerDown"), "firing"),
                );
                assert.equal(
                    await alertState("EksaMetricsKubeSchedulerDown"),
                    undefined,
                    "the other components stay silent",
                );
            } finally {
                await cluster.up();
            }
            await eventually(60, async () =>
                assert.deepEqual(
                    (await instant('up{job="kube-controller-manager"}')).map((s) => s.value[1]),
                    ["1"],
                ),
            );
            await eventually(30, async () =>
                assert.equal(await alertState("EksaMetricsKubeControllerManagerDown"), undefined),
            );
        });
    });

    describe("with the configuration the real Prometheus Operator generates from the stack's objects", () => {
        const OPERATED = "http://127.0.0.1:9091";
        const opDir = path.join(dir, "operator");
        const secret = async (name: string): Promise<Record<string, Buffer>> => {
            const data =
                JSON.parse(await cluster.mustKubectl(["get", "secret", "-n", "monitoring", name, "-o", "json"])).data ??
                {};
            return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v as string, "base64")]));
        };

        before(async () => {
            fs.mkdirSync(opDir);
            const pki = path.join(cluster.dir, "pki");
            const log = fs.openSync(path.join(dir, "operator.log"), "a");
            // As a process beside the cluster, with the admin's client certificate (it has no --kubeconfig).
            children.push(
                spawn(
                    "prometheus-operator",
                    [
                        "--apiserver=https://127.0.0.1:6443",
                        `--ca-file=${pki}/ca.crt`,
                        `--cert-file=${pki}/admin.crt`,
                        `--key-file=${pki}/admin.key`,
                        "--namespaces=monitoring",
                        "--web.listen-address=127.0.0.1:8089",
                    ],
                    { stdio: ["ignore", log, log] },
                ),
            );
            await cluster.mustKubectl(
                ["apply", "-f", "-"],
                JSON.stringify({
                    apiVersion: "monitoring.coreos.com/v1",
                    kind: "Prometheus",
                    metadata: { name: "e2e", namespace: "monitoring" },
                    spec: {
                        version: "v3.16.0",
                        scrapeInterval: `${SCRAPE_SECONDS}s`,
                        scrapeTimeout: `${TIMEOUT_SECONDS}s`,
                        evaluationInterval: "1s",
                        scrapeConfigSelector: { matchLabels: OPERATOR_LABELS },
                        scrapeConfigNamespaceSelector: {},
                        ruleSelector: { matchLabels: OPERATOR_LABELS },
                        ruleNamespaceSelector: {},
                    },
                }),
            );
            // What the operator generated: the configuration, the TLS assets it mounts, the rule files.
            const config = await eventually(120, async () => {
                const gz = (await secret("prometheus-e2e"))["prometheus.yaml.gz"];
                const text = zlib.gunzipSync(gz).toString();
                assert.equal((text.match(/job_name: scrapeConfig\/monitoring\//g) ?? []).length, 4, text);
                return text;
            });
            const certs = path.join(opDir, "certs");
            fs.mkdirSync(certs);
            for (const [key, value] of Object.entries(await secret("prometheus-e2e-tls-assets-0"))) {
                fs.writeFileSync(path.join(certs, key), value);
            }
            const rules = path.join(opDir, "rules");
            fs.mkdirSync(rules);
            const ruleConfigMap = JSON.parse(
                await cluster.mustKubectl([
                    "get",
                    "configmap",
                    "-n",
                    "monitoring",
                    "prometheus-e2e-rulefiles-0",
                    "-o",
                    "json",
                ]),
            );
            for (const [key, value] of Object.entries(ruleConfigMap.data as Record<string, string>)) {
                fs.writeFileSync(path.join(rules, key), value);
            }
            // Outside the pod it was made for: its mounts are local directories, discovery needs a kubeconfig.
            const local = yaml.load(
                config
                    .replaceAll("/etc/prometheus/certs", certs)
                    .replace(/\/etc\/prometheus\/rules\/prometheus-e2e-rulefiles-0/g, rules),
            ) as { scrape_configs: Job[] };
            local.scrape_configs = local.scrape_configs.map((job) => ({
                ...job,
                kubernetes_sd_configs: job.kubernetes_sd_configs.map((sd) => ({
                    ...sd,
                    kubeconfig_file: cluster.kubeconfigFile,
                })),
            }));
            children.push(await startPrometheus(opDir, local, "127.0.0.1:9091"));
        });

        it("scrapes every node × component up, labelled with the job and the node", async () => {
            const targets = await eventually(90, async () => {
                const active = (await api("/api/v1/targets?state=active", OPERATED)).activeTargets as any[];
                assert.equal(active.length, 5, JSON.stringify(active.map((t) => [t.labels, t.health, t.lastError])));
                assert.ok(
                    active.every((t) => t.health === "up"),
                    JSON.stringify(active.map((t) => [t.labels.job, t.labels.node, t.lastError])),
                );
                return active;
            });
            assert.deepEqual(targets.map((t) => `${t.labels.job} ${t.labels.node}`).sort(), [
                `etcd ${CONTROL_PLANE}`,
                `kube-controller-manager ${CONTROL_PLANE}`,
                `kube-proxy ${CONTROL_PLANE}`,
                `kube-proxy ${WORKER}`,
                `kube-scheduler ${CONTROL_PLANE}`,
            ]);
            for (const series of await instant("up", OPERATED)) {
                assert.deepEqual(Object.keys(series.metric).sort(), ["__name__", "instance", "job", "node"]);
            }
        });

        it("loads the stack's rule group from the PrometheusRule", async () => {
            const groups = (await api("/api/v1/rules", OPERATED)).groups as {
                name: string;
                rules: { name: string; type: string }[];
            }[];
            const ours = groups.find((g) => g.name === "eksa-metrics");
            // The same alerts as the stack's alertRules output, which the rule file outside the cluster is.
            const shipped = (
                yaml.load(await stack.output("alertRules")) as { groups: { rules: { alert?: string }[] }[] }
            ).groups
                .flatMap((g) => g.rules)
                .flatMap((r) => (r.alert ? [r.alert] : []));
            assert.ok(shipped.length > 0);
            assert.deepEqual(
                ours?.rules
                    .filter((r) => r.type === "alerting")
                    .map((r) => r.name)
                    .sort(),
                shipped.sort(),
            );
        });
    });
});
