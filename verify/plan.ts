/**
 * What the verification checks and how it judges the answers. Pure: no network, no Pulumi,
 * so every decision is testable; `main.ts` feeds it the cluster's nodes and curl's answers.
 */
import { Authenticator, ComponentName, Placement } from "../components/catalogue";
import { REFUSAL_HEADER } from "../components/haproxy";
import { CONTROL_PLANE_LABEL, LEGACY_MASTER_LABEL } from "../components/proxyPod";

export interface PlannedComponent {
    name: ComponentName;
    port: number;
    placement: Placement;
    authenticator: Authenticator;
}

export interface Toleration {
    key?: string;
    operator?: "Exists" | "Equal";
    value?: string;
    effect?: string;
}

/** Everything the verification needs; the stack passes it as JSON (no secrets in it). */
export interface VerificationPlan {
    /** The reader whose short-lived token is requested (TokenRequest). */
    serviceAccount: { name: string; namespace: string };
    tlsServerName: string;
    caCertificate: string;
    components: PlannedComponent[];
    nodeSelector: Record<string, string>;
    tolerations: Toleration[];
    timeoutSeconds: number;
    concurrency: number;
    /** Changes whenever what is verified changes (proxy config, images, readers): re-runs the check. */
    revision: string;
}

export interface ClusterNode {
    name: string;
    internalIP?: string;
    labels: Record<string, string>;
    taints: { key: string; value?: string; effect: string }[];
}

export type CheckKind = "authorised" | "anonymous" | "off-path";

export interface Check {
    node: string;
    nodeIP: string;
    component: ComponentName;
    kind: CheckKind;
    port: number;
    path: string;
    withToken: boolean;
    /** Statuses that pass. */
    expectStatus: number[];
    /** Header that must be present on the answer (haproxy marks its own refusals). */
    expectHeader?: string;
    expectMetricsBody: boolean;
}

export interface Answer {
    status: number;
    /** Lower-cased header names. */
    headers: Record<string, string>;
    body: string;
    /** Transport error (connection refused, TLS failure, timeout), when there was no answer. */
    error?: string;
}

export interface Verdict {
    check: Check;
    pass: boolean;
    /** "200 + metrics", or what was wrong. */
    detail: string;
    attempts: number;
}

export const CONTROL_PLANE_LABELS = [CONTROL_PLANE_LABEL, LEGACY_MASTER_LABEL];
export const METRICS_PATH = "/metrics";
/** Any path but /metrics must be refused by the proxy before it reaches the component. */
export const OFF_PATH = "/debug/pprof/";
/** haproxy marks its own refusals; curl's header names are lower-cased. */
const HAPROXY_REFUSAL_HEADER = REFUSAL_HEADER.toLowerCase();

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
export function whyNotScheduled(plan: Pick<VerificationPlan, "nodeSelector" | "tolerations">, node: ClusterNode): string | undefined {
    for (const [label, value] of Object.entries(plan.nodeSelector)) {
        if (node.labels[label] !== value) {
            return `node selector ${label}=${value} does not match`;
        }
    }
    const tolerations = isControlPlane(node)
        ? [...plan.tolerations, ...CONTROL_PLANE_LABELS.map((key) => ({ key, operator: "Exists" as const, effect: "NoSchedule" }))]
        : plan.tolerations;
    const blocking = node.taints.find((t) => (t.effect === "NoSchedule" || t.effect === "NoExecute") && !tolerates(tolerations, t));
    if (blocking) {
        return `taint ${blocking.key}${blocking.value ? `=${blocking.value}` : ""}:${blocking.effect} is not tolerated`;
    }
    if (!node.internalIP) {
        return NO_INTERNAL_IP;
    }
    return undefined;
}

export interface PlannedChecks {
    checks: Check[];
    skipped: { node: string; reason: string }[];
    /** Components no node will serve: a failure on its own. */
    unserved: ComponentName[];
}

