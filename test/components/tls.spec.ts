import { strict as assert } from "assert";
import { X509Certificate, createPrivateKey, createPublicKey } from "crypto";
import { issueProxyCertificate, renewalEpoch } from "../../components/tls";

describe("proxy TLS", () => {
    it("issues a CA and a serving certificate for the server name, signed by that CA", async () => {
        const now = new Date("2026-11-21T12:00:00Z");
        const issued = await issueProxyCertificate({ serverName: "eksa-metrics-metrics-proxy", validityDays: 90 }, now);
        const ca = new X509Certificate(issued.caCertificate);
        const leaf = new X509Certificate(issued.certificate);
        assert.equal(ca.ca, true);
        assert.equal(leaf.ca, false);
        assert.ok(leaf.verify(ca.publicKey), "leaf is not signed by the CA");
        assert.ok(leaf.checkIssued(ca));
        assert.equal(leaf.subjectAltName, "DNS:eksa-metrics-metrics-proxy");
        assert.equal(leaf.checkHost("eksa-metrics-metrics-proxy"), "eksa-metrics-metrics-proxy");
        assert.deepEqual(leaf.keyUsage, ["1.3.6.1.5.5.7.3.1"]);
        assert.equal(new Date(leaf.validTo).toISOString(), "2027-02-19T12:00:00.000Z");
        assert.equal(issued.notAfter, "2027-02-19T12:00:00.000Z");
        // The key is the certificate's.
        const publicFromKey = createPublicKey(createPrivateKey(issued.privateKey)).export({
            format: "der",
            type: "spki",
        });
        assert.deepEqual(publicFromKey, leaf.publicKey.export({ format: "der", type: "spki" }));
    });

    it("issues a different key every time", async () => {
        const a = await issueProxyCertificate({ serverName: "a", validityDays: 2 });
        const b = await issueProxyCertificate({ serverName: "a", validityDays: 2 });
        assert.notEqual(a.privateKey, b.privateKey);
    });

    it("moves to a new renewal period well before the certificate expires", () => {
        const day = 24 * 3600 * 1000;
        const issuedAt = new Date("2026-01-01T00:00:00Z");
        const epoch = renewalEpoch(365, issuedAt);
        // Within 365 - 30 = 335 days from any issue time, the epoch changes at least once.
        const later = new Date(issuedAt.getTime() + 335 * day);
        assert.ok(renewalEpoch(365, later) > epoch);
        assert.equal(
            renewalEpoch(365, new Date(issuedAt.getTime() + 1000)),
            renewalEpoch(365, new Date(issuedAt.getTime() + 2000)),
        );
        // Short validity: renew after two thirds.
        assert.ok(renewalEpoch(30, new Date(issuedAt.getTime() + 20 * day)) > renewalEpoch(30, issuedAt));
    });
});
