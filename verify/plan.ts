/**
 * What the verification checks and how it judges the answers. Pure: no network, no Pulumi,
 * so every decision is testable; `main.ts` feeds it the cluster's nodes and curl's answers.
 */
import { Authenticator, ComponentName, ControllerTarget, Placement, REFUSAL_HEADER } from "../core/catalogue";
import { labelSelector } from "../core/labels";
import { ClusterNode, ControllerPod, isControlPlane, whyNotScheduled } from "../core/kubernetes";
import { ControllersTlsOptions, ServiceAccountRef, TolerationSetting, VerificationMode } from "../config/args";
import { controllerTargets } from "../config/controllers";
import { Settings, UNBOUND_SERVICE_ACCOUNT } from "../config/settings";

/** A component the verification checks on each eligible node, through the proxy. */
export interface PlannedComponent {
    /** The component. */
    name: ComponentName;
    /** The port the proxy serves its metrics on, at each node's IP. */
    port: number;
    /** The nodes it runs on. */
    placement: Placement;
    /** Who checks the token: the component itself, or kube-rbac-proxy in front of it. */
    authenticator: Authenticator;
}

/** A controller-runtime manager whose diagnostics endpoint is verified on each of its pods: the settings' own target. */
export type PlannedController = ControllerTarget;

export { VerificationMode };

/** Everything the verification needs; the stack passes it as JSON (no secrets in it). */
export interface VerificationPlan {
    /** The reader whose token is presented: in cluster mode the pod's own, in local mode a TokenRequest's. */
    serviceAccount: ServiceAccountRef;
    /** A service account with no binding at all, which the stack creates: its token must be refused (403). */
    unboundServiceAccount: ServiceAccountRef;
    /** "cluster": the checks run from short-lived pods in the cluster; "local": from this machine. */
    mode: VerificationMode;
    /** The curl image of the cluster mode's pods. */
    image: string;
    /** The pull secrets of the cluster mode's pods (in both namespaces they run in); absent in the plans of earlier releases. */
    imagePullSecrets?: string[];
    /** The name the proxy's certificate is verified against. */
    tlsServerName: string;
    /** The proxy's CA (public), to verify its certificate. */
    caCertificate: string;
    /** The components checked through the proxy. */
    components: PlannedComponent[];
    /** The controllers checked on their diagnostics endpoint. */
    controllers: PlannedController[];
    /** Pins the controllers' serving certificates when set (cert-manager); otherwise they are not verified. */
    controllerTls: ControllersTlsOptions;
    /** The proxy pods' extra node selector: the nodes that must serve the components. */
    nodeSelector: Record<string, string>;
    /** The proxy pods' extra tolerations: the nodes that must serve the components. */
    tolerations: TolerationSetting[];
    /** How long the whole verification may take. */
    timeoutSeconds: number;
    /** How many checks run at once. */
    concurrency: number;
    /** Changes whenever what is verified changes (proxy config, images, readers): re-runs the check. */
    revision: string;
}

/** What the stack's objects resolve to: what changes when what is verified changes, and the CA to verify against. */
export interface DeployedProxy {
    /** The proxy's CA (public). */
    caCertificate: string;
    /** The TLS Secret's and haproxy ConfigMaps' names: a new certificate or proxy config is a new name. */
    tlsSecretName: string;
    haproxyConfigMapNames: string[];
    images: { proxyImage: string; gateImage: string };
    /** The curl image of the cluster mode's pods. */
    verifyImage: string;
    /** The proxy's and the gate's container resources, as given. */
    resources: [unknown, unknown];
    /** The RBAC objects' uids: one recreated (say after an out-of-band delete and a refresh) is verified again. */
    rbacUids: string[];
}

/** The verification's plan, from the settings and what the stack's objects resolved to. */
export function planOf(settings: Settings, deployed: DeployedProxy): VerificationPlan {
    return {
        serviceAccount: settings.verify.serviceAccount ?? { name: "", namespace: "" },
        unboundServiceAccount: { name: UNBOUND_SERVICE_ACCOUNT, namespace: settings.namespace },
        mode: settings.verify.mode,
        image: deployed.verifyImage,
        imagePullSecrets: settings.imagePullSecrets,
        tlsServerName: settings.tlsServerName,
        caCertificate: deployed.caCertificate,
        components: settings.components.map(({ name, port, placement, authenticator }) => ({
            name,
            port,
            placement,
            authenticator,
        })),
        controllers: controllerTargets(settings.controllers),
        // A CA is public: the plan (and the verification's environment) holds no secret.
        controllerTls: settings.controllers.tls,
        nodeSelector: settings.nodeSelector,
        tolerations: settings.tolerations,
        timeoutSeconds: settings.verify.timeoutSeconds,
        concurrency: settings.verify.concurrency,
        // The keys' order is part of the text: a second `up` with nothing changed must not re-run the verification.
        revision: JSON.stringify({
            tlsSecretName: deployed.tlsSecretName,
            configMapNames: deployed.haproxyConfigMapNames,
            images: { proxyImage: deployed.images.proxyImage, gateImage: deployed.images.gateImage },
            resources: deployed.resources,
            readers: settings.readers,
            namespace: settings.namespace,
            rbacUids: deployed.rbacUids,
        }),
    };
}

