/**
 * Day two with the real Prometheus (5 s interval) holding the CA file of before each event, as a user
 * outside the cluster runs it: through a serving renewal, each step of a CA rotation (re-reading the
 * published bundle into its CA file within the overlap, as a user's Prometheus would) and a haproxy
 * config rollout, every target's `up` stays 1 (no 0 sample) and no alert of the stack goes pending.
 *
 * The stack's clock is the test clock (EKSA_METRICS_TEST_NOW, as test/e2e/certificateRenewal.spec.ts
 * drives it), so certificates are dated months ahead. Prometheus is therefore the test build
 * `prometheus-test-tls-clock` (dev/toolchain/setup.sh prometheus): the same Prometheus, whose scrapes
 * verify the targets' certificates at the real time moved by an offset this test writes to a file
 * before each `up`; scraping itself, discovery, rules and storage keep the real clock. A second scraper of the same target that
 * never re-reads its CA file shows that the test can fail: it loses the target when the proxies move.
 */
import { strict as assert } from "assert";
import { ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalCluster, ProgramStack, Result } from "../../dev/localcluster/driver";
import {
    eventually,
    instantQuery,
    outsideTheCluster,
    prometheusApi,
    startPrometheus,
} from "../../dev/localcluster/prometheus";
import { renewalPeriodDays, TEST_CLOCK_ENV } from "../../components/tlsSchedule";
import { DEFAULT_READERS } from "../../config/settings";
import { PROXY_APP_LABEL } from "../../core/labels";

const API = "http://127.0.0.1:9090";
const SCRAPE_SECONDS = 5;
const TARGETS = 5;
const VALIDITY_DAYS = 30;
const CA_VALIDITY_DAYS = 810;
const DAY = 24 * 3600 * 1000;
const PERIOD = renewalPeriodDays(VALIDITY_DAYS) * DAY;
// A period boundary after today, so every up's time is in a known period.
const BASE = (Math.floor(Date.now() / PERIOD) + 1) * PERIOD;
const day = (n: number) => BASE + n * DAY;
/** The job whose copy never re-reads its CA file. */
const STALE_JOB = "kube-scheduler";

