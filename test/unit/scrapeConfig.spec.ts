import { strict as assert } from "assert";
import * as yaml from "js-yaml";
import { CATALOGUE } from "../../components/catalogue";
import { resolveSettings } from "../../components/settings";
import { renderScrapeConfigs } from "../../components/scrapeConfig";

const { jobNames } = resolveSettings({}).prometheus;
const render = (nodeSelector: Record<string, string> = {}, names = jobNames) => (yaml.load(renderScrapeConfigs({
    components: CATALOGUE, jobNames: names, tlsServerName: "eksa-metrics-metrics-proxy", nodeSelector, caFile: "/etc/ca.crt", tokenFile: "/var/token",
})) as { scrape_configs: any[] }).scrape_configs;

describe("Prometheus scrape config", () => {
    it("has one job per component, over TLS verified against the stack's CA, with the reader's token", () => {
        const jobs = render();
        assert.deepEqual(jobs.map((j) => j.job_name), ["kube-controller-manager", "kube-scheduler", "kube-proxy", "etcd"]);
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
            { source_labels: ["__meta_kubernetes_node_labelpresent_node_role_kubernetes_io_control_plane"], regex: "true", action: "keep" },
            { source_labels: ["__meta_kubernetes_node_address_InternalIP"], regex: "(.+)", target_label: "__address__", replacement: "$1:10257" },
            { source_labels: ["__meta_kubernetes_node_name"], target_label: "node" },
        ]);
        const kubeProxy = render()[2];
        assert.ok(!kubeProxy.relabel_configs.some((r: any) => r.action === "keep"), "kube-proxy is scraped on every node");
    });

    it("names the jobs as configured", () => {
        assert.deepEqual(render({}, { ...jobNames, etcd: "etcd-stacked" }).map((j) => j.job_name), ["kube-controller-manager", "kube-scheduler", "kube-proxy", "etcd-stacked"]);
    });

    it("keeps only the nodes the proxy's node selector picks", () => {
        const kubeProxy = render({ "kubernetes.io/os": "linux" })[2];
        assert.deepEqual(kubeProxy.relabel_configs[0], { source_labels: ["__meta_kubernetes_node_label_kubernetes_io_os"], regex: "linux", action: "keep" });
    });
});
