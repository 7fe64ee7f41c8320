/**
 * The proxy's TLS objects: the command that issues its CA and serving certificate (tls.ts, run by
 * issueCertificate.ts at `pulumi up`) and the immutable Secret the proxy pods mount.
 */
import * as k8s from "@pulumi/kubernetes";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HAPROXY_PEM_FILE } from "./haproxy";
import { scriptCommand } from "./scripts";
import { Settings } from "../config/settings";
import { IssuedCertificate, renewalEpoch } from "./tls";

export interface ProxyTls {
    /** The issued certificate, a secret as a whole (the CA and notAfter in it are public: unsecret them to publish). */
    certificate: pulumi.Output<IssuedCertificate>;
    /** The Secret with tls.crt, tls.key, ca.crt and haproxy's PEM bundle. */
    tlsSecret: k8s.core.v1.Secret;
}

export function registerProxyTls(
    name: string,
    settings: Settings,
    namespace: pulumi.Input<string>,
    opts: pulumi.CustomResourceOptions,
): ProxyTls {
    const issued = new command.local.Command(
        `${name}-certificate`,
        {
            create: scriptCommand("issueCertificate.ts"),
            environment: { SERVER_NAME: settings.tlsServerName, VALIDITY_DAYS: String(settings.tlsValidityDays) },
            // Re-issued on the first `pulumi up` of each renewal period, well before expiry.
            triggers: [renewalEpoch(settings.tlsValidityDays)],
            logging: "none",
        },
        { ...opts, additionalSecretOutputs: ["stdout", "stderr"] },
    );
    const certificate = pulumi.secret(issued.stdout.apply((out) => JSON.parse(out) as IssuedCertificate));
    const tlsSecret = new k8s.core.v1.Secret(
        `${name}-tls`,
        {
            metadata: { namespace },
            type: "kubernetes.io/tls",
            // Immutable and auto-named: a new certificate is a new Secret, and the pods roll to it.
            immutable: true,
            stringData: {
                "tls.crt": certificate.certificate,
                "tls.key": certificate.privateKey,
                "ca.crt": certificate.caCertificate,
                [HAPROXY_PEM_FILE]: pulumi.interpolate`${certificate.certificate}${certificate.privateKey}`,
            },
        },
        opts,
    );
    return { certificate, tlsSecret };
}
