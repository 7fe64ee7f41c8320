/**
 * The proxy's TLS objects: the certificate command that keeps the CA and advances the stored TLS state
 * (tls.ts, run by issueCertificate.ts at `pulumi up`, decided by tlsSchedule.ts), the immutable Secret
 * the proxy pods mount, and the public faces of the state: the published CA bundle, the dates, the
 * forecast of the next renewal (logged on every preview and up).
 */
import * as k8s from "@pulumi/kubernetes";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HAPROXY_PEM_FILE } from "./haproxy";
import { scriptCommand } from "./scripts";
import { caBundle, signingCa, TlsState, viewOf } from "./tls";
import {
    caWarningDays,
    describeForecast,
    forecast,
    renewalPeriod,
    TlsForecast,
    TlsPolicy,
    tlsNow,
    TlsView,
} from "./tlsSchedule";
import { Settings } from "../config/settings";
import type { AlertRulesInput } from "./alertRules";

export interface ProxyTls {
    /** tls.crt, tls.key, ca.crt (the signing CA) and haproxy's PEM bundle. */
    tlsSecret: k8s.core.v1.Secret;
    /** The trust bundle clients pin: every published CA, oldest first. Public. */
    caCertificate: pulumi.Output<string>;
    /** The dates of the certificates and the phase of a CA replacement. Public. */
    view: pulumi.Output<TlsView>;
    /** When the next `up` renews and what it does to the CA. Public. */
    renewal: pulumi.Output<TlsForecast>;
    /** The certificate and CA parts of the alert rules' input. */
    alertInput: pulumi.Output<Pick<AlertRulesInput, "certificate" | "ca">>;
    /**
     * What decides when the certificate command runs again, known at preview: the Secret (a new one
     * for each run) changes only when this does.
     */
    revision: string;
}

export function tlsPolicy(settings: Settings): TlsPolicy {
    return {
        serverName: settings.tlsServerName,
        validityDays: settings.tlsValidityDays,
        caValidityDays: settings.tlsCaValidityDays,
    };
}

export function registerProxyTls(
    name: string,
    settings: Settings,
    namespace: pulumi.Input<string>,
    opts: pulumi.CustomResourceOptions,
): ProxyTls {
    const issueCommand = scriptCommand("issueCertificate.ts");
    const policy = tlsPolicy(settings);
    const now = tlsNow();
    const environment = {
        SERVER_NAME: policy.serverName,
        VALIDITY_DAYS: String(policy.validityDays),
        CA_VALIDITY_DAYS: String(policy.caValidityDays),
        // The period, not the time: the command runs again only in a new renewal period.
        PERIOD: renewalPeriod(policy.validityDays, now),
    };
    const issued = new command.local.Command(
        `${name}-certificate`,
        {
            create: issueCommand,
            // An update hands the command its stored state (PULUMI_COMMAND_STDOUT): the CA's key with it.
            update: issueCommand,
            environment,
            logging: "none",
        },
        {
            ...opts,
            additionalSecretOutputs: ["stdout", "stderr"],
            // The previous version replaced the command through `triggers`; kept as stored, so a stack
            // deployed by it updates (and migrates its state) instead of starting from nothing.
            ignoreChanges: ["triggers"],
        },
    );
    const state = pulumi.secret(issued.stdout.apply((out) => JSON.parse(out) as TlsState));

    const tlsSecret = new k8s.core.v1.Secret(
        `${name}-tls`,
        {
            metadata: { namespace },
            type: "kubernetes.io/tls",
            // Immutable and auto-named: a new certificate is a new Secret, and the pods roll to it.
            immutable: true,
            stringData: {
                "tls.crt": state.serving.certificate,
                "tls.key": state.serving.privateKey,
                "ca.crt": state.apply(signingCa),
                [HAPROXY_PEM_FILE]: pulumi.interpolate`${state.serving.certificate}${state.serving.privateKey}`,
            },
        },
        opts,
    );

    // Certificates and dates are public; only the keys are not.
    const caCertificate = pulumi.unsecret(state.apply(caBundle));
    const view = pulumi.unsecret(state.apply(viewOf));
    const renewal = view.apply((v) => {
        const next = forecast(v, now, policy);
        pulumi.log.info(describeForecast(next), opts.parent);
        return next;
    });
    const alertInput = view.apply((v) => ({
        certificate: { serverName: policy.serverName, notAfter: v.serving.notAfter, validityDays: policy.validityDays },
        ca: { notAfter: v.cas[v.signer].notAfter, warningDays: caWarningDays(policy) },
    }));
    return { tlsSecret, caCertificate, view, renewal, alertInput, revision: JSON.stringify(environment) };
}
