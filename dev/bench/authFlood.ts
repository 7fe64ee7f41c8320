/**
 * Benchmark (not a test): what a client without credentials costs the API server through a node's
 * proxy, before and after haproxy's token checks (issue 16, item 5). On a local control plane
 * (dev/localcluster/: the real kube-apiserver, kube-controller-manager, kube-scheduler, etcd and
 * kube-proxy) it runs the proxy's real processes twice, side by side, each on a node address of
 * its own and started as the DaemonSet starts them:
 * - BEFORE: haproxy in front of kube-controller-manager and kube-scheduler only, with the rendered config
 *   minus the lines of the token checks and the stick table, and kube-rbac-proxy alone on NODE_IP on
 *   etcd's and kube-proxy's ports (what main rendered before the token checks);
 * - AFTER: the proxy as this checkout renders it (haproxy in front of every port, kube-rbac-proxy on
 *   loopback behind it).
 * For each, one source address floods every port with distinct garbage tokens shaped like JWTs (the
 * worst case: no local check can tell them from real ones) while a reader on another address scrapes
 * every port once a second. Prints the TokenReviews the API server served (its own
 * apiserver_request_total), the reader's failed scrapes, the flood's answers and the proxies' memory.
 *
 * Run with `bash dev/bench/run.sh authFlood [--tokens N] [--concurrency N]` (defaults 400 and 4 per
 * port; it needs the sandbox: private network namespace and /tmp).
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { CATALOGUE, CatalogueEntry, componentsFor, upstreamUrl } from "../../core/catalogue";
import { HAPROXY_PEM_FILE, renderHaproxyConfig, TLS_DIR } from "../../components/haproxy";
import { proxyPodTemplate } from "../../components/proxyPod";
import { kubeRbacProxyHostFor } from "../../components/daemonSets";
import { DEFAULT_AUTH_FAILURE_LIMIT, resolveSettings } from "../../config/settings";
import { issueProxyCertificate } from "../../components/tls";
import { LocalCluster } from "../localcluster/driver";
import { processTree, statusKiB } from "./lib/proxyMemory";
import { fixed, table } from "./lib/stats";

const FLOOD_SOURCE = "127.0.0.30";
const READER_SOURCE = "127.0.0.31";
const VARIANTS = [
    { name: "before", ip: "127.0.0.20" },
    { name: "after", ip: "127.0.0.21" },
] as const;
type VariantName = (typeof VARIANTS)[number]["name"];
const READER = { namespace: "observability", name: "prometheus-server" };
const GATE = { namespace: "eksa-metrics-bench", name: "gate" };
const SCRAPE_EVERY_MS = 1000;

const log = (text: string): void => {
    process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Options {
    tokens: number;
    concurrency: number;
}

function parseOptions(argv: string[]): Options {
    const options: Options = { tokens: 400, concurrency: 4 };
    for (let i = 0; i < argv.length; i += 2) {
        const key = argv[i].replace(/^--/, "");
        const value = Number(argv[i + 1]);
        if (!(key in options) || !Number.isInteger(value) || value < 1) {
            throw new Error(
                `usage: authFlood [--tokens N] [--concurrency N] (positive integers); got ${argv.join(" ")}`,
            );
        }
        options[key as keyof Options] = value;
    }
    return options;
}

/** haproxy.cfg as main rendered it before the token checks: the same config minus their lines. */
export function withoutTokenChecks(config: string): string {
    const added = /track-sc0|sc0_gpc0_rate|bearer_jwt|has_authorization|sc-inc-gpc0|^backend auth_failures|stick-table/;
    const kept = config.split("\n").filter((line) => !added.test(line.trim()));
    const text = kept.join("\n").replace(/\n\n\n+/g, "\n\n");
    if (/gpc0|bearer|auth_failures/.test(text)) {
        throw new Error("the BEFORE config still holds token checks");
    }
    return text;
}

// ---- the proxy's processes ---------------------------------------------------------------------

interface Proc {
    name: string;
    child: ChildProcess;
    log: string;
}

function startProcess(name: string, argv: string[], env: Record<string, string>, dir: string): Proc {
    const file = path.join(dir, `${name.replace(/\//g, "_")}.log`);
    const out = fs.openSync(file, "a");
    const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...env }, stdio: ["ignore", out, out] });
    fs.closeSync(out);
    return { name, child, log: file };
}

async function waitForPort(ip: string, port: number, proc: Proc): Promise<void> {
    const net = await import("net");
    for (let i = 0; i < 200; i++) {
        if (proc.child.exitCode !== null) {
            throw new Error(`${proc.name} exited: ${fs.readFileSync(proc.log, "utf8").slice(-2000)}`);
        }
        const ok = await new Promise<boolean>((resolve) => {
            const s = net.connect({ host: ip, port }, () => {
                s.destroy();
                resolve(true);
            });
            s.on("error", () => resolve(false));
        });
        if (ok) {
            return;
        }
        await sleep(100);
    }
    throw new Error(`${proc.name} does not listen on ${ip}:${port}`);
}

