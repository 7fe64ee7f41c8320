/**
 * The bench's own verification of a served certificate at the test clock's time. Under the test clock
 * (EKSA_METRICS_TEST_NOW) the stack issues certificates dated then, months ahead, and OpenSSL (Node's TLS)
 * can only verify at the real clock, so it refuses them ("certificate is not yet valid"). A scraper that
 * lives on the test clock's day therefore connects with `rejectUnauthorized: false` and checks the served
 * certificate itself, once per connection as a TLS client does at the handshake: signed by a CA of its
 * pinned file, both valid at the test clock's time, issued for the server name. A failure destroys the
 * connection with the reason, so the scrape fails with it.
 */
import { X509Certificate } from "crypto";
import * as https from "https";
import type { NetConnectOpts } from "net";
import type { Duplex } from "stream";
import type * as tls from "tls";

const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
/** Named in every failure, so a reader of the bench's output knows which verifier refused. */
export const TEST_CLOCK_VERIFIER = "the bench's verification at the test clock's time";

/** The certificates of a PEM file (a CA file may hold a bundle). */
export function certificatesOf(pem: string): X509Certificate[] {
    return (pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []).map(
        (one) => new X509Certificate(one),
    );
}

function validAt(certificate: X509Certificate, at: Date): boolean {
    return Date.parse(certificate.validFrom) <= at.getTime() && at.getTime() <= Date.parse(certificate.validTo);
}

/**
 * Why `leaf` is not to be trusted for `serverName` at `at` by a client holding `pinned`; undefined when it
 * is. The stack's proxies serve a leaf signed directly by a CA of the bundle (no intermediate), so that is
 * the chain checked: the leaf is no CA, is for server authentication (when it says), names `serverName`
 * among its DNS names (not its subject, as Go's client), and is signed by a pinned CA; leaf and CA are
 * both valid at `at`.
 */
export function untrustedBecause(
    leaf: X509Certificate,
    pinned: X509Certificate[],
    at: Date,
    serverName: string,
): string | undefined {
    const when = at.toISOString();
    if (leaf.ca) {
        return `the served certificate (${leaf.subject.trim()}) is a CA, not a serving certificate`;
    }
    if (leaf.keyUsage !== undefined && !leaf.keyUsage.includes(SERVER_AUTH)) {
        return `the served certificate is not for server authentication (extended key usage ${leaf.keyUsage.join(", ")})`;
    }
    if (leaf.checkHost(serverName, { subject: "never" }) === undefined) {
        return `the served certificate is not for ${serverName} (${leaf.subjectAltName ?? "no subject alternative name"})`;
    }
    if (!validAt(leaf, at)) {
        return `the served certificate is not valid at ${when} (valid ${leaf.validFrom} to ${leaf.validTo})`;
    }
    const issuers = pinned.filter((ca) => ca.ca && leaf.checkIssued(ca) && leaf.verify(ca.publicKey));
    if (issuers.length === 0) {
        return `the served certificate (issuer ${leaf.issuer.trim()}) is signed by no CA of the pinned file (${pinned.length} CA)`;
    }
    if (!issuers.some((ca) => validAt(ca, at))) {
        return `the CA that signed the served certificate is not valid at ${when} (valid ${issuers[0].validFrom} to ${issuers[0].validTo})`;
    }
    return undefined;
}

export interface TestClockAgentOptions {
    /** The pinned CA file's content. */
    ca: string;
    /** The name the certificate must be for (the stack's tlsServerName). */
    serverName: string;
    /** The test clock's time now. */
    now: () => Date;
    /** Resolve every host name to this address. */
    resolveTo: string;
}

/**
 * A keep-alive HTTPS agent (one connection, as Prometheus keeps to a target) that verifies each new
 * connection with `untrustedBecause` at `now()` instead of OpenSSL's verification. No TLS session cache,
 * as Go's client has none by default: every new connection is a full handshake with the served certificate.
 */
export function testClockAgent(options: TestClockAgentOptions): https.Agent {
    const pinned = certificatesOf(options.ca);
    const agent = new https.Agent({
        keepAlive: true,
        maxSockets: 1,
        maxCachedSessions: 0,
        rejectUnauthorized: false,
        lookup: (_hostname, lookupOptions, callback) => {
            if (lookupOptions.all) {
                callback(null, [{ address: options.resolveTo, family: 4 }]);
            } else {
                callback(null, options.resolveTo, 4);
            }
        },
    });
    // https.Agent's own createConnection (tls.connect), then the check once the handshake is done.
    const connect = agent.createConnection.bind(agent) as (
        o: NetConnectOpts,
        callback?: (err: Error | null, stream: Duplex) => void,
    ) => Duplex;
    agent.createConnection = (
        connectOptions: NetConnectOpts,
        callback?: (err: Error | null, stream: Duplex) => void,
    ) => {
        const socket = connect(connectOptions, callback) as tls.TLSSocket;
        socket.once("secureConnect", () => {
            const leaf = socket.getPeerX509Certificate();
            const why = leaf
                ? untrustedBecause(leaf, pinned, options.now(), options.serverName)
                : "the server sent no certificate";
            if (why !== undefined) {
                socket.destroy(new Error(`${TEST_CLOCK_VERIFIER}: ${why}`));
            }
        });
        return socket;
    };
    return agent;
}
