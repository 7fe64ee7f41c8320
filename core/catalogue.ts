/**
 * The single catalogue of what this stack exposes: the control-plane components (proxied) and the
 * controllers (scraped on their own diagnostics endpoint).
 * Everything else — haproxy.cfg, the DaemonSets' containers and ports, RBAC, the verification
 * plan and the Prometheus scrape config — is derived from it; never list the components twice.
 */
import { createHash } from "crypto";

/** The control-plane components the stack proxies (a named enum, as Pulumi's schema inference reads them). */
export const ComponentName = {
    KubeControllerManager: "kube-controller-manager",
    KubeScheduler: "kube-scheduler",
    KubeProxy: "kube-proxy",
    Etcd: "etcd",
} as const;
export type ComponentName = (typeof ComponentName)[keyof typeof ComponentName];
export const COMPONENT_NAMES: readonly ComponentName[] = Object.values(ComponentName);

/** Where a component runs: on control-plane nodes only, or on every node. */
export const Placement = { ControlPlane: "control-plane", AllNodes: "all-nodes" } as const;
export type Placement = (typeof Placement)[keyof typeof Placement];

/**
 * Who checks the bearer token of a scrape:
 * - "upstream": the component does TokenReview + SubjectAccessReview itself (kube-controller-manager,
 *   kube-scheduler), so haproxy only terminates TLS and filters the path;
 * - "proxy": the component serves anyone (kube-proxy, etcd's metrics listener), so the proxy pod
 *   puts kube-rbac-proxy in front of it, which does the TokenReview + SubjectAccessReview.
 */
export const Authenticator = { Upstream: "upstream", Proxy: "proxy" } as const;
export type Authenticator = (typeof Authenticator)[keyof typeof Authenticator];

export interface CatalogueEntry {
    readonly name: ComponentName;
    /** The port the component listens on at 127.0.0.1, and the port the proxy exposes on NODE_IP. */
    readonly port: number;
    readonly upstreamScheme: "http" | "https";
    readonly authenticator: Authenticator;
    readonly placement: Placement;
    /** Container port name (IANA_SVC_NAME: at most 15 characters). */
    readonly portName: string;
}

/** kubeadm binds all four to 127.0.0.1 by default; the proxy reaches them there. */
export const UPSTREAM_HOST = "127.0.0.1";

export const CATALOGUE: readonly CatalogueEntry[] = [
    {
        name: "kube-controller-manager",
        port: 10257,
        upstreamScheme: "https",
        authenticator: "upstream",
        placement: "control-plane",
        portName: "kcm-metrics",
    },
    {
        name: "kube-scheduler",
        port: 10259,
        upstreamScheme: "https",
        authenticator: "upstream",
        placement: "control-plane",
        portName: "sched-metrics",
    },
    {
        name: "kube-proxy",
        port: 10249,
        upstreamScheme: "http",
        authenticator: "proxy",
        placement: "all-nodes",
        portName: "proxy-metrics",
    },
    {
        name: "etcd",
        port: 2381,
        upstreamScheme: "http",
        authenticator: "proxy",
        placement: "control-plane",
        portName: "etcd-metrics",
    },
];

export function catalogueEntry(name: ComponentName): CatalogueEntry {
    const entry = CATALOGUE.find((e) => e.name === name);
    if (!entry) {
        throw new Error(`unknown component "${name}"`);
    }
    return entry;
}

export function isComponentName(value: string): value is ComponentName {
    return (COMPONENT_NAMES as readonly string[]).includes(value);
}

/** The two kinds of node the proxy runs on; each gets its own DaemonSet and proxy config. */
export const NODE_ROLES = ["control-plane", "worker"] as const;
export type NodeRole = (typeof NODE_ROLES)[number];

export function runsOn(entry: CatalogueEntry, role: NodeRole): boolean {
    return entry.placement === "all-nodes" || role === "control-plane";
}

/** The components exposed on a node of `role`, in catalogue order. */
export function componentsFor(role: NodeRole, enabled: readonly CatalogueEntry[]): CatalogueEntry[] {
    return enabled.filter((entry) => runsOn(entry, role));
}

/**
 * kube-rbac-proxy (in front of the components that authenticate nobody) listens on loopback only,
 * never on NODE_IP: haproxy is the only way in, so every scrape passes its token checks and its
 * limit on failed authentications first. Its address is one of 127.100.0.0/16 (clear of 127.0.0.1,
 * where the components listen, and of the node addresses), chosen by `kubeRbacProxyHost`.
 */
export const KUBE_RBAC_PROXY_NET = "127.100.";

/**
 * The loopback address kube-rbac-proxy listens on, a pure function of `key`: two pods that may run at
 * once in one network namespace must be given different keys, or the second cannot bind its port.
 */
export function kubeRbacProxyHost(key: string): string {
    const digest = createHash("sha256").update(key).digest();
    return `${KUBE_RBAC_PROXY_NET}${digest[0]}.${1 + (digest[1] % 254)}`;
}

