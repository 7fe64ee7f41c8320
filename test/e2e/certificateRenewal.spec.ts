/**
 * Certificate renewals through the real engine on the local control plane: the project's program, the
 * real kubernetes provider, the certificate command run by the command provider, the proxy pods' real
 * haproxy and kube-rbac-proxy. The clock moves through EKSA_METRICS_TEST_NOW (the test clock the README
 * documents for tests only), with short validities (serving 30 days: 20-day periods; CA 810 days, the
 * schema's least: replaced from day 540, by the first up of the period that begins on day 560): a serving
 * renewal keeps caCertificate; a CA replacement publishes the bundle (day 561), keeps the proxies on the
 * old CA for the overlap (581), moves them to the new CA (601), then drops the old CA (621); one stack and
 * one control plane for all. Each up's forecast (log line and tlsRenewal) must name what the next one does.
 *
 * Certificates dated in the future fail a client's date check against the real clock, so the stack's
 * verification is off; this test checks the chain itself (the certificate every listener serves is
 * signed by a CA of the published bundle), and scrapes as a scraper would: curl with the CA file it held
 * from the step before and a reader's token, run under faketime at the test clock's time.
 */
import { strict as assert } from "assert";
import { X509Certificate } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as tls from "tls";
import { certificatesOf } from "../../dev/bench/lib/testClockTls";
import { commandProvider, LocalCluster, ProgramStack, Result, run } from "../../dev/localcluster/driver";
import { describeForecast, TEST_CLOCK_ENV, TlsForecast, TlsPhase } from "../../components/tlsSchedule";
import { CATALOGUE, componentsFor, NodeRole } from "../../core/catalogue";
import { DEFAULT_READERS } from "../../config/settings";

const DAY = 24 * 3600 * 1000;
const PERIOD = 20 * DAY;
const CA_VALIDITY_DAYS = 810;
// A period boundary after today, so every run's time is in a known period.
const BASE = (Math.floor(Date.now() / PERIOD) + 1) * PERIOD;
const day = (n: number) => new Date(BASE + n * DAY).toISOString();
const SERVER_NAME = "eksa-metrics-metrics-proxy";
const NODES: [NodeRole, string][] = [
    ["control-plane", "127.0.0.2"],
    ["worker", "127.0.0.3"],
];
/** Every listener of the proxy pods: haproxy fronts the components that check tokens, kube-rbac-proxy the others. */
const LISTENERS = NODES.flatMap(([role, host]) =>
    componentsFor(role, CATALOGUE).map((entry) => ({
        host,
        port: entry.port,
        name: `${entry.authenticator === "upstream" ? "haproxy" : "kube-rbac-proxy"} for ${entry.name} on the ${role} node (${host}:${entry.port})`,
    })),
);
type Listener = (typeof LISTENERS)[number];

const text = (r: Result) => `${r.stdout}\n${r.stderr}`;

/** The certificate a listener serves, dates not checked (they are the test clock's). */
function served(listener: Listener): Promise<X509Certificate> {
    return new Promise((resolve, reject) => {
        const socket = tls.connect(
            { host: listener.host, port: listener.port, servername: SERVER_NAME, rejectUnauthorized: false },
            () => {
                const certificate = socket.getPeerX509Certificate();
                socket.end();
                if (certificate) {
                    resolve(certificate);
                } else {
                    reject(new Error(`${listener.name} served no certificate`));
                }
            },
        );
        socket.on("error", reject);
    });
}

/** What one up did to the CAs, in the forecast's words. */
function caStepTaken(before: Step, after: Step): string | undefined {
    if (after.bundle.length > before.bundle.length) {
        return "publishes a bundle with a new CA";
    }
    if (after.bundle.length < before.bundle.length) {
        return "drops the old CA from the bundle";
    }
    return after.signer.fingerprint256 !== before.signer.fingerprint256 ? "moves the proxies to the new CA" : undefined;
}

interface Step {
    day: number;
    /** caCertificate: the bundle a scraper reads. */
    pem: string;
    bundle: X509Certificate[];
    /** The certificate every listener serves, and the CA of the bundle that signed it. */
    leaf: X509Certificate;
    signer: X509Certificate;
    renewal: TlsForecast;
}

