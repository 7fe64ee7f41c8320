/**
 * Benchmark (not a test): what the eksa-metrics proxy costs a scrape. On a local control plane
 * (dev/localcluster/, via its driver) it times `GET /metrics` of kube-controller-manager
 * and etcd straight to the component on 127.0.0.1 ("direct") and through the proxy on the
 * control-plane node ("proxied": haproxy for KCM, kube-rbac-proxy for etcd), at each concurrency,
 * in alternating blocks so machine noise hits both paths alike; then prints latency/throughput
 * figures, the proxied/direct ratios and the proxy processes' resident memory before and after.
 *
 * Run with `bash dev/bench/run.sh scrape` (it needs the sandbox: private network namespace and /tmp).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CatalogueEntry, catalogueEntry, ComponentName, upstreamUrl } from "../../core/catalogue";
import type { VerificationPlan } from "../../verify/plan";
import { LocalCluster, ProgramStack } from "../localcluster/driver";
import { ContainerMemory, measureContainer, ProxyContainer } from "./lib/proxyMemory";
import { keepAliveAgent, Outcome, scrapeBlock, Target, waitUntilServing } from "./lib/scrape";
import { fixed, summarise, table } from "./lib/stats";

const BENCHED: readonly ComponentName[] = ["kube-controller-manager", "etcd"];
const PROXY_NAMESPACE = "eksa-metrics";
const READER = { namespace: "observability", serviceAccount: "prometheus-server" };

interface Options {
    requests: number;
    warmup: number;
    concurrencies: number[];
    block: number;
    /** Send `Accept-Encoding: gzip`, as Prometheus does. */
    gzip: boolean;
}

/** One path of one component at one concurrency: what was measured. */
interface Measurement {
    target: Target;
    concurrency: number;
    latenciesMs: number[];
    wallMs: number;
    bodyBytes: number;
    /** Connections opened by measured scrapes (the warm-up opened the pool). */
    newConnections: number;
    failed: number;
    /** Error message → how many times; warm-up failures are prefixed "warm-up: ". */
    errors: Map<string, number>;
}

function log(message: string): void {
    process.stderr.write(`[bench] ${message}\n`);
}

// ---- options ---------------------------------------------------------------------------------

function positiveInt(name: string, raw: string): number {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1) {
        throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
    }
    return value;
}

function trueOrFalse(name: string, raw: string): boolean {
    if (raw !== "true" && raw !== "false") {
        throw new Error(`${name} must be true or false, got ${JSON.stringify(raw)}`);
    }
    return raw === "true";
}

function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
    const raw: Record<string, string> = {
        requests: env.BENCH_REQUESTS ?? "400",
        warmup: env.BENCH_WARMUP ?? "32",
        concurrency: env.BENCH_CONCURRENCY ?? "1,16",
        block: env.BENCH_BLOCK ?? "50",
        gzip: env.BENCH_GZIP ?? "false",
    };
    for (let i = 0; i < argv.length; i += 2) {
        const name = argv[i].replace(/^--/, "");
        if (!(name in raw) || argv[i + 1] === undefined) {
            throw new Error(
                `usage: dev/bench/run.sh scrape [--requests N] [--warmup N] [--concurrency 1,16] [--block N] [--gzip true|false] (bad argument ${argv[i]})`,
            );
        }
        raw[name] = argv[i + 1];
    }
    return {
        requests: positiveInt("--requests", raw.requests),
        warmup: positiveInt("--warmup", raw.warmup),
        concurrencies: raw.concurrency.split(",").map((c) => positiveInt("--concurrency", c)),
        block: positiveInt("--block", raw.block),
        gzip: trueOrFalse("--gzip", raw.gzip),
    };
}

// ---- cluster ---------------------------------------------------------------------------------

