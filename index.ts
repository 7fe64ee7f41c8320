/**
 * eksa-metrics: one stack per cluster. Reads the stack's config, connects to the cluster with its
 * kubeconfig and provisions the metrics stack there. See README.md for every config key.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { stackLabelValue } from "./core/labels";
import { MetricsStack } from "./components/metricsStack";
import { programPreflight } from "./cluster/preflightRun";
import { knownImages, stackImages } from "./config/images";
import { watchRollout } from "./cluster/rolloutWatch";
import { SettingsError } from "./config/settings";
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

const { args, settings } = stackConfig();
// The preflight (README "Preflight"), in preview and again at the start of `up`: what would stop
// `up` stops here, read from the cluster with the stack's kubeconfig (readStackConfig has checked that
// it is set, as text), before anything is registered. The controllers to scrape: controllers.expect,
// by default those the preflight found.
const expect = programPreflight(
    args.kubeconfig as string,
    settings,
    { stackLabel, dryRun: pulumi.runtime.isDryRun(), keyPrefix: `${CONFIG_NAMESPACE}:` },
    knownImages(stackImages(args, settings.imageRegistry)),
);

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
        (k) => `${CONFIG_NAMESPACE}:${k}`,
    );
}

export const namespace = metrics.namespace;
export const endpoints = metrics.endpoints;
export const readerRoleName = metrics.readerRoleName;
export const caCertificate = metrics.caCertificate;
export const tlsServerName = metrics.tlsServerName;
export const tlsRenewal = metrics.tlsRenewal;
export const scrapeConfig = metrics.scrapeConfig;
export const alertRules = metrics.alertRules;
export const verificationPlan = metrics.verificationPlan;
export const verificationReport = metrics.verificationReport;
