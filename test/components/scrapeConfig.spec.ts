import { strict as assert } from "assert";
import * as yaml from "js-yaml";
import { CATALOGUE } from "../../core/catalogue";
import { resolveSettings } from "../../config/settings";
import { renderScrapeConfigs, ScrapeConfigInput } from "../../components/scrapeConfig";

const { jobNames } = resolveSettings({}).prometheus;
const render = (nodeSelector: Record<string, string> = {}, names = jobNames) =>
    (
        yaml.load(
            renderScrapeConfigs({
                components: CATALOGUE,
                jobNames: names,
                tlsServerName: "eksa-metrics-metrics-proxy",
                nodeSelector,
                caFile: "/etc/ca.crt",
                tokenFile: "/var/token",
                controllers: [],
                controllerTls: {},
            }),
        ) as { scrape_configs: any[] }
    ).scrape_configs;

describe("Prometheus scrape config", () => {
    it("has one job per component, over TLS verified against the stack's CA, with the reader's token", () => {
        const jobs = render();
        assert.deepEqual(
            jobs.map((j) => j.job_name),
            ["kube-controller-manager", "kube-scheduler", "kube-proxy", "etcd"],
        );
        for (const job of jobs) {
            assert.equal(job.scheme, "https");
            assert.deepEqual(job.tls_config, { ca_file: "/etc/ca.crt", server_name: "eksa-metrics-metrics-proxy" });
            assert.deepEqual(job.authorization, { credentials_file: "/var/token" });
            assert.deepEqual(job.kubernetes_sd_configs, [{ role: "node" }]);
        }
    });

    it("targets each node's InternalIP on the component's port and labels series with the node, not the proxy pod", () => {
        const kcm = render()[0];
        assert.deepEqual(kcm.relabel_configs, [
            {
                source_labels: ["__meta_kubernetes_node_labelpresent_node_role_kubernetes_io_control_plane"],
                regex: "true",
                action: "keep",
            },
            {
                source_labels: ["__meta_kubernetes_node_address_InternalIP"],
                regex: "(.+)",
                target_label: "__address__",
                replacement: "$1:10257",
            },
            { source_labels: ["__meta_kubernetes_node_name"], target_label: "node" },
        ]);
        const kubeProxy = render()[2];
        assert.ok(
            !kubeProxy.relabel_configs.some((r: any) => r.action === "keep"),
            "kube-proxy is scraped on every node",
        );
    });

    it("names the jobs as configured", () => {
        assert.deepEqual(
            render({}, { ...jobNames, etcd: "etcd-stacked" }).map((j) => j.job_name),
            ["kube-controller-manager", "kube-scheduler", "kube-proxy", "etcd-stacked"],
        );
    });

    it("keeps only the nodes the proxy's node selector picks", () => {
        const kubeProxy = render({ "kubernetes.io/os": "linux" })[2];
        assert.deepEqual(kubeProxy.relabel_configs[0], {
            source_labels: ["__meta_kubernetes_node_label_kubernetes_io_os"],
            regex: "linux",
            action: "keep",
        });
    });

    describe("controllers", () => {
        const CAPI = {
            name: "capi-controller-manager",
            namespace: "capi-system",
            selector: { "cluster.x-k8s.io/provider": "cluster-api" },
            port: 8443,
        };
        const renderWith = (controllerTls: ScrapeConfigInput["controllerTls"], controllers = [CAPI]) =>
            (
                yaml.load(
                    renderScrapeConfigs({
                        components: [],
                        jobNames,
                        tlsServerName: "eksa-metrics-metrics-proxy",
                        nodeSelector: {},
                        caFile: "/etc/ca.crt",
                        tokenFile: "/var/token",
                        controllers,
                        controllerTls,
                    }),
                ) as { scrape_configs: any[] }
            ).scrape_configs;

        it("scrapes each controller's running pods on the diagnostics port, found in its namespace by its labels, labelled with pod and namespace", () => {
            assert.deepEqual(renderWith({}), [
                {
                    job_name: "capi-controller-manager",
                    scheme: "https",
                    metrics_path: "/metrics",
                    authorization: { credentials_file: "/var/token" },
                    tls_config: { insecure_skip_verify: true },
                    kubernetes_sd_configs: [
                        {
                            role: "pod",
                            namespaces: { names: ["capi-system"] },
                            selectors: [{ role: "pod", label: "cluster.x-k8s.io/provider=cluster-api" }],
                        },
                    ],
                    relabel_configs: [
                        {
                            source_labels: ["__meta_kubernetes_pod_container_port_number"],
                            regex: "8443",
                            action: "keep",
                        },
                        { source_labels: ["__meta_kubernetes_pod_phase"], regex: "Running", action: "keep" },
                        { source_labels: ["__meta_kubernetes_pod_name"], target_label: "pod" },
                        { source_labels: ["__meta_kubernetes_namespace"], target_label: "namespace" },
                    ],
                },
            ]);
        });

        it("verifies the controllers' certificates against a pinned CA (and server name) when there is one", () => {
            assert.deepEqual(
                renderWith({ caFile: "/etc/controllers-ca.crt", serverName: "controllers.example.internal" })[0]
                    .tls_config,
                { ca_file: "/etc/controllers-ca.crt", server_name: "controllers.example.internal" },
            );
            assert.deepEqual(renderWith({ caFile: "/etc/controllers-ca.crt" })[0].tls_config, {
                ca_file: "/etc/controllers-ca.crt",
            });
        });

        it("joins several pod labels into one selector and follows the components' jobs", () => {
            const extra = {
                name: "my-operator",
                namespace: "ops",
                selector: { app: "op", tier: "manager" },
                port: 9443,
            };
            const jobs = (
                yaml.load(
                    renderScrapeConfigs({
                        components: CATALOGUE,
                        jobNames,
                        tlsServerName: "x",
                        nodeSelector: {},
                        caFile: "/ca",
                        tokenFile: "/t",
                        controllers: [extra],
                        controllerTls: {},
                    }),
                ) as { scrape_configs: any[] }
            ).scrape_configs;
            assert.deepEqual(
                jobs.map((j) => j.job_name),
                ["kube-controller-manager", "kube-scheduler", "kube-proxy", "etcd", "my-operator"],
            );
            assert.equal(jobs[4].kubernetes_sd_configs[0].selectors[0].label, "app=op,tier=manager");
            assert.equal(jobs[4].relabel_configs[0].regex, "9443");
        });
    });
});
