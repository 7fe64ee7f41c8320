/**
 * Benchmark (not a test): what a scraper sees on the days after the first `pulumi up`. On a local
 * control plane (dev/localcluster/, through its driver) with the project's own stack deployed by the
 * real `pulumi up`, it scrapes every target on every node once a second, as Prometheus does (HTTPS to
 * the node IP with the stack's TLS server name, the CA pinned as it was before the event, the reader's
 * token, gzip, keep-alive), and connects to every port of every node every 50 ms, through each event:
 * a serving-certificate renewal, each CA rotation step (when the stack has them), a `pulumi up` that
 * changes the haproxy config, the images or the resources, and a proxy pod deleted on one node.
 * Prints per event: scrapes, failed scrapes, the longest gap per node, the longest time a port had no
 * listener per node, and how long the event took.
 *
 * Run with `bash dev/bench/run.sh dayTwo` (it needs the sandbox: private network namespace and /tmp).
 */
import * as net from "net";
import * as os from "os";
import { catalogueEntry, COMPONENT_NAMES, runsOn } from "../../core/catalogue";
import { CONTROL_PLANE_LABEL } from "../../core/kubernetes";
import type { VerificationPlan } from "../../verify/plan";
import { LocalCluster, ProgramStack, Result } from "../localcluster/driver";
import { keepAliveAgent, Outcome, scrapeOnce, Target } from "./lib/scrape";
import { fixed, table } from "./lib/stats";

const PROXY_NAMESPACE = "eksa-metrics";
const READER = { namespace: "observability", serviceAccount: "prometheus-server" };
/** Prometheus' default scrape timeout. */
const SCRAPE_TIMEOUT_MS = 10_000;
const SCRAPE_EVERY_MS = 1000;
const CONNECT_EVERY_MS = 50;
/** Measured before each event starts and after it has ended. */
const SETTLE_BEFORE_MS = 3000;
const SETTLE_AFTER_MS = 5000;

const log = (text: string): void => {
    process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
};

interface Node {
    name: string;
    ip: string;
    controlPlane: boolean;
}

/** What one event does to the stack: a new config for `pulumi up`, or an action of its own. */
interface DayTwoEvent {
    name: string;
    /** Why it cannot run on this version of the stack; the row says so instead. */
    unavailable?: string;
    config?: Record<string, unknown>;
    action?: (cluster: LocalCluster, stack: ProgramStack) => Promise<void>;
}

interface ScrapeRecord {
    node: string;
    port: number;
    at: number;
    error?: string;
}

interface ConnectRecord {
    node: string;
    port: number;
    at: number;
    ok: boolean;
}

interface EventResult {
    event: DayTwoEvent;
    tookSeconds?: number;
    scrapes: ScrapeRecord[];
    connects: ConnectRecord[];
    /** When the event started and ended (ms since the epoch), within the measured window. */
    started: number;
    ended: number;
    windowEnd: number;
}

// ---- the cluster and the stack -----------------------------------------------------------------

async function nodesOf(cluster: LocalCluster): Promise<Node[]> {
    const list = JSON.parse(await cluster.mustKubectl(["get", "nodes", "-o", "json"]));
    return list.items.map((n: any) => ({
        name: n.metadata.name,
        ip: n.status.addresses.find((a: any) => a.type === "InternalIP").address,
        controlPlane: CONTROL_PLANE_LABEL in (n.metadata.labels ?? {}),
    }));
}

async function readerToken(cluster: LocalCluster): Promise<string> {
    return (
        await cluster.mustKubectl(["create", "token", READER.serviceAccount, "-n", READER.namespace, "--duration=2h"])
    ).trim();
}

async function mustUp(stack: ProgramStack): Promise<void> {
    const up: Result = await stack.up();
    if (up.code !== 0) {
        throw new Error(`pulumi up failed:\n${up.stdout}\n${up.stderr}`);
    }
}

