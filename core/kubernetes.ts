/**
 * The Kubernetes model shared by the preflight, the renderers and the verification: nodes as the
 * API server lists them, the control-plane labels, and whether a pod with given tolerations and
 * node selector can run on a node.
 */

export const CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane";
/** Still set as a taint by some older kubeadm-built control planes. */
export const LEGACY_MASTER_LABEL = "node-role.kubernetes.io/master";
export const CONTROL_PLANE_LABELS = [CONTROL_PLANE_LABEL, LEGACY_MASTER_LABEL];

export interface ClusterNode {
    name: string;
    internalIP?: string;
    labels: Record<string, string>;
    taints: { key: string; value?: string; effect: string }[];
}

/** A pod of a planned controller, as the API server lists it. */
export interface ControllerPod {
    controller: string;
    namespace: string;
    name: string;
    podIP?: string;
}

export interface Toleration {
    key?: string;
    operator?: "Exists" | "Equal";
    value?: string;
    effect?: string;
}

/** What decides where a pod may run: its node selector and tolerations. */
export interface Scheduling {
    nodeSelector: Record<string, string>;
    tolerations: Toleration[];
}

export function isControlPlane(node: ClusterNode): boolean {
    return CONTROL_PLANE_LABELS.some((label) => label in node.labels);
}

function tolerates(tolerations: Toleration[], taint: ClusterNode["taints"][number]): boolean {
    return tolerations.some((t) => {
        if (t.effect && t.effect !== taint.effect) {
            return false;
        }
        if (t.key === undefined) {
            return t.operator === "Exists";
        }
        if (t.key !== taint.key) {
            return false;
        }
        return t.operator === "Exists" || (t.value ?? "") === (taint.value ?? "");
    });
}

/** whyNotScheduled's answer for a node the pod runs on but the verification cannot reach. */
export const NO_INTERNAL_IP = "node has no InternalIP";

/** Why the proxy pod will not run on `node`, or undefined when it does. */
export function whyNotScheduled(plan: Scheduling, node: ClusterNode): string | undefined {
    for (const [label, value] of Object.entries(plan.nodeSelector)) {
        if (node.labels[label] !== value) {
            return `node selector ${label}=${value} does not match`;
        }
    }
    const tolerations = isControlPlane(node)
        ? [
              ...plan.tolerations,
              ...CONTROL_PLANE_LABELS.map((key) => ({ key, operator: "Exists" as const, effect: "NoSchedule" })),
          ]
        : plan.tolerations;
    const blocking = node.taints.find(
        (t) => (t.effect === "NoSchedule" || t.effect === "NoExecute") && !tolerates(tolerations, t),
    );
    if (blocking) {
        return `taint ${blocking.key}${blocking.value ? `=${blocking.value}` : ""}:${blocking.effect} is not tolerated`;
    }
    if (!node.internalIP) {
        return NO_INTERNAL_IP;
    }
    return undefined;
}
