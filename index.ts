/**
 * eksa-metrics: one stack per cluster. Reads the stack's config, connects to the cluster with its
 * kubeconfig and provisions the metrics stack there. See README.md for every config key.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { readClusterFacts } from "./cluster/clusterFacts";
import { expectedControllers } from "./config/controllers";
import { stackLabelValue } from "./core/labels";
import { MetricsStack } from "./components/metricsStack";
import { describePlacement, preflight, unreadable } from "./cluster/preflight";
import { watchRollout } from "./cluster/rolloutWatch";
import { Settings, SettingsError } from "./config/settings";
import { CONFIG_NAMESPACE, readStackConfig, StackConfig } from "./config/stackConfig";

// Every problem with the stack's config is reported here, before anything is registered.
function stackConfig(): StackConfig {
    try {
        return readStackConfig(pulumi.runtime.allConfig());
    } catch (err) {
        // A RunError is printed as its message alone: the list of problems, not a stack trace.
        throw err instanceof SettingsError ? new pulumi.RunError(err.message) : err;
    }
}

const stackLabel = stackLabelValue(pulumi.getProject(), pulumi.getStack());

// The preflight (README "Preflight"), in preview and again at the start of `up`: what would stop
// `up` stops here, read from the cluster with the stack's kubeconfig, before anything is registered.
// Returns the controllers to scrape: controllers.expect, by default those the preflight found.
function checkCluster(kubeconfig: string, settings: Settings): string[] {
    const identity = { stackLabel, dryRun: pulumi.runtime.isDryRun(), keyPrefix: `${CONFIG_NAMESPACE}:` };
    const read = readClusterFacts(kubeconfig, settings);
    const result =
        "facts" in read ? preflight(settings, read.facts, identity) : unreadable(settings, read.unreadable, identity);
    for (const line of describePlacement(result)) {
        pulumi.log.info(`preflight: ${line}`);
    }
    for (const warning of result.warnings) {
        pulumi.log.warn(`preflight: ${warning}`);
    }
    if (result.errors.length > 0) {
        throw new pulumi.RunError(
            new SettingsError(result.errors, "the cluster is not ready for this stack (preflight)").message,
        );
    }
    return expectedControllers(settings.controllers.expect, "facts" in read ? read.facts.deployments : undefined);
}
const { args, settings } = stackConfig();
// readStackConfig has checked that the kubeconfig is set, as text.
const expect = checkCluster(args.kubeconfig as string, settings);

const cluster = new k8s.Provider("cluster", {
    kubeconfig: pulumi.secret(args.kubeconfig!),
    enableServerSideApply: true,
});

const metrics = new MetricsStack(
    "eksa-metrics",
    {
        ...args,
        kubeconfig: pulumi.secret(args.kubeconfig!),
        // The component does not read the cluster: it is told which controllers are there.
        controllers: { ...args.controllers, expect },
    },
    { providers: [cluster] },
);
// While `up` awaits the DaemonSets, their pods' reasons (the scheduler's) are told, not only a timeout at the end.
if (!pulumi.runtime.isDryRun()) {
    watchRollout(
        args.kubeconfig as string,
        settings.namespace,
        stackLabel,
        metrics.daemonSets,
        settings.rolloutTimeoutMinutes,
    );
}

export const namespace = metrics.namespace;
export const endpoints = metrics.endpoints;
export const readerRoleName = metrics.readerRoleName;
export const caCertificate = metrics.caCertificate;
export const tlsServerName = metrics.tlsServerName;
export const scrapeConfig = metrics.scrapeConfig;
export const alertRules = metrics.alertRules;
export const verificationPlan = metrics.verificationPlan;
export const verificationReport = metrics.verificationReport;