describe(`certificate renewals through the real engine (command provider: ${commandProvider().kind})`, function () {
    this.timeout(1_800_000);
    const cluster = new LocalCluster();
    const stack = new ProgramStack("renewals");
    let readerToken = "";

    /** `pulumi up` at test-clock day `n`; checks that every listener serves the one certificate, signed by the bundle. */
    async function upAt(n: number): Promise<Step & { out: string }> {
        stack.env[TEST_CLOCK_ENV] = day(n);
        const up = await stack.up();
        assert.equal(up.code, 0, text(up));
        const pem = await stack.mustPulumi(["stack", "output", "caCertificate"]);
        const bundle = certificatesOf(pem);
        const leaves = await Promise.all(LISTENERS.map(served));
        const leaf = leaves[0];
        for (const [i, other] of leaves.entries()) {
            assert.equal(other.fingerprint256, leaf.fingerprint256, `${LISTENERS[i].name} serves another certificate`);
        }
        const signer = bundle.find((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey));
        assert.ok(signer, "the served certificate is signed by no CA of caCertificate");
        const renewal = (await stack.output("tlsRenewal")) as TlsForecast;
        // The log line is the output's forecast.
        assert.ok(
            up.stdout.includes(describeForecast(renewal)),
            `no line "${describeForecast(renewal)}" in\n${up.stdout}`,
        );
        return { day: n, pem, bundle, leaf, signer, renewal, out: up.stdout };
    }

    /** What the stack forecasts after an up at day `n` with the serving certificate issued then. */
    function forecastAt(n: number, phase: TlsPhase, signerIssuedOn: number, caStep?: string): TlsForecast {
        return {
            phase,
            servingCertificate: { notAfter: day(n + 30), expiresInDays: 30 },
            ca: {
                notAfter: day(signerIssuedOn + CA_VALIDITY_DAYS),
                expiresInDays: signerIssuedOn + CA_VALIDITY_DAYS - n,
            },
            nextRenewal: { at: day(n + 19), inDays: 19, ...(caStep ? { caStep } : {}) },
        };
    }

    /** A scrape of `listener` by a scraper holding `caPem`, with a reader's token, at test-clock day `n`. */
    function scrape(listener: Listener, caPem: string, n: number): Promise<Result> {
        const caFile = path.join(stack.dir, `scraper-ca-${n}-${listener.port}.pem`);
        fs.writeFileSync(caFile, caPem);
        const at = `@${Math.floor(Date.parse(day(n)) / 1000)}`;
        return run([
            ...["faketime", at, "curl", "--silent", "--show-error", "--max-time", "10"],
            ...["--cacert", caFile, "--resolve", `${SERVER_NAME}:${listener.port}:${listener.host}`],
            ...["--header", `Authorization: Bearer ${readerToken}`, "--output", "/dev/null"],
            ...["--write-out", "%{http_code}", `https://${SERVER_NAME}:${listener.port}/metrics`],
        ]);
    }

    async function scrapedWith(caPem: string, n: number): Promise<void> {
        for (const listener of LISTENERS) {
            const result = await scrape(listener, caPem, n);
            assert.equal(result.code, 0, `${listener.name}: ${text(result)}`);
            assert.equal(result.stdout, "200", `${listener.name}: ${text(result)}`);
        }
    }

    /** A preview later in the period of day `n` changes nothing and logs the same forecast, one day before. */
    async function unchangedUntilPeriodEnd(n: number, after: TlsForecast): Promise<void> {
        stack.env[TEST_CLOCK_ENV] = day(n + 18);
        const preview = await stack.preview("--expect-no-changes");
        assert.equal(preview.code, 0, text(preview));
        const later: TlsForecast = {
            ...after,
            servingCertificate: {
                ...after.servingCertificate,
                expiresInDays: after.servingCertificate.expiresInDays - 18,
            },
            ca: { ...after.ca, expiresInDays: after.ca.expiresInDays - 18 },
            nextRenewal: { ...after.nextRenewal, inDays: 1 },
        };
        assert.ok(
            preview.stdout.includes(describeForecast(later)),
            `no "${describeForecast(later)}" in\n${preview.stdout}`,
        );
    }

    /** The up at day `n` after `before`: it took the CA step that `before`'s forecast named, at the time it named. */
    async function nextStep(before: Step, n: number, caStep: string | undefined): Promise<Step> {
        const after = await upAt(n);
        assert.equal(before.renewal.nextRenewal.at, day(n - 1), "the forecast named this period");
        assert.equal(caStepTaken(before, after), before.renewal.nextRenewal.caStep, "the forecast named this CA step");
        assert.equal(caStepTaken(before, after), caStep);
        assert.notEqual(after.leaf.fingerprint256, before.leaf.fingerprint256, "the serving certificate is renewed");
        // A scraper that read caCertificate at the step before keeps every scrape.
        await scrapedWith(before.pem, n);
        return after;
    }

    before(async () => {
        await cluster.up();
        await cluster.createDefaultReaders();
        const reader = DEFAULT_READERS.find((r) => r.kind === "ServiceAccount");
        assert.ok(reader?.namespace, "a default reader is a service account");
        readerToken = (
            await cluster.mustKubectl(["create", "token", reader.name, "-n", reader.namespace, "--duration=2h"])
        ).trim();
        await stack.init(cluster.kubeconfig(), {
            tls: { validityDays: 30, caValidityDays: CA_VALIDITY_DAYS },
            verify: { enabled: false },
        });
    });

    after(async () => {
        await stack.destroy().catch(() => undefined);
        await cluster.down();
    });

    let first: Step & { out: string };
    let renewed: Step;

    it("issues a CA and a serving certificate; the log line and tlsRenewal say when the next up renews", async () => {
        first = await upAt(1);
        assert.equal(first.bundle.length, 1);
        assert.match(
            first.out,
            new RegExp(
                `proxy TLS: the serving certificate expires ${day(31).slice(0, 10)} \\(in 30 days\\), the CA ${day(811).slice(0, 10)} \\(in 810 days; single CA\\); the first pulumi up from ${day(20).slice(0, 10)} \\(in 19 days\\) renews the serving certificate and leaves the CA`,
            ),
        );
        assert.deepEqual(first.renewal, forecastAt(1, "single CA", 1));
        await scrapedWith(first.pem, 1);
        // The keys stay in the state, encrypted: not in the outputs, not in plain text in the export.
        const everything =
            (await stack.mustPulumi(["stack", "output", "--json"])) + (await stack.mustPulumi(["stack", "export"]));
        assert.doesNotMatch(everything, /PRIVATE KEY/);
    });

    it("changes nothing within the period: preview --expect-no-changes, with the same forecast", async () => {
        await unchangedUntilPeriodEnd(1, first.renewal);
    });

    it("renews the serving certificate in the next period with the same CA: caCertificate does not change", async () => {
        renewed = await nextStep(first, 21, undefined);
        assert.equal(renewed.pem, first.pem);
        assert.equal(renewed.signer.fingerprint256, first.bundle[0].fingerprint256);
    });

    describe("a CA replacement: bundle, overlap, move, drop, each step forecast by the up before", () => {
        const steps: Step[] = [];
        const last = () => steps[steps.length - 1];

        it("day 541, the period before the CA's two thirds: a serving renewal that forecasts the bundle", async () => {
            // Not named by day 21's forecast (it names day 40): the clock jumps here.
            const step = await upAt(541);
            assert.equal(step.pem, first.pem);
            assert.notEqual(
                step.leaf.fingerprint256,
                renewed.leaf.fingerprint256,
                "the serving certificate is renewed",
            );
            assert.equal(step.signer.fingerprint256, first.bundle[0].fingerprint256);
            await scrapedWith(renewed.pem, 541);
            assert.deepEqual(step.renewal, forecastAt(541, "single CA", 1, "publishes a bundle with a new CA"));
            steps.push(step);
        });

        it("day 561: publishes the bundle, old CA first; the proxies keep a certificate of the old CA", async () => {
            const step = await nextStep(last(), 561, "publishes a bundle with a new CA");
            assert.deepEqual(
                step.bundle.slice(0, 1).map((ca) => ca.fingerprint256),
                [first.bundle[0].fingerprint256],
            );
            assert.equal(step.bundle.length, 2);
            assert.equal(step.signer.fingerprint256, first.bundle[0].fingerprint256);
            assert.deepEqual(step.renewal, forecastAt(561, "bundle published", 1));
            steps.push(step);
            await unchangedUntilPeriodEnd(561, step.renewal);
        });

        it("day 581, the overlap: the bundle stays, the old CA still signs", async () => {
            const step = await nextStep(last(), 581, undefined);
            assert.equal(step.pem, steps[1].pem);
            assert.equal(step.signer.fingerprint256, first.bundle[0].fingerprint256);
            assert.deepEqual(step.renewal, forecastAt(581, "bundle published", 1, "moves the proxies to the new CA"));
            steps.push(step);
            await unchangedUntilPeriodEnd(581, step.renewal);
        });

        it("day 601: the proxies move to the new CA, the bundle unchanged; the old CA alone no longer does", async () => {
            const step = await nextStep(last(), 601, "moves the proxies to the new CA");
            assert.equal(step.pem, steps[1].pem);
            assert.equal(step.signer.fingerprint256, steps[1].bundle[1].fingerprint256);
            assert.deepEqual(
                step.renewal,
                forecastAt(601, "moved to the new CA", 561, "drops the old CA from the bundle"),
            );
            // A scraper that never re-read the bundle (it holds the old CA alone) now fails: the move is real.
            const stale = await scrape(LISTENERS[0], first.pem, 601);
            assert.notEqual(stale.code, 0, text(stale));
            assert.match(stale.stderr, /SSL certificate problem/);
            steps.push(step);
            await unchangedUntilPeriodEnd(601, step.renewal);
        });

        it("day 621: the old CA leaves the bundle, after the move", async () => {
            const step = await nextStep(last(), 621, "drops the old CA from the bundle");
            assert.deepEqual(
                step.bundle.map((ca) => ca.fingerprint256),
                [steps[1].bundle[1].fingerprint256],
            );
            assert.equal(step.signer.fingerprint256, steps[1].bundle[1].fingerprint256);
            assert.deepEqual(step.renewal, forecastAt(621, "single CA", 561));
            await unchangedUntilPeriodEnd(621, step.renewal);
        });
    });
});
