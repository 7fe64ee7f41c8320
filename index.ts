/**
 * eksa-metrics: one stack per cluster. Reads the stack's config, connects to the cluster with its
 * kubeconfig and provisions the metrics stack there. See README.md for every config key.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { MetricsStack } from "./components/metricsStack";
import { SettingsError } from "./components/settings";
import { readStackConfig, StackConfig } from "./components/stackConfig";

// Every problem with the stack's config is reported here, before anything is registered.
function stackConfig(): StackConfig {
    try {
        return readStackConfig(pulumi.runtime.allConfig());
    } catch (err) {
        // A RunError is printed as its message alone: the list of problems, not a stack trace.
        throw err instanceof SettingsError ? new pulumi.RunError(err.message) : err;
    }
}
const { args } = stackConfig();

const cluster = new k8s.Provider("cluster", {
    kubeconfig: pulumi.secret(args.kubeconfig!),
    enableServerSideApply: true,
});

const metrics = new MetricsStack("eksa-metrics", { ...args, kubeconfig: pulumi.secret(args.kubeconfig!) }, { providers: [cluster] });

export const namespace = metrics.namespace;
export const endpoints = metrics.endpoints;
export const readerRoleName = metrics.readerRoleName;
export const caCertificate = metrics.caCertificate;
export const tlsServerName = metrics.tlsServerName;
export const scrapeConfig = metrics.scrapeConfig;
export const verificationPlan = metrics.verificationPlan;
export const verificationReport = metrics.verificationReport;