/** Until every proxy DaemonSet has every pod of its current template ready. */
async function awaitDaemonSets(cluster: LocalCluster, timeoutMs = 300_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const list = JSON.parse(await cluster.mustKubectl(["get", "daemonsets", "-n", PROXY_NAMESPACE, "-o", "json"]));
        const pods = JSON.parse(await cluster.mustKubectl(["get", "pods", "-n", PROXY_NAMESPACE, "-o", "json"]));
        const terminating = pods.items.filter((p: any) => p.metadata.deletionTimestamp).length;
        const ready = list.items.every(
            (ds: any) =>
                ds.status.observedGeneration === ds.metadata.generation &&
                ds.status.numberReady === ds.status.desiredNumberScheduled &&
                ds.status.updatedNumberScheduled === ds.status.desiredNumberScheduled &&
                (ds.status.numberAvailable ?? 0) === ds.status.desiredNumberScheduled,
        );
        if (ready && terminating === 0) {
            return;
        }
        if (Date.now() > deadline) {
            throw new Error("the proxy DaemonSets did not become ready again");
        }
        await sleep(250);
    }
}

/** Deletes the proxy pod on the control-plane node (the one with the most ports), as `kubectl delete pod` does. */
async function deleteControlPlanePod(cluster: LocalCluster): Promise<void> {
    const nodes = await nodesOf(cluster);
    const node = nodes.find((n) => n.controlPlane)!;
    const pods = JSON.parse(
        await cluster.mustKubectl([
            "get",
            "pods",
            "-n",
            PROXY_NAMESPACE,
            "--field-selector",
            `spec.nodeName=${node.name}`,
            "-o",
            "json",
        ]),
    );
    const names: string[] = pods.items
        .filter((p: any) => !p.metadata.deletionTimestamp)
        .map((p: any) => p.metadata.name);
    if (names.length === 0) {
        throw new Error(`no proxy pod on ${node.name}`);
    }
    // One pod: with several (one per slot or DaemonSet), the first, as a person would pick one.
    log(`deleting pod ${PROXY_NAMESPACE}/${names[0]} on ${node.name}`);
    await cluster.mustKubectl(["delete", "pod", "-n", PROXY_NAMESPACE, names[0], "--wait=true"]);
    await awaitDaemonSets(cluster);
}

// ---- the events ----------------------------------------------------------------------------------

/** The events in order; each config adds to the ones before, as successive `pulumi config set`s would. */
function events(): DayTwoEvent[] {
    const base: Record<string, unknown> = {};
    const config = (extra: Record<string, unknown>) => ({ ...Object.assign(base, extra) });
    return [
        // This version's only way to re-issue the serving certificate before its renewal period.
        {
            name: "serving-certificate renewal (tls.validityDays 365 -> 364)",
            config: config({ tls: { validityDays: 364 } }),
        },
        { name: "CA rotation", unavailable: "not in this version (no CA rotation)" },
        { name: "haproxy config (serverTimeoutSeconds 30 -> 31)", config: config({ serverTimeoutSeconds: 31 }) },
        {
            name: "images (haproxy and kube-rbac-proxy tags)",
            config: config({
                proxyImage: "public.ecr.aws/eks-anywhere/kubernetes-sigs/kind/haproxy:v0.20.0-eks-a-55",
                gateImage: "quay.io/brancz/kube-rbac-proxy:v0.19.0",
            }),
        },
        {
            name: "resources (memory limits +32Mi)",
            config: config({
                proxyResources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "160Mi" } },
                gateResources: { requests: { cpu: "5m", memory: "24Mi" }, limits: { memory: "128Mi" } },
            }),
        },
        { name: "proxy pod deleted on the control-plane node", action: deleteControlPlanePod },
    ];
}

// ---- measuring -----------------------------------------------------------------------------------

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

function targetsOf(nodes: Node[], plan: VerificationPlan, ca: string, token: string) {
    return nodes.flatMap((node) =>
        COMPONENT_NAMES.map((name) => catalogueEntry(name))
            .filter((entry) => plan.components.some((c) => c.name === entry.name))
            .filter((entry) => runsOn(entry, node.controlPlane ? "control-plane" : "worker"))
            .map((entry) => {
                const url = new URL(`https://${plan.tlsServerName}:${entry.port}/metrics`);
                const target: Target = {
                    component: entry.name,
                    path: "proxied",
                    url,
                    agent: keepAliveAgent(url, 1, { ca, resolveTo: node.ip }),
                    headers: { authorization: `Bearer ${token}`, "accept-encoding": "gzip" },
                    note: `${node.name} ${node.ip}`,
                };
                return { node, port: entry.port, target };
            }),
    );
}

/** One scrape with Prometheus' timeout; like Go's transport, a request that failed on a reused
 * keep-alive connection before any answer (the server had closed it) is sent once more on a new one. */