export function planChecks(plan: VerificationPlan, nodes: ClusterNode[]): PlannedChecks {
    const checks: Check[] = [];
    const skipped: PlannedChecks["skipped"] = [];
    const served = new Set<ComponentName>();
    for (const node of nodes) {
        const reason = whyNotScheduled(plan, node);
        if (reason) {
            skipped.push({ node: node.name, reason });
            continue;
        }
        const controlPlane = isControlPlane(node);
        for (const component of plan.components) {
            if (component.placement === "control-plane" && !controlPlane) {
                continue;
            }
            served.add(component.name);
            const base = { node: node.name, nodeIP: node.internalIP!, component: component.name, port: component.port };
            checks.push(
                { ...base, kind: "authorised", path: METRICS_PATH, withToken: true, expectStatus: [200], expectMetricsBody: true },
                // kube-controller-manager and kube-scheduler answer anonymous requests with 403
                // (anonymous auth is on, RBAC denies it); kube-rbac-proxy with 401.
                { ...base, kind: "anonymous", path: METRICS_PATH, withToken: false, expectStatus: [401, 403], expectMetricsBody: false },
                component.authenticator === "upstream"
                    ? { ...base, kind: "off-path", path: OFF_PATH, withToken: true, expectStatus: [403], expectHeader: HAPROXY_REFUSAL_HEADER, expectMetricsBody: false }
                    : { ...base, kind: "off-path", path: OFF_PATH, withToken: true, expectStatus: [404], expectMetricsBody: false },
            );
        }
    }
    const unserved = plan.components.map((c) => c.name).filter((name) => !served.has(name));
    return { checks, skipped, unserved };
}

/** The Prometheus text exposition format: comment lines and `name{labels} value` samples. */
export function looksLikeMetrics(body: string): boolean {
    const lines = body.split("\n").filter((l) => l.trim() !== "");
    const sample = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})?\s+\S+(\s+\d+)?$/;
    return lines.length > 0 && lines.some((l) => sample.test(l)) && lines.every((l) => l.startsWith("#") || sample.test(l));
}

export function judge(check: Check, answer: Answer): { pass: boolean; detail: string } {
    if (answer.error) {
        return { pass: false, detail: `no answer: ${answer.error}` };
    }
    if (!check.expectStatus.includes(answer.status)) {
        return { pass: false, detail: `expected ${check.expectStatus.join(" or ")}, got ${answer.status}` };
    }
    if (check.expectHeader && !(check.expectHeader in answer.headers)) {
        return { pass: false, detail: `got ${answer.status}, but not from the proxy (no ${check.expectHeader} header)` };
    }
    if (check.expectMetricsBody && !looksLikeMetrics(answer.body)) {
        return { pass: false, detail: `got ${answer.status}, but the body is not Prometheus metrics: ${JSON.stringify(answer.body.slice(0, 80))}` };
    }
    return { pass: true, detail: check.expectMetricsBody ? `${answer.status} + metrics` : `${answer.status}` };
}

export function checkUrl(plan: Pick<VerificationPlan, "tlsServerName">, check: Check): string {
    return `https://${plan.tlsServerName}:${check.port}${check.path}`;
}

function pad(cells: string[][]): string {
    const widths = cells[0].map((_, i) => Math.max(...cells.map((row) => row[i].length)));
    return cells.map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}

/** node × component × check table, then one line per failure naming everything needed to act. */
export function report(plan: VerificationPlan, planned: PlannedChecks, verdicts: Verdict[]): { text: string; ok: boolean } {
    const rows = [["NODE", "IP", "COMPONENT", "CHECK", "RESULT", "DETAIL"]];
    for (const v of verdicts) {
        rows.push([v.check.node, v.check.nodeIP, v.check.component, v.check.kind, v.pass ? "ok" : "FAIL", v.detail]);
    }
    const lines = [pad(rows)];
    for (const s of planned.skipped) {
        lines.push(`skipped node ${s.node}: ${s.reason}`);
    }
    const failures = verdicts.filter((v) => !v.pass);
    for (const f of failures) {
        const c = f.check;
        lines.push(`FAIL ${c.component} on node ${c.node} (${c.nodeIP}): ${c.kind} ${checkUrl(plan, c)} ${c.withToken ? "with" : "without"} token: ${f.detail} (after ${f.attempts} attempt${f.attempts === 1 ? "" : "s"})`);
    }
    for (const name of planned.unserved) {
        lines.push(`FAIL ${name}: no node is eligible to serve it`);
    }
    const ok = failures.length === 0 && planned.unserved.length === 0 && verdicts.length > 0;
    if (verdicts.length === 0) {
        lines.push("FAIL: nothing was checked (no eligible node)");
    }
    lines.push(ok ? `verified: ${verdicts.length} checks passed` : `verification failed: ${failures.length} of ${verdicts.length} checks failed`);
    return { text: lines.join("\n"), ok };
}
