import { strict as assert } from "assert";
import { X509Certificate } from "crypto";
import * as https from "https";
import type { AddressInfo } from "net";
import { issueCa, issueServing } from "../../components/tls";
import { keepAliveAgent } from "../../dev/bench/lib/scrape";
import { certificatesOf, testClockAgent, untrustedBecause } from "../../dev/bench/lib/testClockTls";

const DAY = 24 * 3600 * 1000;
const NAME = "eksa-metrics-metrics-proxy";
// Two years ahead of the real clock, as the dayTwo benchmark's CA steps are.
const ISSUED = new Date(Date.now() + 730 * DAY);
const at = (days: number) => new Date(ISSUED.getTime() + days * DAY);

describe("dayTwo bench: the verification at the test clock's time", function () {
    this.timeout(20_000);
    let caPem = "";
    let otherCaPem = "";
    let servingPem = "";
    let servingKey = "";
    let leaf: X509Certificate;

    before(async () => {
        const ca = await issueCa(NAME, 810, ISSUED);
        caPem = ca.certificate;
        otherCaPem = (await issueCa(NAME, 810, ISSUED)).certificate;
        const serving = await issueServing(ca, NAME, 30, ISSUED);
        servingPem = serving.certificate;
        servingKey = serving.privateKey;
        leaf = new X509Certificate(servingPem);
    });

    it("trusts a serving certificate of a pinned CA, for the name, at a time both are valid", () => {
        assert.equal(untrustedBecause(leaf, certificatesOf(caPem), at(1), NAME), undefined);
        // A bundle: any of its CAs may have signed it.
        assert.equal(untrustedBecause(leaf, certificatesOf(otherCaPem + caPem), at(29), NAME), undefined);
    });

    it("refuses, with the reason, what OpenSSL would refuse at that time", () => {
        assert.match(untrustedBecause(leaf, certificatesOf(otherCaPem), at(1), NAME)!, /signed by no CA of the pinned/);
        assert.match(untrustedBecause(leaf, certificatesOf(caPem), at(31), NAME)!, /not valid at/);
        assert.match(untrustedBecause(leaf, certificatesOf(caPem), at(-1), NAME)!, /not valid at/);
        assert.match(
            untrustedBecause(leaf, certificatesOf(caPem), at(1), "other.example")!,
            /is not for other\.example/,
        );
        // The CA itself served as if it were the leaf.
        const ca = new X509Certificate(caPem);
        assert.match(untrustedBecause(ca, certificatesOf(caPem), at(1), NAME)!, /is a CA/);
        assert.match(untrustedBecause(leaf, [], at(1), NAME)!, /signed by no CA/);
    });

    it("refuses a leaf whose CA is not valid at the time", async () => {
        // A leaf that starts before its CA (issued as if a day earlier): at half a day, it is valid and its CA not yet.
        const ca = await issueCa(NAME, 810, ISSUED);
        const early = new X509Certificate((await issueServing(ca, NAME, 30, at(-1))).certificate);
        assert.match(
            untrustedBecause(early, certificatesOf(ca.certificate), at(-0.5), NAME)!,
            /the CA that signed the served certificate is not valid at/,
        );
        assert.equal(untrustedBecause(early, certificatesOf(ca.certificate), at(1), NAME), undefined);
    });

    describe("through a real TLS server (Node's https on loopback) serving the future-dated certificate", () => {
        let server: https.Server;
        let port = 0;

        before(async () => {
            server = https.createServer({ cert: servingPem, key: servingKey }, (_req, res) => res.end("ok"));
            await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
            port = (server.address() as AddressInfo).port;
        });

        after(() => new Promise<void>((resolve) => server.close(() => resolve())));

        function get(ca: string, when: Date): Promise<string> {
            const agent = testClockAgent({ ca, serverName: NAME, now: () => when, resolveTo: "127.0.0.1" });
            return new Promise<string>((resolve, reject) => {
                https
                    .get(`https://${NAME}:${port}/`, { agent }, (res) => {
                        let body = "";
                        res.on("data", (chunk) => (body += chunk));
                        res.on("end", () => resolve(body));
                    })
                    .on("error", reject);
            }).finally(() => agent.destroy());
        }

        it("Node's own verification (OpenSSL, the real clock) refuses it: the reason this verifier exists", async () => {
            const agent = keepAliveAgent(new URL(`https://${NAME}:${port}/`), 1, { ca: caPem, resolveTo: "127.0.0.1" });
            await assert.rejects(
                new Promise((resolve, reject) =>
                    https.get(`https://${NAME}:${port}/`, { agent }, resolve).on("error", reject),
                ),
                /certificate is not yet valid/,
            );
            agent.destroy();
        });

        it("scrapes with the pinned CA at the test clock's time", async () => {
            assert.equal(await get(caPem, at(1)), "ok");
        });

        it("fails the request with the reason when the pinned file holds another CA, or at a time it is not valid", async () => {
            await assert.rejects(
                get(otherCaPem, at(1)),
                /the bench's verification at the test clock's time: .*signed by no CA/,
            );
            await assert.rejects(
                get(caPem, at(40)),
                /the bench's verification at the test clock's time: .*not valid at/,
            );
        });
    });
});