export function isKubeRbacProxyHost(host: string): boolean {
    return host.startsWith(KUBE_RBAC_PROXY_NET);
}

/** The full upstream URL the proxy forwards a component's scrapes to. */
export function upstreamUrl(entry: CatalogueEntry): string {
    return `${entry.upstreamScheme}://${UPSTREAM_HOST}:${entry.port}`;
}

/**
 * The second kind of entry: controller-runtime managers that serve their metrics themselves on the
 * Cluster API diagnostics endpoint (`--diagnostics-address=:8443 --insecure-diagnostics=false`):
 * HTTPS on the pod IP, TokenReview + SubjectAccessReview by controller-runtime. No proxy: Prometheus
 * finds their pods and scrapes them directly.
 */
export const DIAGNOSTICS_PORT = 8443;
/** The container port name the design gives the diagnostics endpoint. */
export const DIAGNOSTICS_PORT_NAME = "metrics";

export interface ControllerEntry {
    readonly name: string;
    readonly namespace: string;
    /** Labels of the controller's pods (its Deployment's template). */
    readonly selector: Readonly<Record<string, string>>;
    readonly port: number;
    readonly portName: string;
    /** Image repository fragments that run it (imageProgram's matching): how the policy pack recognises it. */
    readonly images: readonly string[];
}

// clusterctl labels every provider's objects cluster.x-k8s.io/provider=<type>-<name>; the
// kubebuilder-made ones without it carry control-plane=<...> in their own namespace.
const PROVIDER = "cluster.x-k8s.io/provider";
const controller = (
    name: string,
    namespace: string,
    selector: Record<string, string>,
    images: string[],
): ControllerEntry => ({ name, namespace, selector, port: DIAGNOSTICS_PORT, portName: DIAGNOSTICS_PORT_NAME, images });

export const CONTROLLER_CATALOGUE: readonly ControllerEntry[] = [
    controller("eks-anywhere-controller-manager", "eksa-system", { "control-plane": "eksa-controller-manager" }, [
        "eks-anywhere-cluster-controller",
    ]),
    controller("eks-anywhere-packages", "eksa-packages", { "control-plane": "controller-manager" }, [
        "eks-anywhere-packages",
    ]),
    controller(
        "etcdadm-bootstrap-provider",
        "etcdadm-bootstrap-provider-system",
        { "control-plane": "controller-manager" },
        ["etcdadm-bootstrap-provider"],
    ),
    controller("etcdadm-controller", "etcdadm-controller-system", { "control-plane": "controller-manager" }, [
        "etcdadm-controller",
    ]),
    controller("capi-controller-manager", "capi-system", { [PROVIDER]: "cluster-api" }, ["cluster-api-controller"]),
    controller(
        "capi-kubeadm-bootstrap-controller-manager",
        "capi-kubeadm-bootstrap-system",
        { [PROVIDER]: "bootstrap-kubeadm" },
        ["kubeadm-bootstrap-controller"],
    ),
    controller(
        "capi-kubeadm-control-plane-controller-manager",
        "capi-kubeadm-control-plane-system",
        { [PROVIDER]: "control-plane-kubeadm" },
        ["kubeadm-control-plane-controller"],
    ),
    controller("capv-controller-manager", "capv-system", { [PROVIDER]: "infrastructure-vsphere" }, [
        "cluster-api-vsphere-controller",
        "cluster-api-provider-vsphere/release/manager",
    ]),
    controller("capx-controller-manager", "capx-system", { [PROVIDER]: "infrastructure-nutanix" }, [
        "cluster-api-provider-nutanix/controller",
    ]),
    controller("capt-controller-manager", "capt-system", { [PROVIDER]: "infrastructure-tinkerbell" }, [
        "cluster-api-provider-tinkerbell",
    ]),
    controller("capc-controller-manager", "capc-system", { [PROVIDER]: "infrastructure-cloudstack" }, [
        "capi-cloudstack-controller",
        "cluster-api-provider-cloudstack/release/manager",
    ]),
];

export const CONTROLLER_NAMES: readonly string[] = CONTROLLER_CATALOGUE.map((c) => c.name);

export function controllerEntry(name: string): ControllerEntry | undefined {
    return CONTROLLER_CATALOGUE.find((c) => c.name === name);
}

/** Every image fragment of a catalogue controller (the policy pack's controller-runtime manager). */
export function controllerImages(): string[] {
    return CONTROLLER_CATALOGUE.flatMap((c) => c.images);
}

/** Set on every refusal of haproxy's, so a client (and the verification) can tell it from the component's. */
export const REFUSAL_HEADER = "X-Eksa-Metrics-Proxy";

/** A controller to scrape and verify (verify/plan.ts plans its checks from it). */
export interface ControllerTarget {
    /** The controller's name: its scrape job. */
    name: string;
    /** The namespace its pods run in. */
    namespace: string;
    /** The labels that select its pods. */
    selector: Record<string, string>;
    /** The diagnostics endpoint's port on each pod's IP. */
    port: number;
}
