import { strict as assert } from "assert";
import * as yaml from "js-yaml";
import { alertRuleGroups } from "../../components/alertRules";
import { CATALOGUE } from "../../core/catalogue";
import {
    OperatorObjectsInput,
    operatorCaConfigMap,
    operatorPrometheusRule,
    operatorScrapeConfigs,
    operatorTokenSecret,
} from "../../components/prometheusOperator";
import { renderScrapeConfigs } from "../../components/scrapeConfig";
import { resolveSettings } from "../../config/settings";
import { operatorCrdProblems } from "../../cluster/preflight";

const { jobNames } = resolveSettings({}).prometheus;
const input: OperatorObjectsInput = {
    name: "eksa-metrics",
    namespace: "monitoring",
    labels: { release: "kube-prometheus-stack" },
    components: CATALOGUE,
    jobNames,
    nodeSelector: { "kubernetes.io/os": "linux" },
    tlsServerName: "eksa-metrics-metrics-proxy",
    controllers: [],
    controllerTls: {},
};

describe("Prometheus Operator objects", () => {
    it("has a ScrapeConfig per component, selected by the labels, setting the component's job", () => {
        const configs = operatorScrapeConfigs({ ...input, jobNames: { ...jobNames, etcd: "etcd-stacked" } });
        assert.deepEqual(
            configs.map((c) => [
                c.apiVersion,
                c.kind,
                c.metadata.name,
                c.metadata.namespace,
                (c.spec as { jobName: string }).jobName,
            ]),
            [
                [
                    "monitoring.coreos.com/v1alpha1",
                    "ScrapeConfig",
                    "eksa-metrics-kube-controller-manager",
                    "monitoring",
                    "kube-controller-manager",
                ],
                [
                    "monitoring.coreos.com/v1alpha1",
                    "ScrapeConfig",
                    "eksa-metrics-kube-scheduler",
                    "monitoring",
                    "kube-scheduler",
                ],
                [
                    "monitoring.coreos.com/v1alpha1",
                    "ScrapeConfig",
                    "eksa-metrics-kube-proxy",
                    "monitoring",
                    "kube-proxy",
                ],
                ["monitoring.coreos.com/v1alpha1", "ScrapeConfig", "eksa-metrics-etcd", "monitoring", "etcd-stacked"],
            ],
        );
        assert.ok(configs.every((c) => c.metadata.labels.release === "kube-prometheus-stack"));
    });

    it("scrapes like the scrapeConfig output: node discovery, HTTPS to the CA and server name, the same relabelling", () => {
        const plain = (
            yaml.load(renderScrapeConfigs({ ...input, caFile: "/ca", tokenFile: "/token" })) as {
                scrape_configs: any[];
            }
        ).scrape_configs;
        operatorScrapeConfigs(input).forEach((config, i) => {
            const spec = config.spec as any;
            assert.equal(spec.scheme, "HTTPS");
            assert.equal(spec.metricsPath, "/metrics");
            assert.deepEqual(spec.kubernetesSDConfigs, [{ role: "Node" }]);
            assert.deepEqual(spec.tlsConfig, {
                ca: { configMap: { name: "eksa-metrics-ca", key: "ca.crt" } },
                serverName: "eksa-metrics-metrics-proxy",
            });
            assert.deepEqual(spec.authorization, {
                type: "Bearer",
                credentials: { name: "eksa-metrics-scraper-token", key: "token" },
            });
            assert.deepEqual(
                spec.relabelings,
                plain[i].relabel_configs.map((r: any) => ({
                    sourceLabels: r.source_labels,
                    ...(r.target_label ? { targetLabel: r.target_label } : {}),
                    ...(r.regex ? { regex: r.regex } : {}),
                    ...(r.action ? { action: r.action } : {}),
                    ...(r.replacement ? { replacement: r.replacement } : {}),
                })),
            );
        });
    });

    it("gives the token Secret to the scraper service account and the CA to a ConfigMap (public, not a Secret)", () => {
        assert.deepEqual(operatorTokenSecret(input), {
            apiVersion: "v1",
            kind: "Secret",
            metadata: {
                name: "eksa-metrics-scraper-token",
                namespace: "monitoring",
                labels: { release: "kube-prometheus-stack" },
                annotations: { "kubernetes.io/service-account.name": "eksa-metrics-scraper" },
            },
            type: "kubernetes.io/service-account-token",
        });
        const ca = operatorCaConfigMap(input, "PEM");
        assert.equal(ca.kind, "ConfigMap");
        assert.deepEqual(ca.data, { "ca.crt": "PEM" });
    });

    describe("controllers", () => {
        const CAPI = {
            name: "capi-controller-manager",
            namespace: "capi-system",
            selector: { "cluster.x-k8s.io/provider": "cluster-api" },
            port: 8443,
        };
        const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

        it("gets a ScrapeConfig each after the components': pod discovery, the reader's token, the scrapeConfig output's relabelling", () => {
            const configs = operatorScrapeConfigs({ ...input, controllers: [CAPI] });
            const capi = configs[configs.length - 1];
            const plain = (
                yaml.load(
                    renderScrapeConfigs({ ...input, caFile: "/ca", tokenFile: "/token", controllers: [CAPI] }),
                ) as { scrape_configs: any[] }
            ).scrape_configs.pop();
            assert.deepEqual(
                [capi.metadata.name, capi.spec],
                [
                    "eksa-metrics-capi-controller-manager",
                    {
                        jobName: "capi-controller-manager",
                        scheme: "HTTPS",
                        metricsPath: "/metrics",
                        kubernetesSDConfigs: [
                            {
                                role: "Pod",
                                namespaces: { names: ["capi-system"] },
                                selectors: [{ role: "Pod", label: "cluster.x-k8s.io/provider=cluster-api" }],
                            },
                        ],
                        authorization: {
                            type: "Bearer",
                            credentials: { name: "eksa-metrics-scraper-token", key: "token" },
                        },
                        tlsConfig: { insecureSkipVerify: true },
                        relabelings: plain.relabel_configs.map((r: any) => ({
                            sourceLabels: r.source_labels,
                            ...(r.target_label ? { targetLabel: r.target_label } : {}),
                            ...(r.regex ? { regex: r.regex } : {}),
                            ...(r.action ? { action: r.action } : {}),
                        })),
                    },
                ],
            );
        });

        it("verifies them against controllers.tls.caCertificate, kept in the CA ConfigMap, when it is set", () => {
            const pinned = {
                ...input,
                controllers: [CAPI],
                controllerTls: { caCertificate: PEM, serverName: "controllers.example.internal" },
            };
            const [capi] = operatorScrapeConfigs(pinned).slice(-1);
            assert.deepEqual((capi.spec as any).tlsConfig, {
                ca: { configMap: { name: "eksa-metrics-ca", key: "controllers-ca.crt" } },
                serverName: "controllers.example.internal",
            });
            assert.deepEqual(operatorCaConfigMap(pinned, "PEM").data, { "ca.crt": "PEM", "controllers-ca.crt": PEM });
        });
    });

    it("puts the alertRules output's groups in a PrometheusRule", () => {
        const groups = alertRuleGroups({
            components: CATALOGUE,
            jobNames,
            alertForSeconds: 900,
            certificate: { serverName: "x", notAfter: "2027-01-01T00:00:00Z", validityDays: 365 },
            ca: { notAfter: "2036-11-01T00:00:00.000Z", warningDays: 210 },
        });
        const rule = operatorPrometheusRule(input, groups);
        assert.deepEqual(
            [rule.apiVersion, rule.kind, rule.metadata.name],
            ["monitoring.coreos.com/v1", "PrometheusRule", "eksa-metrics-alerts"],
        );
        assert.equal(rule.spec.groups, groups);
    });

    it("names each missing CRD when the operator's objects are asked for", () => {
        assert.deepEqual(operatorCrdProblems(false, []), []);
        assert.deepEqual(
            operatorCrdProblems(true, ["scrapeconfigs.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com"]),
            [],
        );
        const problems = operatorCrdProblems(true, ["scrapeconfigs.monitoring.coreos.com"]);
        assert.equal(problems.length, 1);
        assert.match(
            problems[0],
            /^prometheusOperator\.enabled: the cluster has no CustomResourceDefinition prometheusrules\.monitoring\.coreos\.com\. Install the Prometheus Operator/,
        );
    });
});
