// kube-proxy serves its metrics to anyone who reaches the port: no authentication, plain HTTP.
// Bound to all interfaces (what kube-prometheus' kubeadm guide recommends), they are open to every
// network the node is on.

import { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { classifyListenAddress } from "../../core/addresses";
import { flagValues, Program, workloadCommandLines } from "../../core/containers";
import {
    CONFIG_MAP,
    ConfigDocument,
    configMapDocuments,
    describeResource,
    isConfigDocument,
    isKind,
    kubeadmConfigSpecOf,
    kubeadmFilesDocuments,
    lookup,
    workloadOf,
} from "../../core/resources";
import {
    ALLOWED_HOSTS_SCHEMA,
    AllowedHostsConfig,
    Assessment,
    assessOrNotApplicable,
    hostAllowed,
    judgeSettings,
    PolicyDocs,
    quoted,
    Setting,
    unknownMessage,
} from "../lib/preview";

export const KUBE_PROXY_METRICS = "kube-proxy-metrics-not-on-all-interfaces";

export const kubeProxyMetricsDocs: PolicyDocs = {
    reference: "CIS Kubernetes Benchmark 4.3.1 (kube-proxy metrics bound to localhost)",
    looksAt: [
        "ConfigMap: KubeProxyConfiguration documents in any data value (kube-system/kube-proxy `config.conf`, kubeadm config files), field `metricsBindAddress`",
        "KubeadmControlPlane(Template), KubeadmConfig(Template): KubeProxyConfiguration documents in `kubeadmConfigSpec.files[].content` (plain, base64, gzip+base64)",
        "Pods and workloads: `--metrics-bind-address` of containers running kube-proxy",
    ],
};

const KUBE_PROXY: Program = { name: "kube-proxy", executables: ["kube-proxy"], images: ["kube-proxy"] };
const isKubeProxyConfiguration = isConfigDocument("kubeproxy.config.k8s.io", "KubeProxyConfiguration");
const RULE = "CIS Kubernetes Benchmark 4.3.1: keep kube-proxy metrics on 127.0.0.1:10249";
const NOT_APPLICABLE =
    "only ConfigMaps, Cluster API kubeadm resources and Pods / workloads can configure kube-proxy's metrics address";

function settings(type: string, props: unknown): Setting[] | undefined {
    const workload = workloadOf(type);
    if (workload) {
        const scan = workloadCommandLines(props, workload, [KUBE_PROXY]);
        return [
            ...scan.unknowns.map((path) => ({ unknown: path })),
            // No flag: kube-proxy's default, 127.0.0.1:10249. A downward-API address is one address.
            ...scan.commandLines.flatMap((line) =>
                flagValues(line, "metrics-bind-address").flatMap((v): Setting[] =>
                    v.state === "unknown"
                        ? [{ unknown: v.path }]
                        : v.downwardApi
                          ? []
                          : [{ path: v.path, value: v.value, written: v.written, note: v.note }],
                ),
            ),
        ];
    }
    const specPath = kubeadmConfigSpecOf(type);
    const scan = specPath
        ? kubeadmFilesDocuments(props, specPath, isKubeProxyConfiguration, "KubeProxyConfiguration")
        : isKind(type, CONFIG_MAP)
          ? configMapDocuments(props, isKubeProxyConfiguration, "KubeProxyConfiguration", {
                names: ["kube-proxy"],
                keys: ["config.conf"],
            })
          : undefined;
    if (!scan) {
        return undefined;
    }
    return [...scan.unknowns.map((path) => ({ unknown: path })), ...scan.documents.flatMap(documentSetting)];
}

function documentSetting({ document, render }: ConfigDocument): Setting[] {
    const found = lookup(document, ["metricsBindAddress"]);
    if ("unknownAt" in found) {
        return [{ unknown: render(found.unknownAt) }];
    }
    // Absent or empty: kube-proxy's default 127.0.0.1:10249 (empty disables nothing in config files).
    return found.value === undefined || found.value === ""
        ? []
        : [{ path: render(["metricsBindAddress"]), value: found.value }];
}

export function assessKubeProxyMetrics(
    type: string,
    pulumiName: string,
    props: unknown,
    config: AllowedHostsConfig,
): Assessment | undefined {
    const found = settings(type, props);
    if (!found) {
        return undefined;
    }
    const resource = describeResource(type, pulumiName, props);
    const allowed = hostAllowed(config);
    return judgeSettings(
        found,
        (path) => unknownMessage(resource, path, "kube-proxy's metrics address", RULE),
        (setting) => {
            const verdict = classifyListenAddress(setting.value);
            if (verdict.reach !== "all-interfaces" || allowed(verdict.host)) {
                return [];
            }
            return [
                `kube-proxy metrics would be served on all interfaces: ${resource} sets ${setting.path} = ${quoted(setting)}; ` +
                    `${verdict.reason}. kube-proxy checks no credentials on its metrics port, so anyone who reaches the node ` +
                    `could read them (${RULE}). Set it to 127.0.0.1:10249 (or remove it: that is the default) ` +
                    `and scrape kube-proxy through the eksa-metrics stack, whose kube-rbac-proxy checks the scraper's token on the node IP.`,
            ];
        },
    );
}

export const kubeProxyMetricsNotOnAllInterfaces: ResourceValidationPolicy = {
    name: KUBE_PROXY_METRICS,
    displayName: "kube-proxy metrics stay off all interfaces",
    description:
        "kube-proxy's metricsBindAddress (KubeProxyConfiguration) and --metrics-bind-address must not mean all " +
        "interfaces (0.0.0.0:10249, :10249, [::]:10249, a bare port, 0.0.0.0/0): kube-proxy serves metrics " +
        `without authentication. ${kubeProxyMetricsDocs.reference}.`,
    severity: "high",
    remediationSteps:
        "Keep metricsBindAddress at its default 127.0.0.1:10249 and expose kube-proxy's metrics through the " +
        "eksa-metrics stack (kube-rbac-proxy on the node IP, TLS and token review).",
    configSchema: ALLOWED_HOSTS_SCHEMA,
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        const assessment = assessOrNotApplicable(
            args,
            assessKubeProxyMetrics,
            args.getConfig<AllowedHostsConfig>(),
            NOT_APPLICABLE,
        );
        assessment.violations.forEach((message) => reportViolation(message));
    },
};
