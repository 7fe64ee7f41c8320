/**
 * The labels that identify our proxy's objects on a cluster. The preflight tells our own stack's
 * pods (not a conflict) from another stack's (a conflict) by the stack label.
 */
import { createHash } from "crypto";

/** app.kubernetes.io/name of every proxy DaemonSet and pod of this program, whichever stack made it. */
export const PROXY_APP_LABEL = "eksa-metrics-proxy";
/** Which stack made the object: `<project>.<stack>` as a label value. */
export const STACK_LABEL = "eksa-metrics/stack";

const LABEL_VALUE_MAX = 63;

/** A label selector in kubectl's and Prometheus' syntax: k=v,k2=v2. */
export function labelSelector(labels: Readonly<Record<string, string>>): string {
    return Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(",");
}

/**
 * `<project>.<stack>` made a valid label value: characters a label value may not hold become '-',
 * and a value too long keeps its start and a hash of the whole, so two long names stay apart.
 */
export function stackLabelValue(project: string, stack: string): string {
    const full = `${project}.${stack}`;
    const cleaned = full.replace(/[^A-Za-z0-9_.-]/g, "-").replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
    if (cleaned.length <= LABEL_VALUE_MAX && cleaned === full) {
        return cleaned;
    }
    const hash = createHash("sha256").update(full).digest("hex").slice(0, 10);
    const start = cleaned.slice(0, LABEL_VALUE_MAX - hash.length - 1).replace(/[^A-Za-z0-9]+$/, "");
    return start ? `${start}-${hash}` : hash;
}
