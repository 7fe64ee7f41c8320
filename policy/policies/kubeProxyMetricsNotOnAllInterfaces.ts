// kube-proxy serves its metrics to anyone who reaches the port: no authentication, plain HTTP.
// Bound to all interfaces (what kube-prometheus' kubeadm guide recommends), they are open to every
// network the node is on.

import { isIP } from "net";
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
            // An empty flag keeps the default too (IPPortVar ignores it), and a flag with no value stops kube-proxy.
            ...scan.commandLines.flatMap((line) =>
                flagValues(line, "metrics-bind-address").flatMap((v): Setting[] =>
                    v.state === "unknown"
                        ? [{ unknown: v.path }]
                        : v.downwardApi || v.value === ""
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

/**
 * What kube-proxy does with a metrics address that means every interface (Kubernetes v1.34:
 * cmd/kube-proxy/app/options.go, pkg/util/flag IPPortVar, pkg/proxy/apis/config/v1alpha1/defaults.go
 * and validation/validation.go):
 * - absent or "" in a KubeProxyConfiguration, or `--metrics-bind-address=""` (IPPortVar drops an empty
 *   value, whatever the flag's help says about disabling): the default 127.0.0.1:10249;
 * - a bare IP (`0.0.0.0`, `::`): kube-proxy appends its metrics port, 0.0.0.0:10249 / [::]:10249;
 * - `IP:port`: as written; Go opens the unspecified address dual-stack;
 * - anything else (`:10249`, a bare port, `*`, a range, `[::]` without port, a YAML number) fails its
 *   validation ("must be IP:port", "must be a valid IP"): kube-proxy refuses to start.
 */
function whatKubeProxyDoes(value: unknown, port: string | undefined): string {
    const servesOn = (address: string) =>
        `kube-proxy serves its metrics on ${address}: every interface, IPv4 and IPv6 alike (Go opens the unspecified address dual-stack)`;
    if (typeof value === "string") {
        if (isSloppyIP(value)) {
            const host = value.includes(":") ? `[${value}]` : value;
            return `${servesOn(`${host}:10249`)}, as it adds its metrics port to a bare address`;
        }
        const hostPort = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d+)$/.exec(value);
        const host = hostPort?.[1] ?? hostPort?.[2];
        if (host !== undefined && isSloppyIP(host) && Number(hostPort![3]) >= 1 && Number(hostPort![3]) <= 65535) {
            return servesOn(value);
        }
    }
    return (
        "kube-proxy refuses to start with this value (its configuration validation wants IP:port with an IP host), " +
        `and written as 0.0.0.0:${port ?? "10249"} it serves its metrics on every interface`
    );
}

/** netutils.ParseIPSloppy: an IPv4 or IPv6 literal, IPv4 octets with leading zeros allowed. */
function isSloppyIP(text: string): boolean {
    return isIP(text) !== 0 || /^\d{1,3}(\.\d{1,3}){3}$/.test(text);
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
                    `${verdict.reason}: ${whatKubeProxyDoes(setting.value, verdict.port)}. kube-proxy checks no credentials on its metrics port, so anyone who reaches the node ` +
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
