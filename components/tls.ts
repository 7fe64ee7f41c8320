/**
 * TLS for the proxy's listeners, so a scraper's bearer token never crosses the network in clear.
 * The stack keeps its own small CA (key included) and issues short serving certificates for a DNS
 * name (node IPs are not known up front) signed by it; clients pin the published CA bundle and verify
 * that name (Prometheus: tls_config.ca_file + server_name). The keys live only in the stack's
 * encrypted state (the certificate command's secret stdout) and, the serving key, in a Kubernetes Secret.
 * `issueCertificate.ts` runs `advanceTls` in that command at `pulumi up`; `tlsSchedule.ts` decides.
 */
import "reflect-metadata"; // @peculiar/x509 needs it loaded first
import * as x509 from "@peculiar/x509";
import { webcrypto, X509Certificate } from "crypto";
import { DAY_MS, planStep, TlsPolicy, TlsStep, TlsView } from "./tlsSchedule";

/** What the certificate command stores: the view's dates plus the PEM and keys. Secret as a whole. */
export interface TlsState extends TlsView {
    version: 2;
    cas: (TlsView["cas"][number] & { certificate: string; privateKey?: string })[];
    serving: TlsView["serving"] & { certificate: string; privateKey: string };
}

const EC_KEY: webcrypto.EcKeyGenParams = { name: "ECDSA", namedCurve: "P-256" };
const EC_SIGNING: webcrypto.EcdsaParams = { name: "ECDSA", hash: "SHA-256" };
/** Tolerate small clock skew between the machine that issues and the clients. */
const SKEW_MS = 5 * 60 * 1000;

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

function useWebCrypto(): void {
    x509.cryptoProvider.set(webcrypto as never); // typed against the DOM's Crypto, which node's implements
}

/** X.509 keeps whole seconds. */
function wholeSeconds(ms: number): Date {
    return new Date(Math.floor(ms / 1000) * 1000);
}

export interface IssuedPair {
    certificate: string;
    privateKey: string;
    notBefore: string;
    notAfter: string;
}

/** A self-signed CA for the proxy's serving certificates, valid from `now` for `validityDays`. */
export async function issueCa(serverName: string, validityDays: number, now: Date): Promise<IssuedPair> {
    useWebCrypto();
    const notBefore = wholeSeconds(now.getTime() - SKEW_MS);
    const notAfter = wholeSeconds(now.getTime() + validityDays * DAY_MS);
    const keys = (await webcrypto.subtle.generateKey(EC_KEY, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
    const ca = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: serialNumber(),
        // The issue date tells one CA of the bundle from the other.
        name: `CN=eksa-metrics proxy CA for ${serverName} ${now.toISOString().slice(0, 10)}`,
        notBefore,
        notAfter,
        signingAlgorithm: EC_SIGNING,
        keys,
        extensions: [
            new x509.BasicConstraintsExtension(true, 0, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
            await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false),
        ],
    });
    return {
        certificate: ca.toString("pem") + "\n",
        privateKey: pem("PRIVATE KEY", await webcrypto.subtle.exportKey("pkcs8", keys.privateKey)),
        notBefore: notBefore.toISOString(),
        notAfter: notAfter.toISOString(),
    };
}

/**
 * A serving certificate for `serverName` signed by `ca`, valid from `now` for `validityDays`, never
 * beyond the CA's own end.
 */