/** The proxy of a control-plane node (every component on), as the DaemonSet's containers start it, on `ip`. */
async function startProxy(
    variant: VariantName,
    ip: string,
    dir: string,
    gateKubeconfig: string,
): Promise<{ procs: Proc[]; haproxyConfig: string }> {
    const settings = resolveSettings({});
    const components = componentsFor("control-plane", settings.components);
    const fronted = components.filter((c) => c.authenticator === "upstream");
    const gateHost = kubeRbacProxyHostFor(`authFlood-${variant}`, "control-plane");
    const rendered = renderHaproxyConfig({
        components: variant === "before" ? fronted : components,
        kubeRbacProxyHost: gateHost,
        healthPort: settings.healthPort,
        serverTimeoutSeconds: settings.serverTimeoutSeconds,
        description: `authFlood ${variant}`,
    });
    const config = (variant === "before" ? withoutTokenChecks(rendered) : rendered).replaceAll(
        `${TLS_DIR}/`,
        `${dir}/`,
    );
    const configFile = path.join(dir, `haproxy-${variant}.cfg`);
    fs.writeFileSync(configFile, config);
    const template = proxyPodTemplate({
        role: "control-plane",
        components,
        settings,
        labels: {},
        serviceAccountName: GATE.name,
        haproxyConfigMapName: "bench",
        kubeRbacProxyHost: gateHost,
        tlsSecretName: "bench",
        proxyImage: "haproxy",
        gateImage: "kube-rbac-proxy",
        proxyResources: {},
        gateResources: {},
    }).spec as any;
    const procs: Proc[] = [];
    for (const container of template.containers) {
        const expand = (s: string) => s.replaceAll("$(NODE_IP)", ip).replaceAll(`${TLS_DIR}/`, `${dir}/`);
        let argv: string[] = [...container.command, ...(container.args ?? [])].map(expand);
        let listens: [string, number][];
        if (container.name === "haproxy") {
            argv = argv.map((a) => (a.endsWith("haproxy.cfg") ? configFile : a));
            listens = [...config.matchAll(/bind "\$\{NODE_IP\}:(\d+)"/g)].map((m) => [ip, Number(m[1])]);
        } else {
            if (variant === "before") {
                // Before haproxy fronted it, kube-rbac-proxy listened on the node's address itself.
                argv = argv.map((a) =>
                    a.replace(`--secure-listen-address=${gateHost}:`, `--secure-listen-address=${ip}:`),
                );
            }
            // In a pod it finds the API server through its service account; here through a kubeconfig.
            argv.push(`--kubeconfig=${gateKubeconfig}`);
            const listen = argv
                .find((a) => a.startsWith("--secure-listen-address="))!
                .split("=")[1]
                .split(":");
            listens = [[listen[0], Number(listen[1])]];
        }
        const proc = startProcess(`${variant}/${container.name}`, argv, { NODE_IP: ip }, dir);
        procs.push(proc);
        for (const [host, port] of listens) {
            await waitForPort(host, port, proc);
        }
    }
    return { procs, haproxyConfig: config };
}

function rssMiB(procs: Proc[]): number {
    return (
        procs
            .flatMap((p) => (p.child.pid ? processTree(p.child.pid) : []))
            .reduce((sum, pid) => sum + statusKiB(pid, "VmRSS"), 0) / 1024
    );
}

// ---- requests ------------------------------------------------------------------------------------

interface Answer {
    status: number | string;
}

function get(
    agent: https.Agent,
    ip: string,
    entry: CatalogueEntry,
    serverName: string,
    token: string,
): Promise<Answer> {
    return new Promise((resolve) => {
        const req = https.get(
            {
                host: ip,
                port: entry.port,
                path: "/metrics",
                servername: serverName,
                agent,
                headers: { authorization: `Bearer ${token}` },
            },
            (res) => {
                res.resume();
                res.on("end", () => resolve({ status: res.statusCode! }));
                res.on("error", (err) => resolve({ status: err.message }));
            },
        );
        req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
        req.on("error", (err) => resolve({ status: (err as NodeJS.ErrnoException).code ?? err.message }));
    });
}

/** Distinct, well-formed, worthless: three base64url segments, the first one a JSON object. */
function garbageToken(i: number): string {
    const b64 = (s: string) => Buffer.from(s).toString("base64url");
    return `${b64('{"alg":"RS256","kid":"flood"}')}.${b64(`{"sub":"nobody-${i}"}`)}.${b64(`sig-${i}-${Math.random()}`)}`;
}