export type CheckKind = "authorised" | "anonymous" | "unbound" | "off-path";
/** The token a check presents: the reader's, the unbound service account's, or none. */
export type Credential = "reader" | "unbound" | "none";

/** What answers a check: the proxy on a node, or a controller's diagnostics endpoint on its pod. */
export interface Target {
    kind: "node" | "pod";
    /** The node's name, or namespace/pod. */
    name: string;
    /** The node's InternalIP or the pod's IP. */
    address: string;
}

export interface Check {
    target: Target;
    /** A catalogue component or a controller's name. */
    component: string;
    kind: CheckKind;
    port: number;
    path: string;
    credential: Credential;
    /**
     * The certificate the answer must present: the proxy's (stack CA, tlsServerName), the controllers'
     * (controllerTls), or "unpinned": controller-runtime's self-signed certificate, not verified.
     */
    trust: "proxy" | "controllers" | "unpinned";
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

export const METRICS_PATH = "/metrics";
/** Any path but /metrics must be refused by the proxy before it reaches the component. */
export const OFF_PATH = "/debug/pprof/";
/** haproxy marks its own refusals; curl's header names are lower-cased. */
const HAPROXY_REFUSAL_HEADER = REFUSAL_HEADER.toLowerCase();

export interface PlannedChecks {
    checks: Check[];
    /** Nodes and pods not checked, and why. */
    skipped: { target: string; reason: string }[];
    /** Components no node will serve and controllers with no pod to check, with the reason: a failure each. */
    unserved: { component: string; reason: string }[];
}

/** A controller's pods, matched as its selector matches them. */
export function podsOf(controller: PlannedController, pods: ControllerPod[]): ControllerPod[] {
    return pods.filter((p) => p.controller === controller.name && p.namespace === controller.namespace);
}

export function planChecks(plan: VerificationPlan, nodes: ClusterNode[], pods: ControllerPod[] = []): PlannedChecks {
    const checks: Check[] = [];
    const skipped: PlannedChecks["skipped"] = [];
    const served = new Set<ComponentName>();
    for (const node of nodes) {
        const reason = whyNotScheduled(plan, node);
        if (reason) {
            skipped.push({ target: `node ${node.name}`, reason });
            continue;
        }
        const controlPlane = isControlPlane(node);
        for (const component of plan.components) {
            if (component.placement === "control-plane" && !controlPlane) {
                continue;
            }
            served.add(component.name);
            const base = {
                target: { kind: "node" as const, name: node.name, address: node.internalIP! },
                component: component.name,
                port: component.port,
                trust: "proxy" as const,
            };
            checks.push(
                {
                    ...base,
                    kind: "authorised",
                    path: METRICS_PATH,
                    credential: "reader",
                    expectStatus: [200],
                    expectMetricsBody: true,
                },
                // haproxy refuses a request without a token as the port did before it checked: 403 as
                // kube-controller-manager and kube-scheduler (anonymous auth on, RBAC denies it), 401 as kube-rbac-proxy.
                {
                    ...base,
                    kind: "anonymous",
                    path: METRICS_PATH,
                    credential: "none",
                    expectStatus: [401, 403],
                    expectMetricsBody: false,
                },
                {
                    ...base,
                    kind: "unbound",
                    path: METRICS_PATH,
                    credential: "unbound",
                    expectStatus: [403],
                    expectMetricsBody: false,
                },
                // haproxy fronts every port and serves nothing but GET /metrics.
                {
                    ...base,
                    kind: "off-path",
                    path: OFF_PATH,
                    credential: "reader",
                    expectStatus: [403],
                    expectHeader: HAPROXY_REFUSAL_HEADER,
                    expectMetricsBody: false,
                },
            );
        }
    }
    const unserved: PlannedChecks["unserved"] = plan.components
        .filter((c) => !served.has(c.name))
        .map((c) => ({ component: c.name, reason: "no node is eligible to serve it" }));
    const trust = plan.controllerTls.caCertificate ? ("controllers" as const) : ("unpinned" as const);
    for (const controller of plan.controllers) {
        const own = podsOf(controller, pods);
        const reachable = own.filter((p) => p.podIP);
        for (const pod of own.filter((p) => !p.podIP)) {
            skipped.push({ target: `pod ${pod.namespace}/${pod.name}`, reason: "has no pod IP yet" });
        }
        if (reachable.length === 0) {
            unserved.push({
                component: controller.name,
                reason: `no pod in namespace ${controller.namespace} with labels ${labelSelector(controller.selector)}${own.length > 0 ? " has an IP" : " exists"}`,
            });
            continue;
        }
        for (const pod of reachable) {
            const base = {
                target: { kind: "pod" as const, name: `${pod.namespace}/${pod.name}`, address: pod.podIP! },
                component: controller.name,
                port: controller.port,
                path: METRICS_PATH,
                trust,
            };
            // controller-runtime's filter: TokenReview (401 without a valid token), then SubjectAccessReview (403).
            checks.push(
                { ...base, kind: "authorised", credential: "reader", expectStatus: [200], expectMetricsBody: true },
                { ...base, kind: "anonymous", credential: "none", expectStatus: [401], expectMetricsBody: false },
                { ...base, kind: "unbound", credential: "unbound", expectStatus: [403], expectMetricsBody: false },
            );
        }
    }
    return { checks, skipped, unserved };
}

/** The Prometheus text exposition format: comment lines and `name{labels} value` samples. */
export function looksLikeMetrics(body: string): boolean {
    const lines = body.split("\n").filter((l) => l.trim() !== "");
    const sample = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})?\s+\S+(\s+\d+)?$/;
    return (
        lines.length > 0 && lines.some((l) => sample.test(l)) && lines.every((l) => l.startsWith("#") || sample.test(l))
    );
}

