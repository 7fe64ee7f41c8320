/**
 * The single catalogue of control-plane components whose metrics this stack exposes.
 * Everything else — haproxy.cfg, the DaemonSets' containers and ports, RBAC, the verification
 * plan and the Prometheus scrape config — is derived from it; never list the components twice.
 */

export const COMPONENT_NAMES = ["kube-controller-manager", "kube-scheduler", "kube-proxy", "etcd"] as const;
export type ComponentName = (typeof COMPONENT_NAMES)[number];

/** Where a component runs: on control-plane nodes only, or on every node. */
export type Placement = "control-plane" | "all-nodes";

/**
 * Who checks the bearer token of a scrape:
 * - "upstream": the component does TokenReview + SubjectAccessReview itself (kube-controller-manager,
 *   kube-scheduler), so haproxy only terminates TLS and filters the path;
 * - "proxy": the component serves anyone (kube-proxy, etcd's metrics listener), so the proxy pod
 *   puts kube-rbac-proxy in front of it, which does the TokenReview + SubjectAccessReview.
 */
export type Authenticator = "upstream" | "proxy";

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
    { name: "kube-controller-manager", port: 10257, upstreamScheme: "https", authenticator: "upstream", placement: "control-plane", portName: "kcm-metrics" },
    { name: "kube-scheduler", port: 10259, upstreamScheme: "https", authenticator: "upstream", placement: "control-plane", portName: "sched-metrics" },
    { name: "kube-proxy", port: 10249, upstreamScheme: "http", authenticator: "proxy", placement: "all-nodes", portName: "proxy-metrics" },
    { name: "etcd", port: 2381, upstreamScheme: "http", authenticator: "proxy", placement: "control-plane", portName: "etcd-metrics" },
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

/** The full upstream URL the proxy forwards a component's scrapes to. */
export function upstreamUrl(entry: CatalogueEntry): string {
    return `${entry.upstreamScheme}://${UPSTREAM_HOST}:${entry.port}`;
}
