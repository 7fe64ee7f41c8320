/**
 * Prometheus scrape jobs for the exposed components. Node service discovery, not pod discovery:
 * each series is labelled with the component's job and the node it came from, never with the
 * proxy pod's name (the drawback the design names for a proxy in front of the components).
 */
import * as yaml from "js-yaml";
import { CatalogueEntry, ComponentName } from "./catalogue";
import { CONTROL_PLANE_LABEL } from "./proxyPod";

export interface ScrapeConfigInput {
    components: readonly CatalogueEntry[];
    /** Each component's job name (the `job` label of its series). */
    jobNames: Record<ComponentName, string>;
    tlsServerName: string;
    nodeSelector: Record<string, string>;
    /** Where Prometheus finds the proxy CA (mount the stack's caCertificate output there). */
    caFile: string;
    /** Prometheus' own service-account token, bound to the metrics-reader role. */
    tokenFile: string;
}

/** Prometheus' sanitised form of a node label name in __meta_kubernetes_node_label_*. */
function metaLabel(label: string): string {
    return label.replace(/[^a-zA-Z0-9_]/g, "_");
}

export interface RelabelConfig {
    source_labels: string[];
    regex?: string;
    action?: "keep";
    target_label?: string;
    replacement?: string;
}

/** Node discovery to the component's port on each eligible node, labelled with the node's name. */
export function relabelConfigs(entry: CatalogueEntry, nodeSelector: Record<string, string>): RelabelConfig[] {
    return [
        ...(entry.placement === "control-plane"
            ? [{ source_labels: [`__meta_kubernetes_node_labelpresent_${metaLabel(CONTROL_PLANE_LABEL)}`], regex: "true", action: "keep" as const }]
            : []),
        ...Object.entries(nodeSelector).map(([label, value]) => ({
            source_labels: [`__meta_kubernetes_node_label_${metaLabel(label)}`],
            regex: value.replace(/[.]/g, "\\."),
            action: "keep" as const,
        })),
        { source_labels: ["__meta_kubernetes_node_address_InternalIP"], regex: "(.+)", target_label: "__address__", replacement: `$1:${entry.port}` },
        { source_labels: ["__meta_kubernetes_node_name"], target_label: "node" },
    ];
}

export function renderScrapeConfigs(input: ScrapeConfigInput): string {
    const jobs = input.components.map((entry) => ({
        job_name: input.jobNames[entry.name],
        scheme: "https",
        metrics_path: "/metrics",
        authorization: { credentials_file: input.tokenFile },
        tls_config: { ca_file: input.caFile, server_name: input.tlsServerName },
        kubernetes_sd_configs: [{ role: "node" }],
        relabel_configs: relabelConfigs(entry, input.nodeSelector),
    }));
    return yaml.dump({ scrape_configs: jobs }, { lineWidth: 200, noRefs: true });
}
