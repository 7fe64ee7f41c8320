/**
 * The labels that identify our proxy's objects on a cluster (the preflight tells our own stack's
 * pods, not a conflict, from another stack's, a conflict, by the stack label), and label selectors:
 * formatted for kubectl and Prometheus, and parsed and matched for the fleet's discovery (`k=v`,
 * `k!=v`, `k in (a,b)`, `k notin (a)`, `k`, `!k`, joined by commas).
 */
import { createHash } from "crypto";

/** app.kubernetes.io/name of every proxy DaemonSet and pod of this program, whichever stack made it. */
export const PROXY_APP_LABEL = "eksa-metrics-proxy";
/** Which stack made the object: `<project>.<stack>` as a label value. */
export const STACK_LABEL = "eksa-metrics/stack";
/**
 * The node ports a proxy pod listens on, comma-separated, on the pod: the pods declare no `hostPort`
 * (the scheduler would refuse the surge pod of a rolling update while the old one holds them), so the
 * preflight reads another stack's ports from here.
 */
export const HOST_PORTS_ANNOTATION = "eksa-metrics/host-ports";

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

export type Requirement =
    { key: string; op: "in" | "notin"; values: string[] } | { key: string; op: "exists" | "!exists" };

export interface ParsedSelector {
    text: string;
    requirements: Requirement[];
}

/** A label key: an optional DNS-subdomain prefix and '/', then a name of up to 63 characters. */
const KEY = /^(?:[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const VALUE = /^(?:[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** Splits at the commas that are not inside parentheses. */
function splitTerms(text: string): string[] {
    const terms: string[] = [];
    let depth = 0;
    let start = 0;
    for (let i = 0; i < text.length; i++) {
        if (text[i] === "(") depth++;
        if (text[i] === ")") depth--;
        if (text[i] === "," && depth === 0) {
            terms.push(text.slice(start, i));
            start = i + 1;
        }
    }
    terms.push(text.slice(start));
    return terms.map((t) => t.trim());
}

/** Parses a selector; throws an Error naming the term that is wrong. An empty selector matches everything. */
export function parseLabelSelector(text: string): ParsedSelector {
    const requirements: Requirement[] = [];
    if (text.trim() === "") {
        return { text, requirements };
    }
    for (const term of splitTerms(text)) {
        const bad = (why: string) => new Error(`"${term}" ${why}`);
        let m: RegExpExecArray | null;
        let req: Requirement;
        if ((m = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(term))) {
            const values = m[3].split(",").map((v) => v.trim());
            if (values.some((v) => !VALUE.test(v))) {
                throw bad("has a value that is not a label value");
            }
            req = { key: m[1], op: m[2] as "in" | "notin", values };
        } else if ((m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term))) {
            if (!VALUE.test(m[3])) {
                throw bad("has a value that is not a label value");
            }
            req = { key: m[1], op: m[2] === "!=" ? "notin" : "in", values: [m[3]] };
        } else if ((m = /^!\s*(\S+)$/.exec(term))) {
            req = { key: m[1], op: "!exists" };
        } else if (/^\S+$/.test(term)) {
            req = { key: term, op: "exists" };
        } else {
            throw bad("is not a requirement: write key=value, key!=value, key in (a,b), key notin (a,b), key or !key");
        }
        if (!KEY.test(req.key)) {
            throw bad(`has "${req.key}", which is not a label key`);
        }
        requirements.push(req);
    }
    return { text, requirements };
}

/** Whether labels satisfy every requirement (as the API server's `-l` does). */
export function matchesSelector(selector: ParsedSelector, labels: Readonly<Record<string, string>>): boolean {
    return selector.requirements.every((r) => {
        const has = Object.prototype.hasOwnProperty.call(labels, r.key);
        switch (r.op) {
            case "exists":
                return has;
            case "!exists":
                return !has;
            case "in":
                return has && r.values.includes(labels[r.key]);
            case "notin":
                return !has || !r.values.includes(labels[r.key]);
        }
    });
}
