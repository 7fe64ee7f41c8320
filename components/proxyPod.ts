/**
 * The pod template of the proxy DaemonSets, one per node role. Pure: it only arranges values
 * (some of them Pulumi Inputs) into the Kubernetes shape, so tests can read every field.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { CatalogueEntry, isKubeRbacProxyHost, KUBE_RBAC_PROXY_NET, NodeRole, upstreamUrl } from "../core/catalogue";
import { CONTROL_PLANE_LABEL, LEGACY_MASTER_LABEL } from "../core/kubernetes";
import { HAPROXY_CONFIG_DIR, HAPROXY_CONFIG_FILE, HAPROXY_PEM_FILE, HEALTH_PATH, TLS_DIR } from "./haproxy";
import { Settings } from "../config/settings";
import { DEFAULTS } from "../config/schema";
import { HOST_PORTS_ANNOTATION } from "../core/labels";
import { hostPortsOf } from "../cluster/preflight";

type PodTemplate = k8s.types.input.core.v1.PodTemplateSpec;
type Container = k8s.types.input.core.v1.Container;
type Volume = k8s.types.input.core.v1.Volume;
type ResourceRequirements = k8s.types.input.core.v1.ResourceRequirements;

/** The unprivileged user the proxies run as ("nobody"). */
export const PROXY_UID = 65534;
const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export const DEFAULT_PROXY_RESOURCES: ResourceRequirements = DEFAULTS.proxyResources;
export const DEFAULT_GATE_RESOURCES: ResourceRequirements = DEFAULTS.gateResources;

export interface ProxyPodInput {
    role: NodeRole;
    /** The enabled components that run on nodes of this role. */
    components: readonly CatalogueEntry[];
    settings: Settings;
    labels: Record<string, string>;
    serviceAccountName: pulumi.Input<string>;
    haproxyConfigMapName: pulumi.Input<string>;
    /**
     * The loopback address kube-rbac-proxy listens on (`kubeRbacProxyHost`), the one haproxy.cfg
     * forwards to; required when a component of this role authenticates nobody.
     */
    kubeRbacProxyHost?: string;
    tlsSecretName: pulumi.Input<string>;
    proxyImage: pulumi.Input<string>;
    gateImage: pulumi.Input<string>;
    proxyResources: pulumi.Input<ResourceRequirements>;
    gateResources: pulumi.Input<ResourceRequirements>;
}

const lockedDown = {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ["ALL"] },
};

const nodeIpEnv = { name: "NODE_IP", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "status.hostIP" } } };

/** Readiness and liveness on the same check; liveness is slower to give up, so a slow start is not a restart. */
function probes(
    check: Pick<k8s.types.input.core.v1.Probe, "httpGet" | "tcpSocket">,
): Pick<Container, "readinessProbe" | "livenessProbe"> {
    const probe = { ...check, periodSeconds: 10, timeoutSeconds: 2 };
    return {
        readinessProbe: { ...probe, failureThreshold: 3 },
        livenessProbe: { ...probe, failureThreshold: 6, initialDelaySeconds: 10 },
    };
}

/**
 * How a pod hands its node's ports over to its successor, with no instant without a listener. The
 * DaemonSets surge (the new pod starts before the old one is deleted), haproxy binds with SO_REUSEPORT
 * (its default), so old and new haproxy listen at once; and when a pod is deleted:
 * - haproxy keeps accepting for HAPROXY_STOP_DELAY_SECONDS (a preStop sleep), long enough for the
 *   replacement the DaemonSet controller creates at once (a deleted pod) to start listening; then its
 *   image's stop signal, SIGUSR1, makes it stop listening and finish the requests it holds (soft stop);
 * - kube-rbac-proxy outlives it by KUBE_RBAC_PROXY_EXTRA_SECONDS, so the requests haproxy still holds
 *   are answered.
 */
export const HAPROXY_STOP_DELAY_SECONDS = 5;
export const KUBE_RBAC_PROXY_EXTRA_SECONDS = 3;
/** The preStop sleeps, then the soft stop's longest request (haproxy's `timeout server`). */
function terminationGraceSeconds(settings: Settings): number {
    return HAPROXY_STOP_DELAY_SECONDS + KUBE_RBAC_PROXY_EXTRA_SECONDS + settings.serverTimeoutSeconds;
}

const preStopSleep = (seconds: number) => ({ preStop: { sleep: { seconds } } });

export function gateContainerName(entry: CatalogueEntry): string {
    return `rbac-proxy-${entry.name}`;
}

/** haproxy: TLS, path and token filter, and forwarding, on every port of the node. */
function haproxyContainer(input: ProxyPodInput): Container {
    return {
        name: "haproxy",
        image: input.proxyImage,
        // -W: master-worker, so a crashed worker is reported; -db: stay in the foreground.
        command: ["haproxy", "-W", "-db", "-f", `${HAPROXY_CONFIG_DIR}/${HAPROXY_CONFIG_FILE}`],
        env: [nodeIpEnv],
        // No ports declared: the node's ports are in the pod's HOST_PORTS_ANNOTATION.
        lifecycle: preStopSleep(HAPROXY_STOP_DELAY_SECONDS),
        ...probes({ httpGet: { path: HEALTH_PATH, port: input.settings.healthPort, scheme: "HTTP" } }),
        resources: input.proxyResources,
        securityContext: lockedDown,
        volumeMounts: [
            { name: "haproxy-config", mountPath: HAPROXY_CONFIG_DIR, readOnly: true },
            { name: "tls", mountPath: TLS_DIR, readOnly: true },
        ],
    };
}