export function judge(check: Check, answer: Answer): { pass: boolean; detail: string } {
    if (answer.error) {
        return { pass: false, detail: `no answer: ${answer.error}` };
    }
    if (!check.expectStatus.includes(answer.status)) {
        return { pass: false, detail: `expected ${check.expectStatus.join(" or ")}, got ${answer.status}` };
    }
    if (check.expectHeader && !(check.expectHeader in answer.headers)) {
        return {
            pass: false,
            detail: `got ${answer.status}, but not from the proxy (no ${check.expectHeader} header)`,
        };
    }
    if (check.expectMetricsBody && !looksLikeMetrics(answer.body)) {
        return {
            pass: false,
            detail: `got ${answer.status}, but the body is not Prometheus metrics: ${JSON.stringify(answer.body.slice(0, 80))}`,
        };
    }
    return { pass: true, detail: check.expectMetricsBody ? `${answer.status} + metrics` : `${answer.status}` };
}

/** The server name a check's certificate is verified against, when it is verified by name. */
export function serverNameOf(
    plan: Pick<VerificationPlan, "tlsServerName" | "controllerTls">,
    check: Check,
): string | undefined {
    switch (check.trust) {
        case "proxy":
            return plan.tlsServerName;
        case "controllers":
            return plan.controllerTls.serverName;
        case "unpinned":
            return undefined;
    }
}

/** The URL as a client asks for it: by server name (resolved to the target's address) when there is one. */
export function checkUrl(plan: Pick<VerificationPlan, "tlsServerName" | "controllerTls">, check: Check): string {
    const host =
        serverNameOf(plan, check) ??
        (check.target.address.includes(":") ? `[${check.target.address}]` : check.target.address);
    return `https://${host}:${check.port}${check.path}`;
}

const CREDENTIAL_WORDS: Record<Credential, string> = {
    reader: "with the reader's token",
    unbound: "with an unbound token",
    none: "without a token",
};

function pad(cells: string[][]): string {
    const widths = cells[0].map((_, i) => Math.max(...cells.map((row) => row[i].length)));
    return cells
        .map((row) =>
            row
                .map((cell, i) => cell.padEnd(widths[i]))
                .join("  ")
                .trimEnd(),
        )
        .join("\n");
}

/** target × component × check table, then one line per failure naming everything needed to act. */
export function report(
    plan: VerificationPlan,
    planned: PlannedChecks,
    verdicts: Verdict[],
): { text: string; ok: boolean } {
    const rows = [["TARGET", "ADDRESS", "COMPONENT", "CHECK", "RESULT", "DETAIL"]];
    for (const v of verdicts) {
        rows.push([
            v.check.target.name,
            v.check.target.address,
            v.check.component,
            v.check.kind,
            v.pass ? "ok" : "FAIL",
            v.detail,
        ]);
    }
    const lines = [pad(rows)];
    for (const s of planned.skipped) {
        lines.push(`skipped ${s.target}: ${s.reason}`);
    }
    if (verdicts.some((v) => v.check.trust === "unpinned")) {
        lines.push(
            "note: the controllers' certificates were not verified (controller-runtime's self-signed certificate); set controllers.tls.caCertificate to pin a cert-manager CA",
        );
    }
    const failures = verdicts.filter((v) => !v.pass);
    for (const f of failures) {
        const c = f.check;
        lines.push(
            `FAIL ${c.component} on ${c.target.kind} ${c.target.name} (${c.target.address}): ${c.kind} ${checkUrl(plan, c)} ${CREDENTIAL_WORDS[c.credential]}: ${f.detail} (after ${f.attempts} attempt${f.attempts === 1 ? "" : "s"})`,
        );
    }
    for (const u of planned.unserved) {
        lines.push(`FAIL ${u.component}: ${u.reason}`);
    }
    const ok = failures.length === 0 && planned.unserved.length === 0 && verdicts.length > 0;
    if (verdicts.length === 0) {
        lines.push("FAIL: nothing was checked (no eligible node or pod)");
    }
    lines.push(
        ok
            ? `verified: ${verdicts.length} checks passed`
            : `verification failed: ${failures.length} of ${verdicts.length} checks failed${planned.unserved.length > 0 ? `, ${planned.unserved.length} not served` : ""}`,
    );
    return { text: lines.join("\n"), ok };
}
