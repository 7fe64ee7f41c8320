/**
 * Objects for a Prometheus that the Prometheus Operator runs (kube-prometheus-stack): a ScrapeConfig
 * per component (node discovery) and per controller (pod discovery), with the same relabelling as the
 * scrapeConfig output, a PrometheusRule
 * with the same rule groups as the alertRules output, and what they reference. Pure: the manifests
 * are made here, MetricsStack registers them.
 *
 * The operator reads a scrape's credentials from a Secret in the ScrapeConfig's namespace (it writes
 * them into the Prometheus' generated config), not from a file: the stack gives that namespace a
 * service account of its own, bound to the metrics-reader role, and a token Secret for it, which
 * the API server's token controller fills. The CA is public and goes in a ConfigMap.
 */
import { CatalogueEntry, ComponentName, ControllerTarget } from "../core/catalogue";
import { RuleGroup } from "./alertRules";
import { labelSelector } from "../core/labels";
import { controllerRelabelConfigs, RelabelConfig, relabelConfigs } from "./scrapeConfig";

/** The API the objects are written for (the CRDs of prometheus-operator v0.85.0). */
export const SCRAPE_CONFIG_API = "monitoring.coreos.com/v1alpha1";
export const PROMETHEUS_RULE_API = "monitoring.coreos.com/v1";
export const CA_KEY = "ca.crt";
/** controllers.tls.caCertificate, in the same ConfigMap. */
export const CONTROLLERS_CA_KEY = "controllers-ca.crt";
export const TOKEN_KEY = "token";

export interface OperatorObjectsInput {
    /** Prefix of the objects' names: the stack resource's name. */
    name: string;
    namespace: string;
    labels: Record<string, string>;
    components: readonly CatalogueEntry[];
    jobNames: Record<ComponentName, string>;
    nodeSelector: Record<string, string>;
    tlsServerName: string;
    controllers: readonly ControllerTarget[];
    /** controllers.tls: without a CA the controllers' self-signed certificates are not verified. */
    controllerTls: { caCertificate?: string; serverName?: string };
}

export interface Manifest {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace: string; labels: Record<string, string>; annotations?: Record<string, string> };
    [field: string]: unknown;
}

/** Fixed names: the ScrapeConfigs reference the Secret and the ConfigMap by name. */
export function operatorObjectNames(name: string) {
    return {
        serviceAccount: `${name}-scraper`,
        tokenSecret: `${name}-scraper-token`,
        caConfigMap: `${name}-ca`,
        prometheusRule: `${name}-alerts`,
        /** A component's or a controller's. */
        scrapeConfig: (job: string) => `${name}-${job}`,
    };
}

function metadata(input: OperatorObjectsInput, name: string): Manifest["metadata"] {
    return { name, namespace: input.namespace, labels: { ...input.labels } };
}

/** The reader service account's long-lived token Secret (type service-account-token, filled by the API server). */
export function operatorTokenSecret(input: OperatorObjectsInput): Manifest {
    const names = operatorObjectNames(input.name);
    return {
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
            ...metadata(input, names.tokenSecret),
            annotations: { "kubernetes.io/service-account.name": names.serviceAccount },
        },
        type: "kubernetes.io/service-account-token",
    };
}

/** `caCertificate`: the PEM, or a promise of it (the manifest's shape does not depend on it). */
export function operatorCaConfigMap<T>(
    input: OperatorObjectsInput,
    caCertificate: T,
): Manifest & { data: Record<string, T | string> } {
    const controllersCa = input.controllerTls.caCertificate;
    return {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: metadata(input, operatorObjectNames(input.name).caConfigMap),
        data: { [CA_KEY]: caCertificate, ...(controllersCa ? { [CONTROLLERS_CA_KEY]: controllersCa } : {}) },
    };
}

function relabelings(configs: RelabelConfig[]) {
    return configs.map(({ source_labels, target_label, ...rest }) => ({
        sourceLabels: source_labels,
        ...(target_label === undefined ? {} : { targetLabel: target_label }),
        ...rest,
    }));
}

export function operatorScrapeConfigs(input: OperatorObjectsInput): Manifest[] {
    const names = operatorObjectNames(input.name);
    const authorization = { type: "Bearer", credentials: { name: names.tokenSecret, key: TOKEN_KEY } };
    const { caCertificate, serverName } = input.controllerTls;
    const controllerTls = caCertificate
        ? {
              ca: { configMap: { name: names.caConfigMap, key: CONTROLLERS_CA_KEY } },
              ...(serverName ? { serverName } : {}),
          }
        : { insecureSkipVerify: true };
    const controllers = input.controllers.map((controller: ControllerTarget): Manifest => ({
        apiVersion: SCRAPE_CONFIG_API,
        kind: "ScrapeConfig",
        metadata: metadata(input, names.scrapeConfig(controller.name)),
        spec: {
            jobName: controller.name,
            scheme: "HTTPS",
            metricsPath: "/metrics",
            kubernetesSDConfigs: [
                {
                    role: "Pod",
                    namespaces: { names: [controller.namespace] },
                    selectors: [{ role: "Pod", label: labelSelector(controller.selector) }],
                },
            ],
            authorization,
            tlsConfig: controllerTls,
            relabelings: relabelings(controllerRelabelConfigs(controller)),
        },
    }));
    return [
        ...input.components.map((entry) => ({
            apiVersion: SCRAPE_CONFIG_API,
            kind: "ScrapeConfig",
            metadata: metadata(input, names.scrapeConfig(entry.name)),
            spec: {
                // The operator names the job itself (scrapeConfig/<namespace>/<name>) and sets `job` from this.
                jobName: input.jobNames[entry.name],
                scheme: "HTTPS",
                metricsPath: "/metrics",
                kubernetesSDConfigs: [{ role: "Node" }],
                authorization,
                tlsConfig: {
                    ca: { configMap: { name: names.caConfigMap, key: CA_KEY } },
                    serverName: input.tlsServerName,
                },
                relabelings: relabelings(relabelConfigs(entry, input.nodeSelector)),
            },
        })),
        ...controllers,
    ];
}

/** `groups`: the rule groups (alertRules.ts), or a promise of them. */
export function operatorPrometheusRule<T extends RuleGroup[] | object>(
    input: OperatorObjectsInput,
    groups: T,
): Manifest & { spec: { groups: T } } {
    return {
        apiVersion: PROMETHEUS_RULE_API,
        kind: "PrometheusRule",
        metadata: metadata(input, operatorObjectNames(input.name).prometheusRule),
        spec: { groups },
    };
}
