/**
 * Prometheus scrape jobs. The proxied components: node service discovery, not pod discovery, so
 * each series is labelled with the component's job and the node it came from, never with the
 * proxy pod's name (the drawback the design names for a proxy in front of the components).
 * The controllers: pod discovery in their namespace, by their pods' labels, to the diagnostics
 * port each pod declares; each series carries the controller's pod and namespace.
 */
import * as yaml from "js-yaml";
import { CatalogueEntry, ComponentName, ControllerTarget } from "../core/catalogue";
import { labelSelector } from "../core/labels";
import { CONTROL_PLANE_LABEL } from "../core/kubernetes";

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
    controllers: readonly ControllerTarget[];
    /** Where Prometheus finds controllers.tls.caCertificate, when it is set; without it the controllers' certificates are not verified. */
    controllerTls: { caFile?: string; serverName?: string };
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
            ? [
                  {
                      source_labels: [`__meta_kubernetes_node_labelpresent_${metaLabel(CONTROL_PLANE_LABEL)}`],
                      regex: "true",
                      action: "keep" as const,
                  },
              ]
            : []),
        ...Object.entries(nodeSelector).map(([label, value]) => ({
            source_labels: [`__meta_kubernetes_node_label_${metaLabel(label)}`],
            regex: value.replace(/[.]/g, "\\."),
            action: "keep" as const,
        })),
        {
            source_labels: ["__meta_kubernetes_node_address_InternalIP"],
            regex: "(.+)",
            target_label: "__address__",
            replacement: `$1:${entry.port}`,
        },
        { source_labels: ["__meta_kubernetes_node_name"], target_label: "node" },
    ];
}

/** Pod discovery keeps one target per declared container port: the diagnostics port, of running pods. */
export function controllerRelabelConfigs(controller: ControllerTarget): RelabelConfig[] {
    return [
        {
            source_labels: ["__meta_kubernetes_pod_container_port_number"],
            regex: String(controller.port),
            action: "keep",
        },
        { source_labels: ["__meta_kubernetes_pod_phase"], regex: "Running", action: "keep" },
        { source_labels: ["__meta_kubernetes_pod_name"], target_label: "pod" },
        { source_labels: ["__meta_kubernetes_namespace"], target_label: "namespace" },
    ];
}

function controllerJob(controller: ControllerTarget, input: ScrapeConfigInput) {
    const { caFile, serverName } = input.controllerTls;
    return {
        job_name: controller.name,
        scheme: "https",
        metrics_path: "/metrics",
        authorization: { credentials_file: input.tokenFile },
        // controller-runtime's self-signed certificate cannot be verified; a pinned CA can.
        tls_config: caFile
            ? { ca_file: caFile, ...(serverName ? { server_name: serverName } : {}) }
            : { insecure_skip_verify: true },
        kubernetes_sd_configs: [
            {
                role: "pod",
                namespaces: { names: [controller.namespace] },
                selectors: [{ role: "pod", label: labelSelector(controller.selector) }],
            },
        ],
        relabel_configs: controllerRelabelConfigs(controller),
    };
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
    return yaml.dump(
        { scrape_configs: [...jobs, ...input.controllers.map((c) => controllerJob(c, input))] },
        { lineWidth: 200, noRefs: true },
    );
}