const text = (r: Result) => `${r.stdout}\n${r.stderr}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const instant = (promql: string) => instantQuery(API, promql);

interface DayTwoEvent {
    name: string;
    day: number;
    config?: Record<string, unknown>;
    /** Write caCertificate to Prometheus' CA file after this event's up, as a user re-reads it. */
    reReadBundle?: boolean;
}

describe("day two with the real Prometheus (test build prometheus-test-tls-clock: its TLS clock is the test clock)", function () {
    this.timeout(30 * 60_000);
    const cluster = new LocalCluster();
    const stack = new ProgramStack("prometheus-day-two");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eksa-prometheus-day-two-"));
    const files = {
        kubeconfig: cluster.kubeconfigFile,
        ca: path.join(dir, "ca.crt"),
        staleCa: path.join(dir, "stale-ca.crt"),
        token: path.join(dir, "reader.token"),
        clockOffset: path.join(dir, "tls-clock-offset-ms"),
        rules: path.join(dir, "alertRules.yaml"),
    };
    const baseConfig = {
        tls: { validityDays: VALIDITY_DAYS, caValidityDays: CA_VALIDITY_DAYS },
        // The verification's curl checks dates at the real clock, which these certificates are ahead of.
        verify: { enabled: false },
    };
    let prometheus: ChildProcess | undefined;
    /** [name, start, end] of each event, in Unix seconds, for the report of a failure. */
    const timeline: [string, number, number][] = [];
    let watchedFrom = 0;

    /** The proxy pods' names (not those terminating), to show that an event replaced them all. */
    async function proxyPods(): Promise<string[]> {
        const list = JSON.parse(
            await cluster.mustKubectl([
                ...["get", "pods", "-n", "eksa-metrics", "-l", `app.kubernetes.io/name=${PROXY_APP_LABEL}`],
                ...["-o", "json"],
            ]),
        ) as { items: { metadata: { name: string; deletionTimestamp?: string } }[] };
        return list.items
            .filter((pod) => pod.metadata.deletionTimestamp === undefined)
            .map((pod) => pod.metadata.name)
            .sort();
    }

    /** Moves Prometheus' TLS clock to test-clock day `n` (from now on, running) and runs `up` at that day. */
    async function upAt(n: number, config: Record<string, unknown> = {}): Promise<void> {
        fs.writeFileSync(files.clockOffset, `${day(n) - Date.now()}\n`);
        stack.env[TEST_CLOCK_ENV] = new Date(day(n)).toISOString();
        stack.setConfig({ ...baseConfig, ...config });
        const up = await stack.up();
        assert.equal(up.code, 0, text(up));
    }

    before(async function () {
        assert.ok(
            process.env.EKSA_METRICS_SANDBOX === "1" && process.getuid?.() === 0,
            "run as root inside test/sandbox.sh",
        );
        await cluster.up();
        await cluster.createDefaultReaders();
        const reader = DEFAULT_READERS.find((r) => r.kind === "ServiceAccount");
        assert.ok(reader?.namespace, "a default reader is a service account");
        fs.writeFileSync(
            files.token,
            await cluster.mustKubectl(["create", "token", reader.name, "-n", reader.namespace, "--duration=2h"]),
            { mode: 0o600 },
        );
        await stack.init(cluster.kubeconfig(), baseConfig);
        // Day 541 is the renewal period before the CA has lived two thirds of its 810 days.
        await upAt(1);
        await upAt(541);
        const ca = await stack.output("caCertificate");
        fs.writeFileSync(files.ca, ca);
        fs.writeFileSync(files.staleCa, ca);
        fs.writeFileSync(files.rules, await stack.output("alertRules"));
        const jobs = outsideTheCluster(await stack.output("scrapeConfig"), files);
        const stale = jobs.find((j) => j.job_name === STALE_JOB)!;
        prometheus = await startPrometheus(
            dir,
            {
                global: { scrape_interval: `${SCRAPE_SECONDS}s`, scrape_timeout: "5s", evaluation_interval: "1s" },
                rule_files: [files.rules],
                scrape_configs: [
                    ...jobs,
                    {
                        ...stale,
                        job_name: "never-re-reads-its-ca",
                        tls_config: { ...stale.tls_config, ca_file: files.staleCa },
                    },
                ],
            },
            "127.0.0.1:9090",
            {
                binary: "prometheus-test-tls-clock",
                env: { ...process.env, EKSA_METRICS_TEST_TLS_CLOCK_OFFSET_FILE: files.clockOffset },
            },
        );
        await eventually(90, async () => {
            const up = await instant('up{job!="never-re-reads-its-ca"} == 1');
            assert.equal(up.length, TARGETS, JSON.stringify(await prometheusApi(API, "/api/v1/targets?state=active")));
        });
        // Two whole scrape intervals up before the first event.
        await sleep(2 * SCRAPE_SECONDS * 1000);
        watchedFrom = Date.now() / 1000;
    });

    after(async () => {
        prometheus?.kill("SIGTERM");
        await stack.destroy().catch(() => undefined);
        await cluster.down();
    });

    const events: DayTwoEvent[] = [
        {
            name: "day 561: the bundle is published (old CA first), a serving renewal by the old CA",
            day: 561,
            reReadBundle: true,
        },
        { name: "day 581: a serving renewal in the overlap", day: 581 },
        { name: "day 601: the proxies move to the new CA", day: 601 },
        { name: "day 621: the old CA leaves the bundle", day: 621 },
        {
            name: "day 621: a haproxy config rollout (serverTimeoutSeconds 30 -> 31)",
            day: 621,
            config: { serverTimeoutSeconds: 31 },
        },
    ];
    for (const event of events) {
        it(`${event.name}: every proxy pod is replaced`, async () => {
            const before = await proxyPods();
            const start = Date.now() / 1000;
            await upAt(event.day, event.config);
            const after = await proxyPods();
            assert.equal(after.length, before.length, `pods before: ${before.join(", ")}; after: ${after.join(", ")}`);
            assert.deepEqual(
                after.filter((pod) => before.includes(pod)),
                [],
                `pods the event did not replace (before: ${before.join(", ")})`,
            );
            if (event.reReadBundle) {
                fs.writeFileSync(files.ca, await stack.output("caCertificate"));
            }
            // Scrapes of the new pods before the next event.
            await sleep(3 * SCRAPE_SECONDS * 1000);
            timeline.push([event.name, start, Date.now() / 1000]);
        });
    }

    it("every target's up stayed 1 through every event, with a sample every interval", async () => {
        const window = `${Math.ceil(Date.now() / 1000 - watchedFrom)}s`;
        const seen = await instant(`count_over_time(up{job!="never-re-reads-its-ca"}[${window}])`);
        assert.equal(seen.length, TARGETS, JSON.stringify(seen));
        const expected = Math.floor(parseInt(window, 10) / SCRAPE_SECONDS);
        for (const series of seen) {
            assert.ok(
                Number(series.value[1]) >= expected - 2,
                `${series.metric.job} on ${series.metric.node}: ${series.value[1]} samples in ${window}, ${expected} intervals`,
            );
        }
        const zeros = await instant(`min_over_time(up{job!="never-re-reads-its-ca"}[${window}]) < 1`);
        const during = async (job: string, node: string) => {
            const range = await prometheusApi(
                API,
                `/api/v1/query_range?query=${encodeURIComponent(`up{job="${job}",node="${node}"} == 0`)}&start=${watchedFrom}&end=${Date.now() / 1000}&step=1`,
            );
            const at = (range.result[0]?.values ?? []).map(([t]: [number]) => t);
            return timeline.filter(([, s, e]) => at.some((t: number) => t >= s && t <= e)).map(([name]) => name);
        };
        const failures = await Promise.all(
            zeros.map(
                async (z) =>
                    `${z.metric.job} on ${z.metric.node}: during ${(await during(z.metric.job, z.metric.node)).join("; ")}`,
            ),
        );
        assert.deepEqual(failures, [], "targets with a failed scrape");
        console.log(
            `      ${seen.map((x) => `${x.metric.job}@${x.metric.node} ${x.value[1]}`).join(", ")} samples, none 0, over ${window} and ${timeline.length} events`,
        );
    });

    it("no alert of the stack went pending or fired", async () => {
        const window = `${Math.ceil(Date.now() / 1000 - watchedFrom)}s`;
        const alerts = await instant(`count_over_time(ALERTS{alertname=~"EksaMetrics.*"}[${window}])`);
        assert.deepEqual(
            alerts.map((a) => `${a.metric.alertname} ${a.metric.alertstate} ${a.metric.node ?? ""}`),
            [],
        );
    });

    it("can fail: the scraper that never re-read its CA file lost the target when the proxies moved", async () => {
        const targets = (await prometheusApi(API, "/api/v1/targets?state=active")).activeTargets as {
            labels: Record<string, string>;
            health: string;
            lastError: string;
        }[];
        const stale = targets.find((t) => t.labels.job === "never-re-reads-its-ca");
        assert.equal(stale?.health, "down");
        assert.match(stale.lastError, /certificate signed by unknown authority/);
    });
});