async function scrape(target: Target): Promise<Outcome> {
    const once = () =>
        Promise.race([
            scrapeOnce(target),
            sleep(SCRAPE_TIMEOUT_MS).then((): Outcome => ({
                latencyMs: SCRAPE_TIMEOUT_MS,
                bodyBytes: 0,
                reusedConnection: false,
                error: "timeout",
            })),
        ]);
    const first = await once();
    if (first.error?.startsWith("request:") && first.reusedConnection) {
        return once();
    }
    return first;
}

function connectOnce(ip: string, port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect({ host: ip, port, timeout: 1000 });
        const done = (ok: boolean) => {
            socket.destroy();
            resolve(ok);
        };
        socket.once("connect", () => done(true));
        socket.once("error", () => done(false));
        socket.once("timeout", () => done(false));
    });
}

/** Runs `body` while every target is scraped each second and every port connected to every 50 ms. */
async function measure(
    nodes: Node[],
    plan: VerificationPlan,
    ca: string,
    token: string,
    body: () => Promise<void>,
): Promise<Omit<EventResult, "event" | "tookSeconds">> {
    const targets = targetsOf(nodes, plan, ca, token);
    const scrapes: ScrapeRecord[] = [];
    const connects: ConnectRecord[] = [];
    let stop = false;
    const scrapers = targets.map(async ({ node, port, target }) => {
        for (let next = Date.now(); !stop;) {
            const at = Date.now();
            const outcome = await scrape(target);
            scrapes.push({ node: node.name, port, at, error: outcome.error });
            // Never two scrapes of one target at once, as in Prometheus: a slow one delays the next tick.
            next = Math.max(next + SCRAPE_EVERY_MS, Date.now());
            await sleep(Math.max(0, next - Date.now()));
        }
        target.agent.destroy();
    });
    const connectors = targets.map(async ({ node, port }) => {
        while (!stop) {
            const at = Date.now();
            connects.push({ node: node.name, port, at, ok: await connectOnce(node.ip, port) });
            await sleep(Math.max(0, at + CONNECT_EVERY_MS - Date.now()));
        }
    });
    await sleep(SETTLE_BEFORE_MS);
    const started = Date.now();
    let ended = started;
    try {
        await body();
    } finally {
        ended = Date.now();
        await sleep(SETTLE_AFTER_MS);
        stop = true;
        await Promise.all([...scrapers, ...connectors]);
    }
    return { scrapes, connects, started, ended, windowEnd: Date.now() };
}

/** The longest stretch from a failed record to the next good one (to the end of the window if none). */
function longestGap<T extends { at: number }>(records: T[], failed: (r: T) => boolean, end: number): number {
    let longest = 0;
    let since: number | undefined;
    for (const r of [...records].sort((a, b) => a.at - b.at)) {
        if (failed(r)) {
            since ??= r.at;
        } else if (since !== undefined) {
            longest = Math.max(longest, r.at - since);
            since = undefined;
        }
    }
    return since === undefined ? longest : Math.max(longest, end - since);
}

/** Per node, the longest gap over its targets (or ports). */
function perNode<T extends { node: string; port: number; at: number }>(
    nodes: Node[],
    records: T[],
    failed: (r: T) => boolean,
    end: number,
): Map<string, { ms: number; stillFailing: boolean }> {
    return new Map(
        nodes.map((n) => {
            const own = records.filter((r) => r.node === n.name);
            const ports = [...new Set(own.map((r) => r.port))];
            let ms = 0;
            let stillFailing = false;
            for (const port of ports) {
                const series = own.filter((r) => r.port === port).sort((a, b) => a.at - b.at);
                ms = Math.max(ms, longestGap(series, failed, end));
                stillFailing ||= series.length > 0 && failed(series[series.length - 1]);
            }
            return [n.name, { ms, stillFailing }];
        }),
    );
}

// ---- reporting -----------------------------------------------------------------------------------

