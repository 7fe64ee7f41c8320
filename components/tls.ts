/**
 * TLS for the proxy's listeners, so a scraper's bearer token never crosses the network in clear.
 * The stack issues its own small CA and one serving certificate for a DNS name (node IPs are not
 * known up front); clients pin the CA and verify that name (Prometheus: tls_config.ca_file +
 * server_name). The key lives only in the stack's encrypted state and in a Kubernetes Secret.
 * `issueCertificate.ts` runs this in a command at `pulumi up`, so it is issued once, not per run.
 */
import "reflect-metadata"; // @peculiar/x509 needs it loaded first
import * as x509 from "@peculiar/x509";
import { webcrypto } from "crypto";

export interface IssuedCertificate {
    caCertificate: string;
    certificate: string;
    privateKey: string;
    /** ISO-8601 end of validity of the serving certificate. */
    notAfter: string;
}

export interface CertificateRequest {
    serverName: string;
    validityDays: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const EC_KEY: webcrypto.EcKeyGenParams = { name: "ECDSA", namedCurve: "P-256" };
const EC_SIGNING: webcrypto.EcdsaParams = { name: "ECDSA", hash: "SHA-256" };

function pem(label: string, der: ArrayBuffer): string {
    const base64 = Buffer.from(der)
        .toString("base64")
        .replace(/(.{64})/g, "$1\n")
        .replace(/\n$/, "");
    return `-----BEGIN ${label}-----\n${base64}\n-----END ${label}-----\n`;
}

function serialNumber(): string {
    // Positive 128-bit serial: clear the top bit.
    const bytes = webcrypto.getRandomValues(new Uint8Array(16));
    bytes[0] &= 0x7f;
    return Buffer.from(bytes).toString("hex");
}

/** Issues a fresh CA and a serving certificate for `serverName`, valid from `now`. */
export async function issueProxyCertificate(request: CertificateRequest, now = new Date()): Promise<IssuedCertificate> {
    x509.cryptoProvider.set(webcrypto as never); // typed against the DOM's Crypto, which node's implements
    const { subtle } = webcrypto;
    const notBefore = new Date(now.getTime() - 5 * 60 * 1000); // tolerate small clock skew
    const notAfter = new Date(now.getTime() + request.validityDays * DAY_MS);

    const caKeys = (await subtle.generateKey(EC_KEY, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
    const ca = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: serialNumber(),
        name: `CN=eksa-metrics proxy CA for ${request.serverName}`,
        notBefore,
        notAfter,
        signingAlgorithm: EC_SIGNING,
        keys: caKeys,
        extensions: [
            new x509.BasicConstraintsExtension(true, 0, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
            await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey, false),
        ],
    });

    const leafKeys = (await subtle.generateKey(EC_KEY, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
    const leaf = await x509.X509CertificateGenerator.create({
        serialNumber: serialNumber(),
        subject: `CN=${request.serverName}`,
        issuer: ca.subject,
        notBefore,
        notAfter,
        signingAlgorithm: EC_SIGNING,
        publicKey: leafKeys.publicKey,
        signingKey: caKeys.privateKey,
        extensions: [
            new x509.BasicConstraintsExtension(false, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
            new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
            new x509.SubjectAlternativeNameExtension([{ type: "dns", value: request.serverName }]),
            await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey, false),
        ],
    });

    return {
        caCertificate: ca.toString("pem") + "\n",
        certificate: leaf.toString("pem") + "\n",
        privateKey: pem("PRIVATE KEY", await subtle.exportKey("pkcs8", leafKeys.privateKey)),
        notAfter: notAfter.toISOString(),
    };
}

/** How long before expiry a certificate is re-issued at the latest: a third of its validity, at most 30 days. */
export function renewalMarginDays(validityDays: number): number {
    return Math.min(30, validityDays / 3);
}

/**
 * A number that changes once per renewal period (validity less the renewal margin), so a
 * `pulumi up` in a new period re-issues the certificate well before the old one expires.
 */
export function renewalEpoch(validityDays: number, now = new Date()): number {
    const renewEveryDays = validityDays - renewalMarginDays(validityDays);
    return Math.floor(now.getTime() / (renewEveryDays * DAY_MS));
}
