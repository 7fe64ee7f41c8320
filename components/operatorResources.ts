/**
 * Registers the Prometheus Operator's objects (prometheusOperator.ts makes them) as children of
 * MetricsStack: the scraper service account bound to the metrics-reader role, its token Secret,
 * the CA ConfigMap, a ScrapeConfig per component and controller, and the PrometheusRule.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { RuleGroup } from "./alertRules";
import {
    OperatorObjectsInput,
    operatorCaConfigMap,
    operatorObjectNames,
    operatorPrometheusRule,
    operatorScrapeConfigs,
    operatorTokenSecret,
} from "./prometheusOperator";
import { Settings } from "../config/settings";
import { ControllerTarget } from "../core/catalogue";

export interface OperatorResourcesArgs {
    /** The ClusterRole that grants GET /metrics. */
    readerRoleName: pulumi.Input<string>;
    /** The proxy's CA (public). */
    caCertificate: pulumi.Input<string>;
    /** The same rule groups as the alertRules output. */
    ruleGroups: pulumi.Input<RuleGroup[]>;
    /** The controllers the scrapeConfig output scrapes. */
    controllers: readonly ControllerTarget[];
}

export function registerOperatorResources(
    name: string,
    settings: Settings,
    args: OperatorResourcesArgs,
    opts: pulumi.CustomResourceOptions,
): void {
    const input: OperatorObjectsInput = {
        name,
        namespace: settings.prometheusOperator.namespace,
        labels: settings.prometheusOperator.labels,
        components: settings.components,
        jobNames: settings.prometheus.jobNames,
        nodeSelector: settings.nodeSelector,
        tlsServerName: settings.tlsServerName,
        controllers: args.controllers,
        controllerTls: settings.controllers.tls,
    };
    const names = operatorObjectNames(name);
    const scraper = new k8s.core.v1.ServiceAccount(
        `${name}-scraper`,
        {
            metadata: { name: names.serviceAccount, namespace: input.namespace, labels: input.labels },
            automountServiceAccountToken: false,
        },
        opts,
    );
    const binding = new k8s.rbac.v1.ClusterRoleBinding(
        `${name}-scraper`,
        {
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: args.readerRoleName },
            subjects: [{ kind: "ServiceAccount", name: names.serviceAccount, namespace: input.namespace }],
        },
        opts,
    );
    const { metadata: tokenMetadata, type } = operatorTokenSecret(input);
    const token = new k8s.core.v1.Secret(
        `${name}-scraper-token`,
        { metadata: tokenMetadata, type: type as string },
        { ...opts, dependsOn: [scraper] },
    );
    const { metadata: caMetadata, data } = operatorCaConfigMap(input, args.caCertificate);
    const ca = new k8s.core.v1.ConfigMap(`${name}-operator-ca`, { metadata: caMetadata, data }, opts);
    const referenced = { ...opts, dependsOn: [token, ca, binding] };
    for (const manifest of operatorScrapeConfigs(input)) {
        new k8s.apiextensions.CustomResource(`${manifest.metadata.name}-scrape`, manifest, referenced);
    }
    new k8s.apiextensions.CustomResource(
        `${name}-alerts`,
        operatorPrometheusRule(input, pulumi.output(args.ruleGroups)),
        opts,
    );
}