export async function issueServing(
    ca: { certificate: string; privateKey: string },
    serverName: string,
    validityDays: number,
    now: Date,
): Promise<IssuedPair> {
    useWebCrypto();
    const { subtle } = webcrypto;
    const caCert = new x509.X509Certificate(ca.certificate);
    const caKey = await subtle.importKey(
        "pkcs8",
        Buffer.from(ca.privateKey.replace(/-----[^-]+-----|\s/g, ""), "base64"),
        EC_KEY,
        false,
        ["sign"],
    );
    const notBefore = wholeSeconds(now.getTime() - SKEW_MS);
    const notAfter = wholeSeconds(Math.min(now.getTime() + validityDays * DAY_MS, caCert.notAfter.getTime()));
    const keys = (await subtle.generateKey(EC_KEY, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
    const leaf = await x509.X509CertificateGenerator.create({
        serialNumber: serialNumber(),
        subject: `CN=${serverName}`,
        issuer: caCert.subject,
        notBefore,
        notAfter,
        signingAlgorithm: EC_SIGNING,
        publicKey: keys.publicKey,
        signingKey: caKey,
        extensions: [
            new x509.BasicConstraintsExtension(false, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
            new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
            new x509.SubjectAlternativeNameExtension([{ type: "dns", value: serverName }]),
            await x509.AuthorityKeyIdentifierExtension.create(await caCert.publicKey.export(), false),
        ],
    });
    return {
        certificate: leaf.toString("pem") + "\n",
        privateKey: pem("PRIVATE KEY", await subtle.exportKey("pkcs8", keys.privateKey)),
        notBefore: notBefore.toISOString(),
        notAfter: notAfter.toISOString(),
    };
}

/** A CA and one serving certificate at once, in the shape the command stored before the CA's key was kept. */
export interface IssuedCertificate {
    caCertificate: string;
    certificate: string;
    privateKey: string;
    notAfter: string;
}

/** A fresh CA and one serving certificate it signed: the harness's and the proxy tests' certificates. */
export async function issueProxyCertificate(
    request: { serverName: string; validityDays: number },
    now = new Date(),
): Promise<IssuedCertificate> {
    const ca = await issueCa(request.serverName, request.validityDays, now);
    const serving = await issueServing(ca, request.serverName, request.validityDays, now);
    return {
        caCertificate: ca.certificate,
        certificate: serving.certificate,
        privateKey: serving.privateKey,
        notAfter: serving.notAfter,
    };
}

/** A stored state as `advanceTls` reads it: today's format, or the one-CA-per-certificate format before it. */
export function parseStoredTls(stored: string): TlsState {
    const parsed = JSON.parse(stored) as Partial<TlsState> & Partial<IssuedCertificate>;
    if (parsed.version === 2) {
        return parsed as TlsState;
    }
    if (typeof parsed.caCertificate === "string" && typeof parsed.certificate === "string") {
        // Its CA's key was discarded: the CA stays published until the proxies have moved to a new one.
        const ca = new X509Certificate(parsed.caCertificate);
        const leaf = new X509Certificate(parsed.certificate);
        const iso = (date: string) => new Date(date).toISOString();
        return {
            version: 2,
            cas: [
                {
                    certificate: parsed.caCertificate,
                    notBefore: iso(ca.validFrom),
                    notAfter: iso(ca.validTo),
                    publishedAt: iso(ca.validFrom),
                    hasKey: false,
                },
            ],
            signer: 0,
            serving: {
                certificate: parsed.certificate,
                privateKey: parsed.privateKey!,
                notBefore: iso(leaf.validFrom),
                notAfter: iso(leaf.validTo),
                serverName: (leaf.subjectAltName ?? "").replace(/^DNS:/, ""),
                period: "before the CA was kept",
            },
        };
    }
    throw new Error("the stored TLS state is neither this version's nor the previous one's");
}

/**
 * One run of the certificate command: `planStep` on the stored state, then the certificates it asks
 * for. Returns the new state and the step taken.
 */
export async function advanceTls(
    stored: string | undefined,
    now: Date,
    period: string,
    policy: TlsPolicy,
): Promise<{ state: TlsState; step: TlsStep }> {
    const previous = stored === undefined || stored.trim() === "" ? undefined : parseStoredTls(stored);
    const step = planStep(previous, now, period, policy);
    let cas = previous?.cas ?? [];
    let signer = previous?.signer ?? 0;
    let switchedInPeriod = previous?.switchedInPeriod;
    if (step.dropOldCas) {
        cas = cas.slice(signer);
        signer = 0;
        switchedInPeriod = undefined;
    }
    if (step.issueCa) {
        const ca = await issueCa(policy.serverName, policy.caValidityDays, now);
        cas = [...cas, { ...ca, publishedAt: now.toISOString(), hasKey: true }];
    }
    if (step.switchSigner) {
        signer = cas.length - 1;
        switchedInPeriod = cas.length > 1 ? period : undefined;
    }
    let serving = previous?.serving;
    if (step.renewServing) {
        const { certificate, privateKey } = cas[signer];
        if (!privateKey) {
            throw new Error("planStep asked for a serving certificate from a CA whose key was not kept");
        }
        const issued = await issueServing({ certificate, privateKey }, policy.serverName, policy.validityDays, now);
        serving = { ...issued, serverName: policy.serverName, period };
    }
    if (!serving) {
        throw new Error("no serving certificate");
    }
    const state: TlsState = { version: 2, cas, signer, serving, ...(switchedInPeriod ? { switchedInPeriod } : {}) };
    return { state, step };
}

/** The published trust bundle: every CA of the state, oldest first. Public. */
export function caBundle(state: TlsState): string {
    return state.cas.map((ca) => ca.certificate).join("");
}

/** The CA that signed the serving certificate. Public. */
export function signingCa(state: TlsState): string {
    return state.cas[state.signer].certificate;
}

/** The state without PEM or keys: what the schedule, the outputs and the alerts read. Public. */
export function viewOf(state: TlsState): TlsView {
    return {
        cas: state.cas.map(({ notBefore, notAfter, publishedAt, hasKey }) => ({
            notBefore,
            notAfter,
            publishedAt,
            hasKey,
        })),
        signer: state.signer,
        serving: {
            notBefore: state.serving.notBefore,
            notAfter: state.serving.notAfter,
            serverName: state.serving.serverName,
            period: state.serving.period,
        },
        ...(state.switchedInPeriod ? { switchedInPeriod: state.switchedInPeriod } : {}),
    };
}