async function apiServerTokenReviews(cluster: LocalCluster): Promise<number> {
    const metrics = await cluster.mustKubectl(["get", "--raw", "/metrics"]);
    return metrics
        .split("\n")
        .filter((l) => l.startsWith("apiserver_request_total{") && l.includes('resource="tokenreviews"'))
        .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
}

interface PortResult {
    entry: CatalogueEntry;
    statuses: Map<string, number>;
    readerScrapes: number;
    readerFailed: number;
}

interface VariantResult {
    variant: VariantName;
    tokenReviews: number;
    seconds: number;
    rssBeforeMiB: number;
    rssAfterMiB: number;
    ports: PortResult[];
}

async function flood(
    cluster: LocalCluster,
    variant: VariantName,
    ip: string,
    procs: Proc[],
    ca: string,
    serverName: string,
    readerToken: string,
    options: Options,
): Promise<VariantResult> {
    const results: PortResult[] = CATALOGUE.map((entry) => ({
        entry,
        statuses: new Map(),
        readerScrapes: 0,
        readerFailed: 0,
    }));
    const readerAgent = new https.Agent({ keepAlive: true, maxSockets: 1, ca, localAddress: READER_SOURCE });
    // A new connection per request, as a flood from many client sockets would come.
    const floodAgent = new https.Agent({ keepAlive: false, ca, localAddress: FLOOD_SOURCE, maxSockets: Infinity });
    const rssBeforeMiB = rssMiB(procs);
    const reviews0 = await apiServerTokenReviews(cluster);
    const started = Date.now();
    let stop = false;
    const readers = results.map(async (r) => {
        while (!stop) {
            const tick = Date.now();
            const answer = await get(readerAgent, ip, r.entry, serverName, readerToken);
            r.readerScrapes++;
            if (answer.status !== 200) {
                r.readerFailed++;
            }
            await sleep(Math.max(0, tick + SCRAPE_EVERY_MS - Date.now()));
        }
    });
    const floods = results.flatMap((r) => {
        let sent = 0;
        return Array.from({ length: options.concurrency }, async () => {
            while (sent < options.tokens) {
                const answer = await get(floodAgent, ip, r.entry, serverName, garbageToken(sent++));
                const key = String(answer.status);
                r.statuses.set(key, (r.statuses.get(key) ?? 0) + 1);
            }
        });
    });
    await Promise.all(floods);
    const seconds = (Date.now() - started) / 1000;
    // Let the reader scrape a few more times after the flood, then read what it cost.
    await sleep(3000);
    stop = true;
    await Promise.all(readers);
    readerAgent.destroy();
    const rssAfterMiB = rssMiB(procs);
    await sleep(1000);
    const tokenReviews = (await apiServerTokenReviews(cluster)) - reviews0;
    return { variant, tokenReviews, seconds, rssBeforeMiB, rssAfterMiB, ports: results };
}

// ---- the cluster ---------------------------------------------------------------------------------

async function prepareCluster(
    cluster: LocalCluster,
    dir: string,
): Promise<{ readerToken: string; gateKubeconfig: string }> {
    await cluster.createDefaultReaders();
    const manifest = {
        apiVersion: "v1",
        kind: "List",
        items: [
            { apiVersion: "v1", kind: "Namespace", metadata: { name: GATE.namespace } },
            { apiVersion: "v1", kind: "ServiceAccount", metadata: GATE },
            {
                apiVersion: "rbac.authorization.k8s.io/v1",
                kind: "ClusterRoleBinding",
                metadata: { name: "eksa-metrics-bench-gate" },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:auth-delegator" },
                subjects: [{ kind: "ServiceAccount", ...GATE }],
            },
            {
                apiVersion: "rbac.authorization.k8s.io/v1",
                kind: "ClusterRole",
                metadata: { name: "eksa-metrics-bench-reader" },
                rules: [{ nonResourceURLs: ["/metrics"], verbs: ["get"] }],
            },
            {
                apiVersion: "rbac.authorization.k8s.io/v1",
                kind: "ClusterRoleBinding",
                metadata: { name: "eksa-metrics-bench-reader" },
                roleRef: {
                    apiGroup: "rbac.authorization.k8s.io",
                    kind: "ClusterRole",
                    name: "eksa-metrics-bench-reader",
                },
                subjects: [{ kind: "ServiceAccount", ...READER }],
            },
        ],
    };
    await cluster.mustKubectl(["apply", "-f", "-"], JSON.stringify(manifest));
    const token = async (sa: { namespace: string; name: string }) =>
        (await cluster.mustKubectl(["create", "token", sa.name, "-n", sa.namespace, "--duration=2h"])).trim();
    const admin = JSON.parse(await cluster.mustKubectl(["config", "view", "--raw", "-o", "json"]));
    const gateKubeconfig = path.join(dir, "gate.kubeconfig");
    fs.writeFileSync(
        gateKubeconfig,
        JSON.stringify({
            apiVersion: "v1",
            kind: "Config",
            clusters: [{ name: "c", cluster: admin.clusters[0].cluster }],
            users: [{ name: "gate", user: { token: await token(GATE) } }],
            contexts: [{ name: "c", context: { cluster: "c", user: "gate" } }],
            "current-context": "c",
        }),
    );
    return { readerToken: await token(READER), gateKubeconfig };
}

