import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import { X509Certificate, createPrivateKey, createPublicKey } from "crypto";
import * as path from "path";
import {
    advanceTls,
    caBundle,
    issueCa,
    issueProxyCertificate,
    issueServing,
    signingCa,
    TlsState,
    viewOf,
} from "../../components/tls";
import { phaseOf, renewalPeriod, TlsPolicy } from "../../components/tlsSchedule";
import { certificatesOf } from "../../dev/bench/lib/testClockTls";

const DAY = 24 * 3600 * 1000;
const policy: TlsPolicy = { serverName: "eksa-metrics-metrics-proxy", validityDays: 90, caValidityDays: 3650 };
const T0 = new Date(60 * DAY * 10000);
const at = (days: number) => new Date(T0.getTime() + days * DAY);

/** One run of the certificate command at day `day`, as `pulumi up` does it. */
async function run(stored: TlsState | undefined, day: number, p: TlsPolicy = policy): Promise<TlsState> {
    const now = at(day);
    return (await advanceTls(stored && JSON.stringify(stored), now, renewalPeriod(p.validityDays, now), p)).state;
}

/** The serving certificate chains to one CA of the bundle, and its key is the certificate's. */
function assertServes(state: TlsState, bundlePem: string): X509Certificate {
    const leaf = new X509Certificate(state.serving.certificate);
    assert.ok(
        certificatesOf(bundlePem).some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey)),
        "the serving certificate is not signed by a CA of the bundle",
    );
    const publicFromKey = createPublicKey(createPrivateKey(state.serving.privateKey)).export({
        format: "der",
        type: "spki",
    });
    assert.deepEqual(publicFromKey, leaf.publicKey.export({ format: "der", type: "spki" }));
    return leaf;
}