function report(nodes: Node[], results: EventResult[]): string {
    const header = [
        "event",
        "took s",
        "scrapes",
        "failed",
        ...nodes.map((n) => `gap s ${n.name}`),
        ...nodes.map((n) => `no listener ms ${n.name}`),
    ];
    const rows = results.map((r) => {
        if (r.event.unavailable) {
            return [r.event.name, "-", "-", "-", ...nodes.map(() => "-"), ...nodes.map(() => "-"), r.event.unavailable];
        }
        const gaps = perNode(nodes, r.scrapes, (s) => s.error !== undefined, r.windowEnd);
        const holes = perNode(nodes, r.connects, (c) => !c.ok, r.windowEnd);
        const mark = (g: { ms: number; stillFailing: boolean }, digits: number, scale: number) =>
            `${g.stillFailing ? ">=" : ""}${fixed(g.ms / scale, digits)}`;
        return [
            r.event.name,
            fixed(r.tookSeconds ?? NaN, 1),
            String(r.scrapes.length),
            String(r.scrapes.filter((s) => s.error).length),
            ...nodes.map((n) => mark(gaps.get(n.name)!, 1, 1000)),
            ...nodes.map((n) => mark(holes.get(n.name)!, 0, 1)),
            "",
        ];
    });
    return table([...header, "note"], rows);
}

function errorLines(results: EventResult[]): string[] {
    return results.flatMap((r) => {
        const counts = new Map<string, number>();
        for (const s of r.scrapes.filter((s) => s.error)) {
            const key = `${s.node}:${s.port} ${s.error!.replace(/\s+/g, " ").slice(0, 110)}`;
            counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        return [...counts].map(([key, n]) => `  ${r.event.name}: ${n} x ${key}`);
    });
}

function machineLine(): string {
    const load = os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(" ");
    return `${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), Node ${process.version}, ${os.type()} ${os.release()}, load average ${load}`;
}

// ---- main ----------------------------------------------------------------------------------------

async function benchmark(cluster: LocalCluster): Promise<{ nodes: Node[]; results: EventResult[] }> {
    log("bringing the local control plane up");
    await cluster.up();
    await cluster.createDefaultReaders();
    const stack = new ProgramStack("bench-day-two");
    await stack.init(cluster.kubeconfig());
    log("first pulumi up (real engine: rollout and verification)");
    await mustUp(stack);
    const nodes = await nodesOf(cluster);
    const token = await readerToken(cluster);
    const results: EventResult[] = [];
    for (const event of events()) {
        if (event.unavailable) {
            results.push({ event, scrapes: [], connects: [], started: 0, ended: 0, windowEnd: 0 });
            continue;
        }
        // The CA a scraper holds: the one published before the event, as a user's file or mount.
        const plan = (await stack.output("verificationPlan")) as VerificationPlan;
        log(`event: ${event.name}`);
        let tookSeconds: number | undefined;
        const measured = await measure(nodes, plan, plan.caCertificate, token, async () => {
            const started = Date.now();
            if (event.config) {
                stack.setConfig(event.config);
                await mustUp(stack);
            } else {
                await event.action!(cluster, stack);
            }
            tookSeconds = (Date.now() - started) / 1000;
        });
        results.push({ event, tookSeconds, ...measured });
        log(`  ${measured.scrapes.filter((s) => s.error).length} of ${measured.scrapes.length} scrapes failed`);
    }
    return { nodes, results };
}

async function main(): Promise<void> {
    log(`machine: ${machineLine()}`);
    const cluster = new LocalCluster();
    let teardown: Promise<void> | undefined;
    const down = () => (teardown ??= cluster.down().catch((err) => log(`teardown failed: ${err.message}`)));
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
        process.once(signal, () => {
            log(`${signal}: tearing the local control plane down`);
            void down().then(() => process.exit(130));
        });
    }
    try {
        const { nodes, results } = await benchmark(cluster);
        console.log(
            `\nDay two: every target on every node scraped once a second (HTTPS to the node IP, the stack's server name, ` +
                `the CA from before the event, the reader's token, gzip, keep-alive; ${SCRAPE_TIMEOUT_MS / 1000} s timeout), ` +
                `every port connected to every ${CONNECT_EVERY_MS} ms; measured from ${SETTLE_BEFORE_MS / 1000} s before each event ` +
                `to ${SETTLE_AFTER_MS / 1000} s after it. gap: the longest stretch from a failed scrape of a target to its next good one; ` +
                `no listener: the same for TCP connects to a port (>=: still failing at the end)`,
        );
        console.log(`machine at the end: ${machineLine()}\n`);
        console.log(report(nodes, results));
        const errors = errorLines(results);
        console.log(errors.length ? `\nfailed scrapes:\n${errors.join("\n")}` : "\nno failed scrape");
    } catch (err) {
        log(`failed: ${(err as Error).stack ?? err}`);
        process.exitCode = 1;
    } finally {
        log("tearing the local control plane down");
        await down();
    }
}

main().catch((err: Error) => {
    log(err.message);
    process.exitCode = 2;
});