async function deployStack(cluster: LocalCluster): Promise<VerificationPlan> {
    log("bringing the local control plane up");
    await cluster.up();
    await cluster.createDefaultReaders();
    log("pulumi up of the stack (real engine), which awaits the rollout and verifies it");
    const stack = new ProgramStack("bench");
    await stack.init(cluster.kubeconfig());
    const up = await stack.up();
    if (up.code !== 0) {
        throw new Error(`pulumi up failed:\n${up.stdout}\n${up.stderr}`);
    }
    // The plan carries what a client needs: the stack's CA, the TLS server name, the ports.
    return (await stack.output("verificationPlan")) as VerificationPlan;
}

async function controlPlaneNodeIP(cluster: LocalCluster): Promise<string> {
    const ip = await cluster.mustKubectl([
        "get",
        "nodes",
        "-l",
        "node-role.kubernetes.io/control-plane",
        "-o",
        'jsonpath={.items[0].status.addresses[?(@.type=="InternalIP")].address}',
    ]);
    if (!ip.trim()) {
        throw new Error("no control-plane node with an InternalIP");
    }
    return ip.trim();
}

async function readerToken(cluster: LocalCluster): Promise<string> {
    const token = await cluster.mustKubectl([
        "create",
        "token",
        READER.serviceAccount,
        "-n",
        READER.namespace,
        "--duration=1h",
    ]);
    return token.trim();
}

interface ReviewCounts {
    tokenReviews: number;
    subjectAccessReviews: number;
}

/** TokenReviews and SubjectAccessReviews the API server has served: how often token checks miss their caches. */
async function apiServerReviews(cluster: LocalCluster): Promise<ReviewCounts> {
    const metrics = await cluster.mustKubectl(["get", "--raw", "/metrics"]);
    const total = (resource: string) =>
        metrics
            .split("\n")
            .filter((line) => line.startsWith("apiserver_request_total{") && line.includes(`resource="${resource}"`))
            .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
    return { tokenReviews: total("tokenreviews"), subjectAccessReviews: total("subjectaccessreviews") };
}

interface ContainerState extends ProxyContainer {
    restartCount: number;
    /** How its previous run ended, e.g. "Error, exit code 1" (when it restarted). */
    lastTermination?: string;
}

async function proxyContainerStates(cluster: LocalCluster): Promise<ContainerState[]> {
    const pods = JSON.parse(await cluster.mustKubectl(["get", "pods", "-n", PROXY_NAMESPACE, "-o", "json"]));
    return pods.items.flatMap((pod: any) =>
        (pod.status.containerStatuses ?? []).map((c: any): ContainerState => {
            const ended = c.lastState?.terminated;
            return {
                node: pod.spec.nodeName,
                pod: pod.metadata.name,
                container: c.name,
                restartCount: c.restartCount,
                lastTermination: ended
                    ? `${ended.reason}, exit code ${ended.exitCode}, at ${ended.finishedAt}`
                    : undefined,
            };
        }),
    );
}

// ---- targets ---------------------------------------------------------------------------------

/** What a scrape sends: the reader's token (unless nobody checks it) and, if asked, gzip as Prometheus does. */
function requestHeaders(token: string | undefined, gzip: boolean): Record<string, string> {
    return { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(gzip ? { "accept-encoding": "gzip" } : {}) };
}

function directTarget(entry: CatalogueEntry, token: string, options: Options): Target {
    const url = new URL(`${upstreamUrl(entry)}/metrics`);
    // KCM checks the token itself; etcd's metrics listener serves anyone, so it gets none.
    const headers = requestHeaders(entry.authenticator === "upstream" ? token : undefined, options.gzip);
    // The components' own certificates are self-signed at start-up: not verified.
    const note = url.protocol === "https:" ? "certificate not verified" : "plain HTTP";
    return {
        component: entry.name,
        path: "direct",
        url,
        agent: keepAliveAgent(url, maxConcurrency(options)),
        headers,
        note,
    };
}

function proxiedTarget(
    entry: CatalogueEntry,
    plan: VerificationPlan,
    nodeIP: string,
    token: string,
    options: Options,
): Target {
    const url = new URL(`https://${plan.tlsServerName}:${entry.port}/metrics`);
    const agent = keepAliveAgent(url, maxConcurrency(options), { ca: plan.caCertificate, resolveTo: nodeIP });
    const note = `resolved to ${nodeIP}, verified with the stack's CA`;
    return { component: entry.name, path: "proxied", url, agent, headers: requestHeaders(token, options.gzip), note };
}

