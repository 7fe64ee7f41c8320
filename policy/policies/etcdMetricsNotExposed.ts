// etcd's --listen-metrics-urls listener serves /metrics (and /health) without client
// certificates when it is http://. On loopback that is what kubeadm configures; on all interfaces,
// or in clear text on an address other nodes reach, anyone on the network reads it.

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
        "Pods and workloads: `--listen-metrics-urls` and env `ETCD_LISTEN_METRICS_URLS` of containers running etcd",
    ],
};

const ETCD: Program = { name: "etcd", executables: ["etcd"], images: ["etcd"] };
const RULE = "keep etcd metrics on http://127.0.0.1:2381, as kubeadm does";
const NOT_APPLICABLE =
    "only Cluster API kubeadm resources, ConfigMaps holding a kubeadm ClusterConfiguration and Pods / workloads can configure etcd's metrics listener";
const ENV_VARIABLE = "ETCD_LISTEN_METRICS_URLS";

function settings(type: string, props: unknown): Setting[] | undefined {
    const workload = workloadOf(type);
    if (workload) {
        const scan = workloadCommandLines(props, workload, [ETCD]);
        return [
            ...scan.unknowns.map((path) => ({ unknown: path })),
            ...scan.commandLines.flatMap((line): Setting[] => [
                ...flagValues(line, "listen-metrics-urls").map((v): Setting =>
                    v.state === "unknown" ? { unknown: v.path } : v,
                ),
                ...envSettings(line.container, line.containerPath),
            ]),
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

/** etcd reads every flag from ETCD_<FLAG> too. */
function envSettings(
    container: Record<string | number, unknown>,
    containerPath: readonly (string | number)[],
): Setting[] {
    if (!Array.isArray(container.env)) {
        return [];
    }
    return container.env.flatMap((entry: unknown, i): Setting[] => {
        if (!isObject(entry) || entry.name !== ENV_VARIABLE) {
            return [];
        }
        const path = formatPath([...containerPath, "env", i, "value"]);
        return typeof entry.value === "string"
            ? [{ path, value: entry.value }]
            : entry.value === undefined
              ? []
              : [{ unknown: path }];
    });
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
                          "Every network the node is on reaches the listener" +
                          (scheme === "http" ? ", which over http asks for no client certificate" : "")
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
