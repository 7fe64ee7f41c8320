/**
 * Certificate renewals through the real engine on the local control plane: the project's program, the
 * real kubernetes provider, the certificate command run by the command provider, the proxy pods' real
 * haproxy and kube-rbac-proxy. The clock moves through EKSA_METRICS_TEST_NOW (the test clock the README
 * documents for tests only), with short validities (serving 30 days: 20-day periods; CA 810 days:
 * replaced from day 540): a serving renewal keeps caCertificate. (The CA replacement's steps are proven on
 * the stored state by test/components/tls.spec.ts.) Certificates dated in the future fail a client's date
 * check, so the stack's verification is off and this test checks the chain itself: the certificate each
 * proxy serves is the stored one and is signed by a CA of the published bundle.
 */
import { strict as assert } from "assert";
import { X509Certificate } from "crypto";
import * as tls from "tls";
import { commandProvider, LocalCluster, ProgramStack, Result } from "../../dev/localcluster/driver";
import { TEST_CLOCK_ENV } from "../../components/tlsSchedule";

const DAY = 24 * 3600 * 1000;
const PERIOD = 20 * DAY;
// A period boundary after today, so every run's time is in a known period.
const BASE = (Math.floor(Date.now() / PERIOD) + 1) * PERIOD;
const day = (n: number) => new Date(BASE + n * DAY).toISOString();
const SERVER_NAME = "eksa-metrics-metrics-proxy";
/** A control-plane node's kube-controller-manager (kube-rbac-proxy) and etcd (haproxy), a worker's kube-proxy. */
const LISTENERS: [string, number][] = [
    ["127.0.0.2", 10257],
    ["127.0.0.2", 2381],
    ["127.0.0.3", 10249],
];

const text = (r: Result) => `${r.stdout}\n${r.stderr}`;

function bundleOf(pem: string): X509Certificate[] {
    return (pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []).map(
        (one) => new X509Certificate(one),
    );
}

/** The certificate a listener serves, dates not checked (they are the test clock's). */
function served(host: string, port: number): Promise<X509Certificate> {
    return new Promise((resolve, reject) => {
        const socket = tls.connect({ host, port, servername: SERVER_NAME, rejectUnauthorized: false }, () => {
            const certificate = socket.getPeerX509Certificate();
            socket.end();
            if (certificate) {
                resolve(certificate);
            } else {
                reject(new Error(`${host}:${port} served no certificate`));
            }
        });
        socket.on("error", reject);
    });
}

describe(`certificate renewals through the real engine (command provider: ${commandProvider().kind})`, function () {
    this.timeout(900_000);
    const cluster = new LocalCluster();
    const stack = new ProgramStack("renewals");
    const bundles: string[] = [];

    /** `pulumi up` at test-clock day `n`; returns the published bundle and checks what every proxy serves. */
    async function upAt(n: number): Promise<{ bundle: X509Certificate[]; leaf: X509Certificate; out: string }> {
        stack.env[TEST_CLOCK_ENV] = day(n);
        const up = await stack.up();
        assert.equal(up.code, 0, text(up));
        const pem = await stack.mustPulumi(["stack", "output", "caCertificate"]);
        bundles.push(pem);
        const bundle = bundleOf(pem);
        const leaves = await Promise.all(LISTENERS.map(([host, port]) => served(host, port)));
        const leaf = leaves[0];
        for (const [i, other] of leaves.entries()) {
            assert.equal(
                other.fingerprint256,
                leaf.fingerprint256,
                `${LISTENERS[i].join(":")} serves another certificate`,
            );
        }
        assert.ok(
            bundle.some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey)),
            "the served certificate is signed by no CA of caCertificate",
        );
        return { bundle, leaf, out: up.stdout };
    }

    before(async () => {
        await cluster.up();
        await cluster.createDefaultReaders();
        await stack.init(cluster.kubeconfig(), {
            tls: { validityDays: 30, caValidityDays: 810 },
            verify: { enabled: false },
        });
    });

    after(async () => {
        await stack.destroy().catch(() => undefined);
        await cluster.down();
    });

    let first: { bundle: X509Certificate[]; leaf: X509Certificate; out: string };

    it("issues a CA and a serving certificate; the log line and tlsRenewal say when the next up renews", async () => {
        first = await upAt(1);
        assert.equal(first.bundle.length, 1);
        assert.match(
            first.out,
            new RegExp(
                `proxy TLS: the serving certificate expires ${day(31).slice(0, 10)} \\(in 30 days\\), the CA ${day(811).slice(0, 10)} \\(in 810 days; single CA\\); the first pulumi up from ${day(20).slice(0, 10)} \\(in 19 days\\) renews the serving certificate and leaves the CA`,
            ),
        );
        const renewal = JSON.parse(await stack.mustPulumi(["stack", "output", "tlsRenewal", "--json"]));
        assert.deepEqual(renewal.nextRenewal, { at: day(20), inDays: 19 });
        // The keys stay in the state, encrypted: not in the outputs, not in plain text in the export.
        const everything =
            (await stack.mustPulumi(["stack", "output", "--json"])) + (await stack.mustPulumi(["stack", "export"]));
        assert.doesNotMatch(everything, /PRIVATE KEY/);
    });

    it("changes nothing within the period: preview --expect-no-changes, with the same forecast", async () => {
        stack.env[TEST_CLOCK_ENV] = day(19);
        const preview = await stack.preview("--expect-no-changes");
        assert.equal(preview.code, 0, text(preview));
        assert.match(preview.stdout, /the first pulumi up from \S+ \(in 1 day\) renews the serving certificate/);
    });

    it("renews the serving certificate in the next period with the same CA: caCertificate does not change", async () => {
        const renewed = await upAt(21);
        assert.equal(bundles[1], bundles[0]);
        assert.notEqual(renewed.leaf.fingerprint256, first.leaf.fingerprint256);
        assert.ok(renewed.leaf.checkIssued(first.bundle[0]));
    });
});