function maxConcurrency(options: Options): number {
    return Math.max(...options.concurrencies);
}

// ---- measuring -------------------------------------------------------------------------------

function emptyMeasurement(target: Target, concurrency: number): Measurement {
    return {
        target,
        concurrency,
        latenciesMs: [],
        wallMs: 0,
        bodyBytes: 0,
        newConnections: 0,
        failed: 0,
        errors: new Map(),
    };
}

function countErrors(m: Measurement, outcomes: Outcome[], prefix = ""): void {
    for (const o of outcomes.filter((o) => o.error)) {
        const key = prefix + o.error;
        m.errors.set(key, (m.errors.get(key) ?? 0) + 1);
    }
}

function record(m: Measurement, outcomes: Outcome[], wallMs: number): void {
    const good = outcomes.filter((o) => !o.error);
    m.latenciesMs.push(...good.map((o) => o.latencyMs));
    m.bodyBytes += good.reduce((sum, o) => sum + o.bodyBytes, 0);
    m.failed += outcomes.length - good.length;
    m.newConnections += outcomes.filter((o) => !o.reusedConnection).length;
    m.wallMs += wallMs;
    countErrors(m, outcomes);
}

/** Splits `total` into blocks; at high concurrency a block is several rounds long, so its ramp-up and drain stay small. */
function blockSizes(total: number, concurrency: number, minimumBlock: number): number[] {
    const size = Math.max(minimumBlock, 8 * concurrency);
    return Array.from({ length: Math.ceil(total / size) }, (_, i) => Math.min(size, total - i * size));
}

/** Direct and proxied at one concurrency, warm-up first, then alternating blocks (A B, B A, ...). */
async function measurePair(
    direct: Target,
    proxied: Target,
    concurrency: number,
    options: Options,
): Promise<Measurement[]> {
    const results = [emptyMeasurement(direct, concurrency), emptyMeasurement(proxied, concurrency)];
    for (const m of results) {
        // Fills the keep-alive pool to `concurrency` connections and lets caches settle (token reviews, TLS sessions).
        const warmup = await scrapeBlock(m.target, Math.max(options.warmup, concurrency), concurrency);
        countErrors(m, warmup.outcomes, "warm-up: ");
    }
    const blocks = blockSizes(options.requests, concurrency, options.block);
    for (const [i, size] of blocks.entries()) {
        const order = i % 2 === 0 ? results : [...results].reverse();
        for (const m of order) {
            const block = await scrapeBlock(m.target, size, concurrency);
            record(m, block.outcomes, block.wallMs);
        }
    }
    return results;
}

// ---- reporting -------------------------------------------------------------------------------

/** Good scrapes per second of block wall time. */
function throughput(m: Measurement): number {
    return m.latenciesMs.length / (m.wallMs / 1000);
}

function latencyTable(measurements: Measurement[]): string {
    const direct = (m: Measurement) =>
        measurements.find(
            (d) =>
                d.target.path === "direct" &&
                d.target.component === m.target.component &&
                d.concurrency === m.concurrency,
        )!;
    const rows = measurements.map((m) => {
        const s = summarise(m.latenciesMs);
        const base = m.target.path === "proxied" ? summarise(direct(m).latenciesMs) : undefined;
        const ratio = (proxied: number, direct: number) => (base ? `${fixed(proxied / direct, 2)}x` : "");
        return [
            m.target.component,
            m.target.path,
            String(m.concurrency),
            String(m.latenciesMs.length + m.failed),
            String(m.failed),
            fixed(s.p50Ms, 2),
            fixed(s.p99Ms, 2),
            fixed(s.meanMs, 2),
            fixed(throughput(m), 1),
            ratio(s.p50Ms, base?.p50Ms ?? NaN),
            ratio(s.p99Ms, base?.p99Ms ?? NaN),
            ratio(throughput(m), throughput(direct(m))),
            fixed(m.bodyBytes / Math.max(1, m.latenciesMs.length) / 1024, 0),
            String(m.newConnections),
        ];
    });
    return table(
        [
            "component",
            "path",
            "conc",
            "N",
            "errors",
            "p50 ms",
            "p99 ms",
            "mean ms",
            "req/s",
            "p50 proxied/direct",
            "p99 proxied/direct",
            "req/s proxied/direct",
            "body KiB",
            "new conns",
        ],
        rows,
    );
}

