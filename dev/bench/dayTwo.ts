/**
 * Benchmark (not a test): what a scraper sees on the days after the first `pulumi up`. On a local
 * control plane (dev/localcluster/, through its driver) with the project's own stack deployed by the
 * real `pulumi up`, it scrapes every target on every node once a second, as Prometheus does (HTTPS to
 * the node IP with the stack's TLS server name, the CA pinned as it was before the event, the reader's
 * token, gzip, keep-alive), and connects to every port of every node every 50 ms, through each event:
 * a serving-certificate renewal, a `pulumi up` that changes the haproxy config, the images or the
 * resources, a proxy pod deleted on one node, then each step of a CA rotation. Prints per event: scrapes,
 * failed scrapes, the longest gap per node, the longest time a port had no listener per node, and how
 * long the event took.
 *
 * The CA rotation steps happen years ahead, so they run under the test clock (EKSA_METRICS_TEST_NOW),
 * last: the stack issues certificates dated then, which OpenSSL, verifying at the real clock, refuses;
 * for those steps the scraper checks the served certificate itself at the test clock's time
 * (lib/testClockTls.ts). The events before them run at the real clock, verified by Node's TLS (OpenSSL).
 *
 * Run with `bash dev/bench/run.sh dayTwo` (it needs the sandbox: private network namespace and /tmp).
 */
import * as net from "net";
import * as os from "os";
import {
    DAY_MS,
    periodStart,
    renewalPeriodDays,
    TEST_CLOCK_ENV,
    TlsForecast,
    TlsPhase,
} from "../../components/tlsSchedule";
import { catalogueEntry, COMPONENT_NAMES, runsOn } from "../../core/catalogue";
import { CONTROL_PLANE_LABEL } from "../../core/kubernetes";
import { DEFAULTS } from "../../config/schema";
import type { VerificationPlan } from "../../verify/plan";
import { LocalCluster, ProgramStack, Result } from "../localcluster/driver";
import { keepAliveAgent, Outcome, scrapeOnce, Target } from "./lib/scrape";
import { fixed, table } from "./lib/stats";
import { certificatesOf, TEST_CLOCK_VERIFIER, testClockAgent } from "./lib/testClockTls";

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
    config?: Record<string, unknown>;
    action?: (cluster: LocalCluster, stack: ProgramStack) => Promise<void>;
    /** A CA rotation step: an unchanged `pulumi up` under the test clock at `at`, which must take the step. */
    caStep?: CaStep;
}

/** What the up of a CA rotation step must do, checked from the stack's outputs around it. */
interface CaStep {
    at: Date;
    /** The CA step the forecast before it names (tlsRenewal.nextRenewal.caStep); undefined: none. */
    forecast: string | undefined;
    phaseAfter: TlsPhase;
    bundle: "adds a new CA after the old one" | "unchanged" | "keeps only the newest CA";
}

/**
 * The test clock: moved to a time, it runs on from there at the real clock's pace. The stack's `up`
 * takes its time for "now" (EKSA_METRICS_TEST_NOW), the scraper verifies certificates at it.
 */
class TestClock {
    private at = 0;
    private setAt = 0;

    moveTo(at: Date): void {
        this.at = at.getTime();
        this.setAt = Date.now();
    }