/**
 * kube-rbac-proxy for a component that serves anyone: it checks the token (TokenReview) and the
 * reader's right to GET /metrics (SubjectAccessReview) before it forwards the scrape. It listens on
 * loopback, behind haproxy, and publishes no port of its own.
 */
function gateContainer(input: ProxyPodInput, entry: CatalogueEntry): Container {
    const host = input.kubeRbacProxyHost;
    if (host === undefined || !isKubeRbacProxyHost(host)) {
        throw new Error(
            `kube-rbac-proxy for ${entry.name} needs a loopback address of ${KUBE_RBAC_PROXY_NET}0.0/16 (got ${host})`,
        );
    }
    return {
        name: gateContainerName(entry),
        image: input.gateImage,
        command: ["kube-rbac-proxy"],
        args: [
            `--secure-listen-address=${host}:${entry.port}`,
            `--upstream=${upstreamUrl(entry)}/`,
            "--allow-paths=/metrics",
            `--tls-cert-file=${TLS_DIR}/tls.crt`,
            `--tls-private-key-file=${TLS_DIR}/tls.key`,
            "--tls-min-version=VersionTLS12",
        ],
        lifecycle: preStopSleep(HAPROXY_STOP_DELAY_SECONDS + KUBE_RBAC_PROXY_EXTRA_SECONDS),
        ...probes({ tcpSocket: { host, port: entry.port } }),
        resources: input.gateResources,
        securityContext: lockedDown,
        volumeMounts: [
            { name: "tls", mountPath: TLS_DIR, readOnly: true },
            // Only the gates talk to the API server; haproxy gets no token.
            { name: "kube-api-access", mountPath: SERVICE_ACCOUNT_DIR, readOnly: true },
        ],
    };
}

function volumes(input: ProxyPodInput, withGates: boolean): Volume[] {
    const list: Volume[] = [
        {
            name: "tls",
            secret: {
                secretName: input.tlsSecretName,
                defaultMode: 0o440,
                items: [
                    { key: "tls.crt", path: "tls.crt" },
                    { key: "tls.key", path: "tls.key" },
                    { key: HAPROXY_PEM_FILE, path: HAPROXY_PEM_FILE },
                ],
            },
        },
    ];
    list.push({ name: "haproxy-config", configMap: { name: input.haproxyConfigMapName, defaultMode: 0o444 } });
    if (withGates) {
        list.push({
            name: "kube-api-access",
            projected: {
                defaultMode: 0o440,
                sources: [
                    { serviceAccountToken: { path: "token", expirationSeconds: 3607 } },
                    { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
                    {
                        downwardAPI: {
                            items: [
                                { path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } },
                            ],
                        },
                    },
                ],
            },
        });
    }
    return list;
}

/** Control-plane pods go to control-plane nodes only; worker pods to every other node. */
function placement(input: ProxyPodInput) {
    const { settings, role } = input;
    const extraTolerations = settings.tolerations;
    if (role === "control-plane") {
        return {
            nodeSelector: { ...settings.nodeSelector, [CONTROL_PLANE_LABEL]: "" },
            tolerations: [
                { key: CONTROL_PLANE_LABEL, operator: "Exists", effect: "NoSchedule" },
                { key: LEGACY_MASTER_LABEL, operator: "Exists", effect: "NoSchedule" },
                ...extraTolerations,
            ],
        };
    }
    return {
        nodeSelector: Object.keys(settings.nodeSelector).length > 0 ? settings.nodeSelector : undefined,
        affinity: {
            nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                    nodeSelectorTerms: [
                        {
                            matchExpressions: [
                                { key: CONTROL_PLANE_LABEL, operator: "DoesNotExist" },
                                { key: LEGACY_MASTER_LABEL, operator: "DoesNotExist" },
                            ],
                        },
                    ],
                },
            },
        },
        tolerations: extraTolerations.length > 0 ? extraTolerations : undefined,
    };
}

export function proxyPodTemplate(input: ProxyPodInput): PodTemplate {
    const gated = input.components.filter((e) => e.authenticator === "proxy");
    if (input.components.length === 0) {
        throw new Error(`no component runs on ${input.role} nodes`);
    }
    const containers = [haproxyContainer(input), ...gated.map((entry) => gateContainer(input, entry))];
    const hostPorts = [...hostPortsOf(input.role, input.settings).keys()].sort((a, b) => a - b);
    return {
        metadata: { labels: input.labels, annotations: { [HOST_PORTS_ANNOTATION]: hostPorts.join(",") } },
        spec: {
            hostNetwork: true,
            dnsPolicy: "ClusterFirstWithHostNet",
            serviceAccountName: input.serviceAccountName,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            priorityClassName: "system-node-critical",
            terminationGracePeriodSeconds: terminationGraceSeconds(input.settings),
            securityContext: {
                runAsNonRoot: true,
                runAsUser: PROXY_UID,
                runAsGroup: PROXY_UID,
                fsGroup: PROXY_UID,
                seccompProfile: { type: "RuntimeDefault" },
            },
            ...placement(input),
            ...(input.settings.imagePullSecrets.length > 0
                ? { imagePullSecrets: input.settings.imagePullSecrets.map((name) => ({ name })) }
                : {}),
            containers,
            volumes: volumes(input, gated.length > 0),
        },
    };
}