function errorLines(measurements: Measurement[]): string[] {
    return measurements.flatMap((m) =>
        [...m.errors].map(
            ([message, count]) =>
                `ERROR ${m.target.component} ${m.target.path} c=${m.concurrency}: ${count} x ${message}`,
        ),
    );
}

const mib = (kib: number) => fixed(kib / 1024, 1);

function memoryTable(before: ContainerMemory[], after: ContainerMemory[]): string {
    const rows: string[][] = [];
    const total = (list: ContainerMemory[], field: "rssKiB" | "anonKiB") => list.reduce((sum, c) => sum + c[field], 0);
    for (const node of [...new Set(before.map((c) => c.node))].sort()) {
        const onNodeBefore = before.filter((c) => c.node === node);
        const onNodeAfter = onNodeBefore.map((b) => after.find((a) => a.pod === b.pod && a.container === b.container)!);
        for (const [i, b] of onNodeBefore.entries()) {
            const a = onNodeAfter[i];
            const processes =
                a.pids.length === 0
                    ? "not running"
                    : a.pids[0] === b.pids[0]
                      ? `${a.pids.length}`
                      : `${a.pids.length} (new pid)`;
            rows.push([
                node,
                b.container,
                processes,
                mib(b.rssKiB),
                mib(a.rssKiB),
                mib(a.rssKiB - b.rssKiB),
                mib(a.anonKiB),
            ]);
        }
        const [rssBefore, rssAfter] = [total(onNodeBefore, "rssKiB"), total(onNodeAfter, "rssKiB")];
        rows.push([
            node,
            "TOTAL",
            "",
            mib(rssBefore),
            mib(rssAfter),
            mib(rssAfter - rssBefore),
            mib(total(onNodeAfter, "anonKiB")),
        ]);
    }
    return table(
        ["node", "container", "processes", "RSS before MiB", "RSS after MiB", "delta MiB", "of which anon after MiB"],
        rows,
    );
}

