/**
 * What the stack hands Prometheus: the scrapeConfig and alertRules outputs and, with prometheusOperator.enabled,
 * the same jobs and rules as Prometheus Operator objects (operatorResources.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { alertRuleGroups, AlertRulesInput, renderAlertRules } from "./alertRules";
import { controllerTargets } from "../config/controllers";
import { registerOperatorResources } from "./operatorResources";
import { renderScrapeConfigs } from "./scrapeConfig";
import { Settings } from "../config/settings";

/** Where Prometheus finds controllers.tls.caCertificate (mount it there, like the proxy's CA). */
export const CONTROLLERS_CA_FILE = "/etc/prometheus/eksa-metrics/controllers-ca.crt";
export const PROXY_CA_FILE = "/etc/prometheus/eksa-metrics/ca.crt";
/** The token of the pod Prometheus runs in, rotated by the kubelet. */
const POD_TOKEN_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/token";

export interface PrometheusInput {
    /** The ClusterRole that grants GET /metrics. */
    readerRoleName: pulumi.Input<string>;
    /** The proxy's CA bundle (public). */
    caCertificate: pulumi.Input<string>;
    /** The serving certificate and its CA, for their alerts (public: dates only). */
    tlsAlertInput: pulumi.Input<Pick<AlertRulesInput, "certificate" | "ca">>;
}

export interface PrometheusObjects {
    /** Ready-made Prometheus scrape jobs. */
    scrapeConfig: pulumi.Output<string>;
    /** A Prometheus rule file with the stack's alerts. */
    alertRules: pulumi.Output<string>;
}

export function registerPrometheusObjects(
    name: string,
    settings: Settings,
    input: PrometheusInput,
    opts: pulumi.CustomResourceOptions,
): PrometheusObjects {
    const controllers = controllerTargets(settings.controllers);
    const scrapeConfig = pulumi.output(
        renderScrapeConfigs({
            components: settings.components,
            jobNames: settings.prometheus.jobNames,
            tlsServerName: settings.tlsServerName,
            nodeSelector: settings.nodeSelector,
            caFile: PROXY_CA_FILE,
            tokenFile: POD_TOKEN_FILE,
            controllers,
            controllerTls: settings.controllers.tls.caCertificate
                ? { caFile: CONTROLLERS_CA_FILE, serverName: settings.controllers.tls.serverName }
                : {},
        }),
    );
    const alertInput = pulumi.output(input.tlsAlertInput).apply((tls): AlertRulesInput => ({
        components: settings.components,
        jobNames: settings.prometheus.jobNames,
        alertForSeconds: settings.prometheus.alertForSeconds,
        ...tls,
    }));
    if (settings.prometheusOperator.enabled) {
        registerOperatorResources(
            name,
            settings,
            {
                readerRoleName: input.readerRoleName,
                caCertificate: input.caCertificate,
                ruleGroups: alertInput.apply(alertRuleGroups),
                controllers,
            },
            opts,
        );
    }
    return { scrapeConfig, alertRules: alertInput.apply(renderAlertRules) };
}
