/**
 * A CA and one serving certificate at once, in the shape the certificate command stored before the
 * CA's key was kept: the proxy tests' fixtures, and the state a stack of that version migrates from.
 */
import { issueCa, issueServing } from "../../components/tls";

export interface IssuedCertificate {
    caCertificate: string;
    certificate: string;
    privateKey: string;
    notAfter: string;
}

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