/** Containers that restarted while the benchmark ran, how, and the end of their log: a restart cuts scrapes off. */
function restartLines(before: ContainerState[], after: ContainerState[], stateDir: string): string[] {
    return after.flatMap((a) => {
        const b = before.find((x) => x.pod === a.pod && x.container === a.container);
        if (!b || a.restartCount === b.restartCount) {
            return [];
        }
        const logFile = path.join(stateDir, "pods", `${PROXY_NAMESPACE}_${a.pod}`, `${a.container}.log`);
        const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-8) : [];
        return [
            `RESTARTED ${a.node} ${a.container}: ${a.restartCount - b.restartCount} time(s), last run ended: ${a.lastTermination ?? "?"}`,
            ...tail.map((line) => `    | ${line}`),
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

// ---- main ------------------------------------------------------------------------------------

/** Everything one run measured, for the report. */
interface BenchResult {
    options: Options;
    targets: Target[];
    measurements: Measurement[];
    memoryBefore: ContainerMemory[];
    memoryAfter: ContainerMemory[];
    restarts: string[];
    reviews: ReviewCounts;
    machineAtEnd: string;
}

async function benchmark(cluster: LocalCluster, options: Options): Promise<BenchResult> {
    const plan = await deployStack(cluster);
    const nodeIP = await controlPlaneNodeIP(cluster);
    const token = await readerToken(cluster);
    const containersBefore = await proxyContainerStates(cluster);
    const pairs = BENCHED.map((name) => catalogueEntry(name)).map(
        (entry) => [directTarget(entry, token, options), proxiedTarget(entry, plan, nodeIP, token, options)] as const,
    );
    // Before any scrape: the proxies as the rollout left them.
    const memoryBefore = containersBefore.map((c) => measureContainer(cluster.dir, PROXY_NAMESPACE, c));
    for (const target of pairs.flat()) {
        await waitUntilServing(target, 60_000);
    }

    const reviewsBefore = await apiServerReviews(cluster);
    const measurements: Measurement[] = [];
    for (const [direct, proxied] of pairs) {
        for (const concurrency of options.concurrencies) {
            log(
                `${direct.component}: ${options.requests} direct + ${options.requests} proxied scrapes at concurrency ${concurrency}`,
            );
            measurements.push(...(await measurePair(direct, proxied, concurrency, options)));
        }
    }
    const memoryAfter = containersBefore.map((c) => measureContainer(cluster.dir, PROXY_NAMESPACE, c));
    const reviewsAfter = await apiServerReviews(cluster);
    return {
        options,
        targets: pairs.flat(),
        measurements,
        memoryBefore,
        memoryAfter,
        restarts: restartLines(containersBefore, await proxyContainerStates(cluster), cluster.dir),
        reviews: {
            tokenReviews: reviewsAfter.tokenReviews - reviewsBefore.tokenReviews,
            subjectAccessReviews: reviewsAfter.subjectAccessReviews - reviewsBefore.subjectAccessReviews,
        },
        machineAtEnd: machineLine(),
    };
}

/** Scrapes sent with a token while the API server's review counters were read (warm-ups included). */
function scrapesWithToken(r: BenchResult): number {
    return r.measurements
        .filter((m) => m.target.headers.authorization)
        .reduce((sum, m) => sum + m.latenciesMs.length + m.failed + Math.max(r.options.warmup, m.concurrency), 0);
}

function totalFailures(measurements: Measurement[]): number {
    return measurements.reduce((sum, m) => sum + [...m.errors.values()].reduce((a, b) => a + b, 0), 0);
}

function printReport(r: BenchResult): void {
    const encoding = r.options.gzip ? "Accept-Encoding: gzip" : "no Accept-Encoding";
    console.log(
        `\nScrape latency, GET /metrics (${r.options.requests} per row after ${r.options.warmup} warm-up, keep-alive, one token, ${encoding})`,
    );
    console.log(`machine at the end: ${r.machineAtEnd}`);
    for (const t of r.targets) {
        console.log(
            `  ${t.component} ${t.path}: ${t.url} (${t.note}, ${t.headers.authorization ? "with the token" : "no token"})`,
        );
    }
    console.log(`\n${latencyTable(r.measurements)}`);
    console.log(
        `\nAPI server during the load: ${r.reviews.tokenReviews} TokenReviews, ${r.reviews.subjectAccessReviews} ` +
            `SubjectAccessReviews for ${scrapesWithToken(r)} scrapes with a token`,
    );
    console.log(`\nProxy processes' resident memory (each container's process tree), before and after the load\n`);
    console.log(memoryTable(r.memoryBefore, r.memoryAfter));
    console.log(r.restarts.length ? `\n${r.restarts.join("\n")}` : "\nno proxy container restarted");
    const errors = errorLines(r.measurements);
    console.log(errors.length ? errors.join("\n") : "no failed requests");
}

async function main(): Promise<void> {
    const options = parseOptions(process.argv.slice(2), process.env);
    log(`machine: ${machineLine()}`);
    const cluster = new LocalCluster();
    log(`local cluster state: ${cluster.dir} (in the sandbox's TMPDIR)`);
    let teardown: Promise<void> | undefined;
    const down = () => (teardown ??= cluster.down().catch((err) => log(`teardown failed: ${err.message}`)));
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
        process.once(signal, () => {
            log(`${signal}: tearing the local control plane down`);
            void down().then(() => process.exit(130));
        });
    }
    try {
        const result = await benchmark(cluster, options);
        printReport(result);
        process.exitCode = totalFailures(result.measurements) === 0 && result.restarts.length === 0 ? 0 : 1;
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