    now(): Date {
        return new Date(this.at + Date.now() - this.setAt);
    }
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
    /** In the CA rotation rows: a control scraper's, one that never re-reads its CA file (not in the row). */
    stale?: ScrapeRecord[];
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

/** Each config adds to the ones before, as successive `pulumi config set`s would. */
function configs(): (extra: Record<string, unknown>) => Record<string, unknown> {
    const base: Record<string, unknown> = {};
    return (extra) => ({ ...Object.assign(base, extra) });
}

/** The events at the real clock, in order. */
function realClockEvents(config: ReturnType<typeof configs>): DayTwoEvent[] {
    return [
        // Re-issues the serving certificate now rather than at the next renewal period (the CA stays).
        {
            name: "serving-certificate renewal (tls.validityDays 365 -> 364)",
            config: config({ tls: { validityDays: 364 } }),
        },
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

/**
 * A CA rotation with the default validities (serving 90 days: 60-day renewal periods; CA 10 years), the CA
 * issued at `caIssued`: the clock moves to the period before the CA has lived two thirds of its life, where
 * a preparing `up` (not measured) renews the serving certificate as each period's `up` would have, so it is
 * valid through the next step; then the four steps, each the first `up` of the next period. The stack's
 * verification is off from the preparing `up` on: it checks certificates at the real clock.
 */
function caRotation(
    caIssued: Date,
    config: ReturnType<typeof configs>,
): { prepare: { at: Date; config: Record<string, unknown> }; steps: DayTwoEvent[] } {
    const { validityDays, caValidityDays } = DEFAULTS.tls;
    const periodMs = renewalPeriodDays(validityDays) * DAY_MS;
    // The first period that begins once the CA has lived two thirds of its validity: its first up publishes the bundle.
    const publishing = Math.ceil((caIssued.getTime() + renewalPeriodDays(caValidityDays) * DAY_MS) / periodMs);
    // A day into period `k`, as the e2e test's days are.
    const inPeriod = (k: number) => new Date(k * periodMs + DAY_MS);
    const caDay = (at: Date) => `CA day ${Math.floor((at.getTime() - caIssued.getTime()) / DAY_MS)}`;
    const step = (k: number, name: string, rest: Omit<CaStep, "at">): DayTwoEvent => ({
        name: `CA rotation ${k + 1}/4: ${name} (${caDay(inPeriod(publishing + k))})`,
        caStep: { at: inPeriod(publishing + k), ...rest },
    });
    return {
        prepare: {
            at: inPeriod(publishing - 1),
            config: config({ tls: { validityDays, caValidityDays }, verify: { enabled: false } }),
        },
        steps: [
            step(0, "the up that publishes the bundle, old CA first", {
                forecast: "publishes a bundle with a new CA",
                phaseAfter: TlsPhase.BundlePublished,
                bundle: "adds a new CA after the old one",
            }),
            step(1, "the up in the overlap (serving renewal by the old CA)", {
                forecast: undefined,
                phaseAfter: TlsPhase.BundlePublished,
                bundle: "unchanged",
            }),
            step(2, "the up that moves the proxies to the new CA", {
                forecast: "moves the proxies to the new CA",
                phaseAfter: TlsPhase.MovedToNewCa,
                bundle: "unchanged",
            }),
            step(3, "the up that drops the old CA", {
                forecast: "drops the old CA from the bundle",
                phaseAfter: TlsPhase.SingleCa,
                bundle: "keeps only the newest CA",
            }),
        ],
    };
}

/** Throws unless `up` (from `before` to `after`, caCertificate and tlsRenewal) took the CA step it should. */
function checkCaStep(
    event: DayTwoEvent & { caStep: CaStep },
    before: { pem: string; renewal: TlsForecast },
    after: { pem: string; renewal: TlsForecast },
): void {
    const { caStep } = event;
    const fingerprints = (pem: string) => certificatesOf(pem).map((ca) => ca.fingerprint256);
    const [old, now] = [fingerprints(before.pem), fingerprints(after.pem)];
    const bundleOk = {
        "adds a new CA after the old one": now.length === old.length + 1 && old.every((f, i) => now[i] === f),
        unchanged: before.pem === after.pem,
        "keeps only the newest CA": now.length === 1 && now[0] === old[old.length - 1],
    }[caStep.bundle];
    const problems = [
        before.renewal.nextRenewal.caStep !== caStep.forecast &&
            `the forecast before it named ${JSON.stringify(before.renewal.nextRenewal.caStep)}, not ${JSON.stringify(caStep.forecast)}`,
        Date.parse(before.renewal.nextRenewal.at) !== periodStart(DEFAULTS.tls.validityDays, caStep.at).getTime() &&
            `the forecast before it named the period from ${before.renewal.nextRenewal.at}, not this one`,
        after.renewal.phase !== caStep.phaseAfter && `phase ${after.renewal.phase} after it, not ${caStep.phaseAfter}`,
        !bundleOk && `caCertificate ${caStep.bundle}: no (${old.length} CA before, ${now.length} after)`,
    ].filter((p): p is string => typeof p === "string");
    if (problems.length > 0) {
        throw new Error(`${event.name} did not take its step: ${problems.join("; ")}`);
    }
}

// ---- measuring -----------------------------------------------------------------------------------

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The targets as a scraper holding `ca` reaches them: verified by OpenSSL at the real clock, or by the bench at `clock`'s time. */
function targetsOf(nodes: Node[], plan: VerificationPlan, ca: string, token: string, clock?: TestClock) {
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
                    agent: clock
                        ? testClockAgent({
                              ca,
                              serverName: plan.tlsServerName,
                              now: () => clock.now(),
                              resolveTo: node.ip,
                          })
                        : keepAliveAgent(url, 1, { ca, resolveTo: node.ip }),
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
    clock: TestClock | undefined,
    staleCa: string | undefined,
    body: () => Promise<void>,
): Promise<Omit<EventResult, "event" | "tookSeconds">> {
    const targets = targetsOf(nodes, plan, ca, token, clock);
    const scrapes: ScrapeRecord[] = [];
    const stale: ScrapeRecord[] = [];
    const connects: ConnectRecord[] = [];
    let stop = false;
    const scrapeEach = (of: typeof targets, records: ScrapeRecord[]) =>
        of.map(async ({ node, port, target }) => {
            for (let next = Date.now(); !stop;) {
                const at = Date.now();
                const outcome = await scrape(target);
                records.push({ node: node.name, port, at, error: outcome.error });
                // Never two scrapes of one target at once, as in Prometheus: a slow one delays the next tick.
                next = Math.max(next + SCRAPE_EVERY_MS, Date.now());
                await sleep(Math.max(0, next - Date.now()));
            }
            target.agent.destroy();
        });
    const scrapers = [
        ...scrapeEach(targets, scrapes),
        ...(staleCa ? scrapeEach(targetsOf(nodes, plan, staleCa, token, clock), stale) : []),
    ];
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
    return { scrapes, connects, ...(staleCa ? { stale } : {}), started, ended, windowEnd: Date.now() };
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
            r.event.caStep
                ? `TLS verified by the bench at test clock ${r.event.caStep.at.toISOString().slice(0, 10)}`
                : "",
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

/** The control scraper's results per CA rotation step, each distinct error with its count. */
function staleLines(results: EventResult[]): string[] {
    return results.flatMap((r) => {
        if (!r.stale) {
            return [];
        }
        const counts = new Map<string, number>();
        for (const s of r.stale.filter((s) => s.error)) {
            counts.set(s.error!, (counts.get(s.error!) ?? 0) + 1);
        }
        return [
            `  ${r.event.name}: ${r.stale.length - [...counts.values()].reduce((a, b) => a + b, 0)} of ${r.stale.length} good`,
            ...[...counts].map(([error, n]) => `    ${n} x ${error}`),
        ];
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
    const clock = new TestClock();
    const results: EventResult[] = [];
    const published = async () => ({
        pem: (await stack.output("caCertificate")) as string,
        renewal: (await stack.output("tlsRenewal")) as TlsForecast,
    });

    /** `staleCa`: the CA file of a control scraper, one that does not re-read it (reported apart from the row). */
    async function measured(event: DayTwoEvent, staleCa?: string): Promise<void> {
        // The CA file a scraper holds: caCertificate as published before the event. Re-read before each one,
        // as a user's Prometheus re-reads its CA file; so from the up after the bundle's on, the bundle.
        const before = await published();
        const plan = (await stack.output("verificationPlan")) as VerificationPlan;
        if (event.caStep) {
            clock.moveTo(event.caStep.at);
        }
        log(`event: ${event.name}`);
        let tookSeconds: number | undefined;
        const measured = await measure(nodes, plan, before.pem, token, event.caStep && clock, staleCa, async () => {
            const started = Date.now();
            if (event.caStep) {
                stack.env[TEST_CLOCK_ENV] = clock.now().toISOString();
            }
            if (event.config) {
                stack.setConfig(event.config);
            }
            if (event.action) {
                await event.action(cluster, stack);
            } else {
                await mustUp(stack);
            }
            tookSeconds = (Date.now() - started) / 1000;
        });
        results.push({ event, tookSeconds, ...measured });
        log(`  ${measured.scrapes.filter((s) => s.error).length} of ${measured.scrapes.length} scrapes failed`);
        if (measured.stale) {
            log(`  control: ${measured.stale.filter((s) => s.error).length} of ${measured.stale.length} failed`);
        }
        if (event.caStep) {
            checkCaStep({ ...event, caStep: event.caStep }, before, await published());
        }
    }

    const config = configs();
    for (const event of realClockEvents(config)) {
        await measured(event);
    }
    const caIssued = new Date(certificatesOf((await published()).pem)[0].validFrom);
    const rotation = caRotation(caIssued, config);
    log(
        `preparing the CA rotation (not measured): pulumi up under the test clock at ${rotation.prepare.at.toISOString()}, ` +
            `default validities, the stack's verification off (it checks at the real clock)`,
    );
    // The control holds caCertificate as read before the rotation began: the old CA alone.
    const staleCa = (await published()).pem;
    clock.moveTo(rotation.prepare.at);
    stack.env[TEST_CLOCK_ENV] = clock.now().toISOString();
    stack.setConfig(rotation.prepare.config);
    await mustUp(stack);
    for (const event of rotation.steps) {
        await measured(event, staleCa);
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
                `verified by Node's TLS (OpenSSL) at the real clock, except in the CA rotation rows: they run under the test clock, ` +
                `years ahead, and OpenSSL can only verify at the real clock, so there the bench verifies the served certificate itself ` +
                `at the test clock's time (${TEST_CLOCK_VERIFIER}: signed by a CA of the pinned file, both valid then, for the server name); ` +
                `every port connected to every ${CONNECT_EVERY_MS} ms; measured from ${SETTLE_BEFORE_MS / 1000} s before each event ` +
                `to ${SETTLE_AFTER_MS / 1000} s after it. gap: the longest stretch from a failed scrape of a target to its next good one; ` +
                `no listener: the same for TCP connects to a port (>=: still failing at the end)`,
        );
        console.log(`machine at the end: ${machineLine()}\n`);
        console.log(report(nodes, results));
        const errors = errorLines(results);
        console.log(errors.length ? `\nfailed scrapes:\n${errors.join("\n")}` : "\nno failed scrape");
        console.log(
            "\ncontrol, not in the rows: through the CA rotation a second scraper, beside the one above, holds the CA file " +
                "it read before the rotation began (the old CA alone) and never re-reads it:\n" +
                staleLines(results).join("\n"),
        );
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
