// The EKS Anywhere docs' metrics proxy: haproxy on the host network re-publishing the control
// plane's metrics ports on the node IP, in plain HTTP (the scraper's bearer token crosses the
// network in clear text) and in front of kube-proxy and etcd, which check no credentials at all.
// A stack policy: whether a host-network container speaks TLS is written in the ConfigMap it mounts.

import { ReportViolation, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
// The one list of components and ports (the stack's own catalogue). The pack runs from this
// checkout (`--policy-pack policy`), so it can import it; see policy/README.md for publishing.
import { CATALOGUE, isKubeRbacProxyHost } from "../../core/catalogue";
import { classifyHost, classifyListenAddress } from "../../core/addresses";
import { containerCommandLines, flagValues, podContainers, Program } from "../../core/containers";
import { Listener, parseProxyConfig, ProxyConfig } from "../lib/proxyConfig";
import {
    CONFIG_MAP,
    describeResource,
    formatPath,
    isKind,
    isObject,
    lookup,
    UNKNOWN,
    workloadOf,
} from "../../core/resources";
import { Assessment, PolicyDocs, StackFinding, StackResource, stackResources, unknownMessage } from "../lib/preview";

export const INSECURE_PROXY = "no-insecure-metrics-proxy";

export const insecureProxyDocs: PolicyDocs = {
    reference:
        'the EKS Anywhere "Expose metrics" docs\' HAProxy ConfigMap and DaemonSet (their flaws: plain HTTP, unauthenticated kube-proxy and etcd)',
    looksAt: [
        "ConfigMap: haproxy, nginx and envoy configurations (by key or content)",
        "Pods and workloads with `hostNetwork: true`: containers publishing a catalogue port, judged by the ConfigMaps they mount or their kube-rbac-proxy flags",
    ],
};

const PORTS = new Map(CATALOGUE.map((entry) => [entry.port, entry]));
/** Components that authenticate nobody: whoever forwards to them must check credentials itself. */
const UNAUTHENTICATED_PORTS = new Set(
    CATALOGUE.filter((entry) => entry.authenticator === "proxy").map((entry) => entry.port),
);
/** The components themselves are judged by the other policies. */
const COMPONENT_PROGRAMS: readonly Program[] = CATALOGUE.map((entry) => ({
    name: entry.name,
    executables: [entry.name],
    images: [entry.name],
}));
const KUBE_RBAC_PROXY: Program = {
    name: "kube-rbac-proxy",
    executables: ["kube-rbac-proxy"],
    images: ["kube-rbac-proxy"],
};

/** Data keys that hold a proxy configuration by name (content decides for the others, when known). */
const PROXY_CONFIG_KEY = /haproxy|nginx|envoy/i;
const RULE = "serve metrics ports with TLS on the node IP, in front of a credentials check";

const REMEDY =
    "Deploy the eksa-metrics stack instead: haproxy with TLS on the node IP in front of kube-controller-manager and " +
    "kube-scheduler (which check the token themselves), and of kube-rbac-proxy on loopback, with token review, in front of kube-proxy and etcd.";

interface ProxyConfigMap {
    readonly resource: StackResource;
    readonly description: string;
    readonly name?: string;
    readonly namespace?: string;
    readonly configs: readonly { key: string; config: ProxyConfig }[];
}

function proxyConfigMaps(resources: readonly StackResource[]): ProxyConfigMap[] {
    return resources.flatMap((resource): ProxyConfigMap[] => {
        if (!isKind(resource.type, CONFIG_MAP)) {
            return [];
        }
        const data = lookup(resource.props, ["data"]);
        const configs =
            "value" in data && isObject(data.value)
                ? Object.entries(data.value).flatMap(([key, text]) => {
                      const config = typeof text === "string" ? parseProxyConfig(key, text) : undefined;
                      return config ? [{ key, config }] : [];
                  })
                : [];
        return configs.length > 0
            ? [
                  {
                      resource,
                      description: describeResource(resource.type, resource.name, resource.props),
                      ...metadataOf(resource.props),
                      configs,
                  },
              ]
            : [];
    });
}

function metadataOf(props: unknown): { name?: string; namespace?: string } {
    const name = lookup(props, ["metadata", "name"]);
    const namespace = lookup(props, ["metadata", "namespace"]);
    return {
        name: "value" in name && typeof name.value === "string" ? name.value : undefined,
        namespace: "value" in namespace && typeof namespace.value === "string" ? namespace.value : undefined,
    };
}

const portName = (port: number) => `${port} (${PORTS.get(port)?.name ?? "?"})`;

function configMapFindings(configMap: ProxyConfigMap): StackFinding[] {
    const findings: StackFinding[] = [];
    for (const { key, config } of configMap.configs) {
        for (const listener of config.listeners) {
            const at = `${formatPath(["data", key])} ${config.kind} ${listener.where} listens on ${JSON.stringify(listener.address)}`;
            const reach = classifyHost(listener.host);
            if (PORTS.has(listener.port) && reach.reach === "all-interfaces") {
                findings.push({
                    urn: configMap.resource.urn,
                    message:
                        `metrics proxy on all interfaces: ${configMap.description}: ${at}, the ${portName(listener.port)} metrics port; ` +
                        `${reach.reason}, so the port is open on every network the node is on. Bind the node's own IP. ${REMEDY}`,
                });
            }
            // kube-rbac-proxy on its loopback address (ours: haproxy in front of it) checks the credentials.
            const unauthenticated = listener.upstreams.filter(
                (u) => UNAUTHENTICATED_PORTS.has(u.port) && !isKubeRbacProxyHost(u.host),
            );
            if (unauthenticated.length > 0 && !listener.authenticates && reach.reach !== "loopback") {
                findings.push({
                    urn: configMap.resource.urn,
                    message:
                        `unauthenticated metrics forwarded off the node: ${configMap.description}: ${at} and forwards to ` +
                        `${unauthenticated.map((u) => `${u.host}:${portName(u.port)}`).join(", ")} without checking any credentials; ` +
                        `kube-proxy and etcd check none either, so anyone who reaches the node reads their metrics. ${REMEDY}`,
                });
            }
        }
    }
    return findings;
}

/** The ConfigMap names a container mounts (configMap and projected volumes). */
function mountedConfigMapNames(
    podSpec: Record<string | number, unknown>,
    container: Record<string | number, unknown>,
): Set<string> {
    const mounted = new Set(
        Array.isArray(container.volumeMounts)
            ? container.volumeMounts.flatMap((m: unknown) =>
                  isObject(m) && typeof m.name === "string" ? [m.name] : [],
              )
            : [],
    );
    const names = new Set<string>();
    for (const volume of Array.isArray(podSpec.volumes) ? podSpec.volumes : []) {
        if (!isObject(volume) || typeof volume.name !== "string" || !mounted.has(volume.name)) {
            continue;
        }
        const sources = [
            volume.configMap,
            ...(isObject(volume.projected) && Array.isArray(volume.projected.sources)
                ? volume.projected.sources.map((s: unknown) => (isObject(s) ? s.configMap : undefined))
                : []),
        ];
        for (const source of sources) {
            if (isObject(source) && typeof source.name === "string") {
                names.add(source.name);
            }
        }
    }
    return names;
}

/** How kube-rbac-proxy serves a port, and the flag that says so. */
type Transport = { readonly tls: boolean; readonly evidence: string };

function kubeRbacProxyTransports(
    container: Record<string | number, unknown>,
    containerPath: readonly (string | number)[],
): Map<number, Transport> {
    const transports = new Map<number, Transport>();
    for (const line of containerCommandLines(container, containerPath, [KUBE_RBAC_PROXY]).commandLines) {
        for (const [flag, tls] of [
            ["secure-listen-address", true],
            ["insecure-listen-address", false],
        ] as const) {
            for (const value of flagValues(line, flag)) {
                const port = value.state === "set" ? Number(classifyListenAddress(value.value).port) : NaN;
                if (value.state === "set" && PORTS.has(port)) {
                    transports.set(port, {
                        tls,
                        evidence: `${value.path} = ${JSON.stringify(value.written ?? value.value)}`,
                    });
                }
            }
        }
    }
    return transports;
}

function workloadFindings(resource: StackResource, configMaps: readonly ProxyConfigMap[]): StackFinding[] {
    const workload = workloadOf(resource.type);
    if (!workload) {
        return [];
    }
    const podSpec = lookup(resource.props, workload.podSpecPath);
    if (!("value" in podSpec) || !isObject(podSpec.value) || podSpec.value.hostNetwork !== true) {
        return [];
    }
    const spec = podSpec.value;
    const description = describeResource(resource.type, resource.name, resource.props);
    const { namespace } = metadataOf(resource.props);
    const findings: StackFinding[] = [];
    for (const { container, path } of podContainers(resource.props, workload).containers) {
        if (containerCommandLines(container, path, COMPONENT_PROGRAMS).commandLines.length > 0) {
            continue;
        }
        const published = new Set<number>();
        for (const port of Array.isArray(container.ports) ? container.ports : []) {
            for (const field of ["containerPort", "hostPort"]) {
                const value = isObject(port) ? port[field] : undefined;
                if (typeof value === "number" && PORTS.has(value)) {
                    published.add(value);
                }
            }
        }
        const mounted = mountedConfigMapNames(spec, container);
        const listeners: { configMap: ProxyConfigMap; key: string; listener: Listener }[] = configMaps
            .filter((c) => c.name !== undefined && mounted.has(c.name) && sameNamespace(c.namespace, namespace))
            .flatMap((configMap) =>
                configMap.configs.flatMap(({ key, config }) =>
                    config.listeners.map((listener) => ({ configMap, key, listener })),
                ),
            );
        const rbacProxy = kubeRbacProxyTransports(container, path);
        const ports = new Set([
            ...published,
            ...listeners.map((l) => l.listener.port).filter((p) => PORTS.has(p)),
            ...rbacProxy.keys(),
        ]);
        for (const port of [...ports].sort((a, b) => a - b)) {
            const plain = listeners.filter((l) => l.listener.port === port && !l.listener.tls);
            const viaFlag = rbacProxy.get(port);
            const evidence =
                viaFlag && !viaFlag.tls
                    ? viaFlag.evidence
                    : plain.length > 0
                      ? plain
                            .map(
                                (l) =>
                                    `${l.configMap.description} ${formatPath(["data", l.key])} ${l.listener.where} (${JSON.stringify(l.listener.address)}, no TLS)`,
                            )
                            .join("; ")
                      : undefined;
            if (evidence) {
                findings.push({
                    urn: resource.urn,
                    message:
                        `metrics proxy in plain HTTP on the host network: ${description} ${formatPath(path)} publishes ${portName(port)} ` +
                        `on the node (hostNetwork: true) without TLS — ${evidence}. The scraper's bearer token and the metrics cross ` +
                        `the network in clear text. ${REMEDY}`,
                });
            }
        }
    }
    return findings;
}

/**
 * The fields unknown during preview that decide whether a resource is a metrics proxy (for the
 * advisory policy): a workload's hostNetwork or container ports, a proxy configuration's text.
 */
export function assessProxyUnknowns(type: string, pulumiName: string, props: unknown): Assessment | undefined {
    const workload = workloadOf(type);
    if (!workload && !isKind(type, CONFIG_MAP)) {
        return undefined;
    }
    const paths: string[] = [];
    if (workload) {
        const hostNetwork = lookup(props, [...workload.podSpecPath, "hostNetwork"]);
        if ("unknownAt" in hostNetwork) {
            paths.push(formatPath(hostNetwork.unknownAt));
        } else if (hostNetwork.value === true) {
            for (const { container, path } of podContainers(props, workload).containers) {
                if (
                    container.ports === UNKNOWN ||
                    (Array.isArray(container.ports) && container.ports.includes(UNKNOWN))
                ) {
                    paths.push(formatPath([...path, "ports"]));
                }
            }
        }
    } else {
        const data = lookup(props, ["data"]);
        const values = "value" in data && isObject(data.value) ? data.value : {};
        paths.push(
            ...Object.keys(values)
                .filter((key) => values[key] === UNKNOWN && PROXY_CONFIG_KEY.test(key))
                .map((key) => formatPath(["data", key])),
        );
    }
    const resource = describeResource(type, pulumiName, props);
    return {
        violations: [],
        unknowns: paths.map((path) =>
            unknownMessage(
                resource,
                path,
                "whether it serves control-plane metrics in plain HTTP or unauthenticated",
                RULE,
            ),
        ),
    };
}

/** Whether each workload of the program that mounts the ConfigMap runs in the host network. */
function mountersHostNetwork(configMap: ProxyConfigMap, resources: readonly StackResource[]): boolean[] {
    return resources.flatMap((resource) => {
        const workload = workloadOf(resource.type);
        const podSpec = workload ? lookup(resource.props, workload.podSpecPath) : undefined;
        if (!workload || !podSpec || !("value" in podSpec) || !isObject(podSpec.value)) {
            return [];
        }
        const spec = podSpec.value;
        const mounts = podContainers(resource.props, workload).containers.some(
            ({ container }) =>
                configMap.name !== undefined && mountedConfigMapNames(spec, container).has(configMap.name),
        );
        return mounts && sameNamespace(configMap.namespace, metadataOf(resource.props).namespace)
            ? [spec.hostNetwork === true]
            : [];
    });
}

/** Unset namespaces are the provider's default one: they match any. */
const sameNamespace = (a: string | undefined, b: string | undefined) => a === b || a === undefined || b === undefined;

export function assessInsecureProxy(resources: readonly StackResource[]): StackFinding[] {
    const configMaps = proxyConfigMaps(resources);
    // A configuration only pod-network pods of the program mount listens inside those pods, not on a node.
    const onNodes = configMaps.filter((configMap) => {
        const mounters = mountersHostNetwork(configMap, resources);
        return mounters.length === 0 || mounters.includes(true);
    });
    return [...onNodes.flatMap(configMapFindings), ...resources.flatMap((r) => workloadFindings(r, configMaps))];
}

export const noInsecureMetricsProxy: StackValidationPolicy = {
    name: INSECURE_PROXY,
    displayName: "no plain-HTTP or unauthenticated metrics proxy",
    description:
        `No host-network workload may publish a control-plane metrics port (${CATALOGUE.map((e) => e.port).join(", ")}) in plain HTTP, ` +
        "and no haproxy / nginx / envoy configuration in a ConfigMap may bind such a port on all interfaces or forward " +
        "kube-proxy or etcd metrics without checking credentials — as the EKS Anywhere docs' metrics proxy does.",
    severity: "high",
    remediationSteps: REMEDY,
    validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
        for (const finding of assessInsecureProxy(stackResources(args))) {
            reportViolation(finding.message, finding.urn);
        }
    },
};
