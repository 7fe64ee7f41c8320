/**
 * Benchmark (not a test): Prometheus' own `scrape_duration_seconds` through the eksa-metrics proxy
 * versus a direct scrape of the component, in the same Prometheus and the same run. On a local
 * control plane with the stack deployed by the real engine, one Prometheus scrapes the stack's
 * `scrapeConfig` jobs (outside the cluster: README's delta) and, beside them, each control-plane
 * component straight on 127.0.0.1 (with the reader's token where the component checks one). Prometheus
 * asks for gzip itself. Prints the median, p90 and mean per path and the proxied/direct ratios.
 *
 *   bash dev/bench/run.sh promScrape [--seconds 120] [--interval 1]
 */
import { ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CatalogueEntry, catalogueEntry, ComponentName } from "../../core/catalogue";
import { eventually, instantQuery, outsideTheCluster, startPrometheus } from "../localcluster/prometheus";
import { LocalCluster, ProgramStack } from "../localcluster/driver";
import { fixed, table } from "./lib/stats";

/** The components that listen on the control-plane host's 127.0.0.1 here (kube-proxy runs in a node's own namespace). */
const BENCHED: readonly ComponentName[] = ["kube-controller-manager", "kube-scheduler", "etcd"];
const API = "http://127.0.0.1:9090";

function option(name: string, fallback: number): number {
    const i = process.argv.indexOf(`--${name}`);
    const value = i < 0 ? fallback : Number(process.argv[i + 1]);
    if (!Number.isInteger(value) || value < 1) {
        throw new Error(`--${name} must be a positive integer`);
    }
    return value;
}

/** The component on 127.0.0.1, as the proxy reaches it: its own serving certificate is self-signed. */
function directJob(entry: CatalogueEntry, tokenFile: string) {
    return {
        job_name: `direct-${entry.name}`,
        scheme: entry.upstreamScheme,
        static_configs: [{ targets: [`127.0.0.1:${entry.port}`] }],
        ...(entry.upstreamScheme === "https" ? { tls_config: { insecure_skip_verify: true } } : {}),
        ...(entry.authenticator === "upstream" ? { authorization: { credentials_file: tokenFile } } : {}),
    };
}

async function main(): Promise<void> {
    const seconds = option("seconds", 120);
    const interval = option("interval", 1);
    const cluster = new LocalCluster();
    const stack = new ProgramStack("prom-bench");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eksa-prom-bench-"));
    let prometheus: ChildProcess | undefined;
    try {
        await cluster.up();
        await cluster.createDefaultReaders();
        await stack.init(cluster.kubeconfig(), { components: { "kube-proxy": false } });
        const up = await stack.up();
        if (up.code !== 0) {
            throw new Error(`pulumi up failed:\n${up.stdout}\n${up.stderr}`);
        }
        const files = {
            kubeconfig: cluster.kubeconfigFile,
            ca: path.join(dir, "ca.crt"),
            token: path.join(dir, "reader.token"),
        };
        fs.writeFileSync(files.ca, await stack.output("caCertificate"));
        fs.writeFileSync(
            files.token,
            await cluster.mustKubectl(["create", "token", "prometheus-server", "-n", "observability", "--duration=1h"]),
            { mode: 0o600 },
        );
        const entries = BENCHED.map(catalogueEntry);
        prometheus = await startPrometheus(
            dir,
            {
                global: { scrape_interval: `${interval}s`, scrape_timeout: `${interval}s` },
                scrape_configs: [
                    ...outsideTheCluster(await stack.output("scrapeConfig"), files),
                    ...entries.map((e) => directJob(e, files.token)),
                ],
            },
            "127.0.0.1:9090",
        );
        await eventually(60, async () => {
            const up = await instantQuery(API, "up == 1");
            if (up.length < 2 * entries.length) {
                throw new Error(`${up.length} of ${2 * entries.length} targets up`);
            }
        });
        process.stderr.write(`[bench] scraping every ${interval}s for ${seconds}s\n`);
        await new Promise((r) => setTimeout(r, seconds * 1000));

        const window = `${seconds}s`;
        const value = async (promql: string) => Number((await instantQuery(API, promql))[0]?.value[1] ?? NaN);
        const rows: string[][] = [];
        for (const entry of entries) {
            const stat = async (job: string) => ({
                p50: (await value(`quantile_over_time(0.5, scrape_duration_seconds{job="${job}"}[${window}])`)) * 1000,
                p90: (await value(`quantile_over_time(0.9, scrape_duration_seconds{job="${job}"}[${window}])`)) * 1000,
                mean: (await value(`avg_over_time(scrape_duration_seconds{job="${job}"}[${window}])`)) * 1000,
                samples: await value(`count_over_time(scrape_duration_seconds{job="${job}"}[${window}])`),
                failed: (await value(`count_over_time((up{job="${job}"} == 0)[${window}:])`)) || 0,
            });
            const proxied = await stat(entry.name);
            const direct = await stat(`direct-${entry.name}`);
            rows.push([
                entry.name,
                fixed(direct.p50, 2),
                fixed(proxied.p50, 2),
                `${fixed(proxied.p50 / direct.p50, 2)}x`,
                fixed(direct.p90, 2),
                fixed(proxied.p90, 2),
                `${fixed(proxied.p90 / direct.p90, 2)}x`,
                fixed(direct.mean, 2),
                fixed(proxied.mean, 2),
                `${fixed(proxied.mean / direct.mean, 2)}x`,
                `${direct.samples}/${proxied.samples}`,
                `${direct.failed}/${proxied.failed}`,
            ]);
        }
        console.log(
            `Prometheus scrape_duration_seconds, ${seconds}s at ${interval}s, gzip as Prometheus asks (ms; direct vs through the proxy)`,
        );
        console.log(
            table(
                [
                    "component",
                    "direct p50",
                    "proxied p50",
                    "ratio",
                    "direct p90",
                    "proxied p90",
                    "ratio",
                    "direct mean",
                    "proxied mean",
                    "ratio",
                    "samples d/p",
                    "failed d/p",
                ],
                rows,
            ),
        );
    } finally {
        prometheus?.kill();
        await stack.destroy().catch(() => undefined);
        await cluster.down();
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