describe("proxy TLS: issuing and the stored state", function () {
    this.timeout(20_000);

    it("issues a CA and a serving certificate for the server name, signed by that CA", async () => {
        const now = new Date("2026-11-21T12:00:00Z");
        const ca = await issueCa("eksa-metrics-metrics-proxy", 3650, now);
        const serving = await issueServing(ca, "eksa-metrics-metrics-proxy", 90, now);
        const caCert = new X509Certificate(ca.certificate);
        const leaf = new X509Certificate(serving.certificate);
        assert.equal(caCert.ca, true);
        assert.equal(leaf.ca, false);
        assert.ok(leaf.verify(caCert.publicKey), "leaf is not signed by the CA");
        assert.ok(leaf.checkIssued(caCert));
        assert.equal(leaf.subjectAltName, "DNS:eksa-metrics-metrics-proxy");
        assert.equal(leaf.checkHost("eksa-metrics-metrics-proxy"), "eksa-metrics-metrics-proxy");
        assert.deepEqual(leaf.keyUsage, ["1.3.6.1.5.5.7.3.1"]);
        assert.equal(new Date(leaf.validTo).toISOString(), "2027-02-19T12:00:00.000Z");
        assert.equal(serving.notAfter, "2027-02-19T12:00:00.000Z");
        assert.equal(new Date(caCert.validTo).toISOString(), ca.notAfter);
        assert.equal(ca.notAfter, "2036-11-18T12:00:00.000Z");
        // Never beyond the CA.
        const late = await issueServing(ca, "x", 90, new Date("2036-11-01T00:00:00Z"));
        assert.equal(late.notAfter, ca.notAfter);
    });

    it("keeps the CA across serving renewals: caCertificate changes only with the CA", async () => {
        const first = await run(undefined, 0);
        assert.equal(first.cas.length, 1);
        assert.ok(first.cas[0].privateKey, "the CA's key is kept in the state");
        assertServes(first, caBundle(first));
        // Same period: the same state (the command would not even run, its inputs being unchanged).
        assert.deepEqual(await run(first, 59), first);
        const renewed = await run(first, 60);
        assert.equal(caBundle(renewed), caBundle(first));
        assert.notEqual(renewed.serving.certificate, first.serving.certificate);
        assert.notEqual(renewed.serving.privateKey, first.serving.privateKey);
        assertServes(renewed, caBundle(first));
    });

    it("replaces the CA through a bundle: publish, then move the proxies, then drop the old CA", async () => {
        const short: TlsPolicy = { ...policy, caValidityDays: 810 }; // replaced from day 540
        const s0 = await run(undefined, 0, short);
        const oldCa = signingCa(s0);
        const s1 = await run(s0, 540, short);
        assert.equal(phaseOf(viewOf(s1)), "bundle published");
        assert.deepEqual(
            certificatesOf(caBundle(s1)).map((c) => c.fingerprint256),
            [new X509Certificate(oldCa).fingerprint256, new X509Certificate(s1.cas[1].certificate).fingerprint256],
        );
        assert.ok(
            new X509Certificate(s1.serving.certificate).checkIssued(new X509Certificate(oldCa)),
            "still the old CA's",
        );
        // A scraper that pinned only the old CA still verifies the proxies here, and through the next period.
        assertServes(s1, oldCa);
        const overlap = await run(s1, 600, short);
        assert.equal(phaseOf(viewOf(overlap)), "bundle published");
        assertServes(overlap, oldCa);
        const s2 = await run(overlap, 660, short);
        assert.equal(phaseOf(viewOf(s2)), "moved to the new CA");
        assert.equal(caBundle(s2), caBundle(s1), "the bundle is unchanged when the proxies move");
        assertServes(s2, s1.cas[1].certificate);
        const s3 = await run(s2, 720, short);
        assert.equal(phaseOf(viewOf(s3)), "single CA");
        assert.equal(caBundle(s3), s1.cas[1].certificate);
        assertServes(s3, caBundle(s3));
    });

    it("migrates the state of the version that discarded the CA's key: today's CA stays published", async () => {
        const legacy = await issueProxyCertificate({ serverName: policy.serverName, validityDays: 365 }, at(-100));
        const now = at(0);
        const { state, step } = await advanceTls(JSON.stringify(legacy), now, renewalPeriod(90, now), policy);
        assert.equal(step.issueCa, true);
        assert.equal(caBundle(state).startsWith(legacy.caCertificate), true, "today's CA first in the bundle");
        assert.equal(state.cas.length, 2);
        assert.equal(state.cas[0].privateKey, undefined);
        assert.equal(state.serving.certificate, legacy.certificate, "the proxies keep their certificate");
        assert.equal(state.serving.privateKey, legacy.privateKey);
        assertServes(state, legacy.caCertificate);
        // After the overlap they move to the new CA.
        const moved = await run(state, 120);
        assertServes(moved, state.cas[1].certificate);
    });

    it("runs as the certificate command: the previous state from PULUMI_COMMAND_STDOUT, JSON on stdout, no key in errors", function () {
        this.timeout(90_000);
        const script = path.resolve(__dirname, "../../components/issueCertificate.ts");
        const env = {
            ...process.env,
            SERVER_NAME: "eksa-metrics-metrics-proxy",
            VALIDITY_DAYS: "90",
            CA_VALIDITY_DAYS: "3650",
            PERIOD: renewalPeriod(90, at(0)),
            EKSA_METRICS_TEST_NOW: at(0).toISOString(),
        };
        const node = ["--require", "ts-node/register/transpile-only", script];
        const first = JSON.parse(execFileSync("node", node, { env, encoding: "utf8" })) as TlsState;
        assert.equal(first.serving.period, env.PERIOD);
        assert.equal(
            new Date(new X509Certificate(first.serving.certificate).validFrom).getTime(),
            at(0).getTime() - 5 * 60 * 1000,
        );
        const broken = spawnSync("node", node, {
            env: { ...env, PULUMI_COMMAND_STDOUT: JSON.stringify({ ...first, version: 3 }) },
            encoding: "utf8",
        });
        assert.equal(broken.status, 1);
        assert.equal(broken.stdout, "");
        assert.equal(
            broken.stderr,
            "issueCertificate: the stored TLS state is neither this version's nor the previous one's\n",
        );
    });
});