// ---- report --------------------------------------------------------------------------------------

function report(results: VariantResult[], options: Options): string {
    const rows: string[][] = [];
    for (const r of results) {
        for (const p of r.ports) {
            const answers = [...p.statuses]
                .sort()
                .map(([status, n]) => `${status}: ${n}`)
                .join(", ");
            rows.push([
                r.variant,
                p.entry.name,
                String(options.tokens),
                answers,
                `${p.readerFailed}/${p.readerScrapes}`,
            ]);
        }
    }
    const perPort = table(["proxy", "port of", "garbage tokens", "the flood's answers", "reader failed/scrapes"], rows);
    const totals = table(
        ["proxy", "TokenReviews caused", "flood took s", "proxy RSS before MiB", "after MiB", "reader failed/scrapes"],
        results.map((r) => [
            r.variant,
            String(r.tokenReviews),
            fixed(r.seconds, 1),
            fixed(r.rssBeforeMiB, 1),
            fixed(r.rssAfterMiB, 1),
            `${r.ports.reduce((a, p) => a + p.readerFailed, 0)}/${r.ports.reduce((a, p) => a + p.readerScrapes, 0)}`,
        ]),
    );
    return `${totals}\n\n${perPort}`;
}

async function main(): Promise<void> {
    const options = parseOptions(process.argv.slice(2));
    const cluster = new LocalCluster();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eksa-auth-flood-"));
    const procs: Proc[] = [];
    try {
        log("bringing the local control plane up");
        await cluster.up();
        const { readerToken, gateKubeconfig } = await prepareCluster(cluster, dir);
        const settings = resolveSettings({});
        const issued = await issueProxyCertificate({ serverName: settings.tlsServerName, validityDays: 2 });
        fs.writeFileSync(path.join(dir, "tls.crt"), issued.certificate);
        fs.writeFileSync(path.join(dir, "tls.key"), issued.privateKey);
        fs.writeFileSync(path.join(dir, HAPROXY_PEM_FILE), issued.certificate + issued.privateKey);
        const results: VariantResult[] = [];
        const started: Record<string, Proc[]> = {};
        for (const v of VARIANTS) {
            const proxy = await startProxy(v.name, v.ip, dir, gateKubeconfig);
            started[v.name] = proxy.procs;
            procs.push(...proxy.procs);
        }
        // Warm: one good scrape of each port through each proxy.
        for (const v of VARIANTS) {
            for (const entry of CATALOGUE) {
                const agent = new https.Agent({ ca: issued.caCertificate, localAddress: READER_SOURCE });
                const answer = await get(agent, v.ip, entry, settings.tlsServerName, readerToken);
                if (answer.status !== 200) {
                    throw new Error(`${v.name} ${entry.name}: a reader's scrape got ${answer.status}`);
                }
            }
        }
        for (const v of VARIANTS) {
            log(
                `${v.name}: ${options.tokens} garbage tokens per port from ${FLOOD_SOURCE}, a reader on ${READER_SOURCE}`,
            );
            results.push(
                await flood(
                    cluster,
                    v.name,
                    v.ip,
                    started[v.name],
                    issued.caCertificate,
                    settings.tlsServerName,
                    readerToken,
                    options,
                ),
            );
        }
        console.log(
            `\nauthFlood: ${options.tokens} distinct garbage JWT-shaped tokens per port (${options.concurrency} at a time per port, ` +
                `a new connection each) from ${FLOOD_SOURCE}, while a reader on ${READER_SOURCE} scrapes every port once a second ` +
                `(keep-alive). AFTER's limit: ${DEFAULT_AUTH_FAILURE_LIMIT.failures} failed authentications per source per ` +
                `${DEFAULT_AUTH_FAILURE_LIMIT.periodSeconds} s. Machine: ${os.cpus().length} CPUs, load average ${os
                    .loadavg()
                    .map((l) => l.toFixed(1))
                    .join(" ")}\n`,
        );
        console.log(report(results, options));
        console.log(`\nupstreams: ${CATALOGUE.map((e) => `${e.name} ${upstreamUrl(e)}`).join(", ")}`);
    } finally {
        for (const p of procs) {
            p.child.kill("SIGTERM");
        }
        log("tearing the local control plane down");
        await cluster.down().catch((err) => log(`teardown failed: ${err.message}`));
    }
}

main().catch((err: Error) => {
    log(err.stack ?? err.message);
    process.exitCode = 1;
});
