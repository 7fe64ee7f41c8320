// etcd's --listen-metrics-urls listener serves /metrics (and /health) without client
// certificates when it is http://. On loopback that is what kubeadm configures; on all interfaces,
// or in clear text on an address other nodes reach, anyone on the network reads it.

import { isIP } from "net";
import { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { classifyListenUrls } from "../../core/addresses";
import { flagValues, Program, workloadCommandLines } from "../../core/containers";
import {
    clusterConfigurations,
    describeResource,
    extraArgValues,
    flagKey,
    formatPath,
    isObject,
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

export const ETCD_METRICS = "etcd-metrics-not-exposed";

export const etcdMetricsDocs: PolicyDocs = {
    reference:
        "no CIS item covers the metrics listener (CIS 2.x covers etcd's client and peer TLS); the eksa-metrics design",
    looksAt: [
        "KubeadmControlPlane(Template), KubeadmConfig(Template): `clusterConfiguration.etcd.local.extraArgs` (map and list forms), key `listen-metrics-urls`",
        "ConfigMap: the same in kubeadm ClusterConfiguration documents (e.g. kube-system/kubeadm-config)",
        "Pods and workloads: `--listen-metrics-urls` and env `ETCD_LISTEN_METRICS_URLS` of containers running etcd (directly, under a wrapper or a shell), and env `ETCD_LISTEN_METRICS_URLS` of containers running kOps' etcd-manager",
    ],
};

const ETCD: Program = { name: "etcd", executables: ["etcd"], images: ["etcd"] };
/**
 * kOps' etcd-manager starts etcd itself and hands it every ETCD_* variable of its own container
 * (kOps sets ETCD_LISTEN_METRICS_URLS there from etcdClusters[].manager.listenMetricsURLs); its own
 * flags are not etcd's.
 */
const ETCD_MANAGER: Program = {
    name: "etcd-manager",
    executables: ["etcd-manager"],
    images: ["etcd-manager", "etcd-manager-slim"],
};
const RULE = "keep etcd metrics on http://127.0.0.1:2381, as kubeadm does";
const NOT_APPLICABLE =
    "only Cluster API kubeadm resources, ConfigMaps holding a kubeadm ClusterConfiguration and Pods / workloads can configure etcd's metrics listener";
const ENV_VARIABLE = "ETCD_LISTEN_METRICS_URLS";

function settings(type: string, props: unknown): Setting[] | undefined {
    const workload = workloadOf(type);
    if (workload) {
        const scan = workloadCommandLines(props, workload, [ETCD, ETCD_MANAGER]);
        // A container's env once, however many of its script's commands run etcd.
        const envRead = new Set<string>();
        return [
            ...scan.unknowns.map((path) => ({ unknown: path })),
            ...scan.commandLines.flatMap((line): Setting[] => {
                const containerKey = formatPath(line.containerPath);
                const env = envRead.has(containerKey)
                    ? []
                    : envSettings(line.container, line.containerPath, line.program === ETCD_MANAGER);
                envRead.add(containerKey);
                const flags =
                    line.program === ETCD
                        ? flagValues(line, "listen-metrics-urls").map((v): Setting =>
                              v.state === "unknown" ? { unknown: v.path } : v,
                          )
                        : [];
                return [...flags, ...env];
            }),
        ];
    }
    const scan = clusterConfigurations(type, props);
    if (!scan) {
        return undefined;
    }
    return [
        ...scan.unknowns.map((path) => ({ unknown: path })),
        ...scan.documents.flatMap(({ document, render }) =>
            extraArgValues(document, ["etcd", "local", "extraArgs"], flagKey("listen-metrics-urls"), render).map(
                (f): Setting => (f.state === "unknown" ? { unknown: f.path } : { path: f.path, value: f.value }),
            ),
        ),
    ];
}

/** etcd reads every flag from ETCD_<FLAG> too (and etcd-manager passes its ETCD_* variables on). */
function envSettings(
    container: Record<string | number, unknown>,
    containerPath: readonly (string | number)[],
    viaManager: boolean,
): Setting[] {
    if (!Array.isArray(container.env)) {
        return [];
    }
    const note = viaManager ? "etcd-manager passes its ETCD_* variables to the etcd it starts" : undefined;
    return container.env.flatMap((entry: unknown, i): Setting[] => {
        if (!isObject(entry) || entry.name !== ENV_VARIABLE) {
            return [];
        }
        const path = formatPath([...containerPath, "env", i, "value"]);
        return typeof entry.value === "string"
            ? [{ path, value: entry.value, note }]
            : entry.value === undefined
              ? []
              : [{ unknown: path }];
    });
}

/**
 * What etcd does with a metrics URL that means every interface (etcd v3.6 and v3.5:
 * client/pkg/types/urls.go NewURLs, server/embed/config.go checkBindURLs, embed/etcd.go createMetricsListener):
 * - http(s)://<IP>:<port> with the unspecified IP: a listener on every interface (dual-stack); http serves
 *   /metrics and /health with no TLS and no client certificate, https uses the client TLS settings;
 * - no port (`http://0.0.0.0`), no host (`http://:2381`), a host name other than localhost, or no scheme:
 *   etcd refuses to start ("URL address does not have the form \"host:port\"", "expected IP in URL for binding").
 */
function whatEtcdDoes(url: string, scheme: string, port: string | undefined): string {
    const hostPort = /^[a-z]+:\/\/(?:\[([^\]]*)\]|([^:/[\]]*)):(\d+)\/?$/i.exec(url);
    const host = hostPort?.[1] ?? hostPort?.[2];
    const accepted = (scheme === "http" || scheme === "https") && host !== undefined && isIP(host) !== 0;
    if (!accepted) {
        return (
            "etcd refuses to start with this URL (it wants scheme://IP:port, e.g. http://127.0.0.1:2381), and written as " +
            `http://0.0.0.0:${port ?? "2381"} it serves /metrics and /health on every interface, asking no client certificate`
        );
    }
    return scheme === "http"
        ? "etcd serves /metrics and /health there on every interface, IPv4 and IPv6 alike, in plain HTTP and asking no client certificate"
        : "etcd serves /metrics and /health there on every interface, IPv4 and IPv6 alike, with its client TLS settings " +
              "(client certificates only with --client-cert-auth)";
}

export function assessEtcdMetrics(
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
        (path) => unknownMessage(resource, path, "etcd's metrics listener", RULE),
        (setting) =>
            classifyListenUrls(String(setting.value)).flatMap(({ url, scheme, verdict }) => {
                const sets = `${resource} sets ${setting.path} = ${quoted(setting)}`;
                if (allowed(verdict.host)) {
                    return [];
                }
                const problem =
                    verdict.reach === "all-interfaces"
                        ? `etcd metrics would be served on all interfaces: ${url} — ${verdict.reason}. ${sets}. ` +
                          whatEtcdDoes(url, scheme, verdict.port)
                        : scheme === "http" && verdict.reach !== "loopback"
                          ? `etcd metrics would be served in clear text off the node: ${url} is http:// on ${verdict.host} (${verdict.reason}). ${sets}. ` +
                            "Over http the listener asks for no client certificate, so anyone who reaches the address reads etcd's metrics"
                          : undefined;
                if (!problem) {
                    return [];
                }
                return [
                    `${problem}. Remove it or ${RULE}, and scrape etcd through the eksa-metrics stack (kube-rbac-proxy with TLS and ` +
                        "token review on the node IP); unstacked etcd already serves https://<etcd-ip>:2379/metrics with client certificates.",
                ];
            }),
    );
}

export const etcdMetricsNotExposed: ResourceValidationPolicy = {
    name: ETCD_METRICS,
    displayName: "etcd metrics stay local or use TLS",
    description:
        "etcd's listen-metrics-urls must not bind all interfaces and must not be http:// on an address other than " +
        "loopback: the metrics listener then serves anyone without client certificates, in clear text.",
    severity: "high",
    remediationSteps:
        "Keep listen-metrics-urls at http://127.0.0.1:2381 (kubeadm's default) and expose etcd's metrics through the " +
        "eksa-metrics stack.",
    configSchema: ALLOWED_HOSTS_SCHEMA,
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        const assessment = assessOrNotApplicable(
            args,
            assessEtcdMetrics,
            args.getConfig<AllowedHostsConfig>(),
            NOT_APPLICABLE,
        );
        assessment.violations.forEach((message) => reportViolation(message));
    },
};
