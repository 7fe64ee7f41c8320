/**
 * A user's own Pulumi program: it creates a "cluster" and deploys the eksa-metrics component into it in the
 * same `pulumi up`. The cluster is a stand-in: a command resource that prints the local control plane's
 * kubeconfig (test/e2e/library.spec.ts), so, like a real cluster resource's, the kubeconfig is an output
 * that is unknown during the preview of the first `up`. With `kubeconfigKnown`, the program reads the
 * same kubeconfig itself, as a program does for a cluster that exists already.
 */
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import { MetricsStack } from "eksa-metrics";

const config = new pulumi.Config();
const kubeconfigFile = config.require("kubeconfigFile");

// The stand-in for a cluster resource (an EKS Anywhere cluster, say): its kubeconfig exists once it is created.
const cluster = new command.local.Command(
    "cluster",
    {
        create: 'cat "$KUBECONFIG_FILE"',
        environment: { KUBECONFIG_FILE: kubeconfigFile },
        logging: "none",
    },
    { additionalSecretOutputs: ["stdout"] },
);
const kubeconfig: pulumi.Output<string> = config.getBoolean("kubeconfigKnown")
    ? // The same text as the command's stdout, which loses one trailing newline.
      pulumi.secret(fs.readFileSync(kubeconfigFile, "utf8").replace(/\n$/, ""))
    : cluster.stdout;

const provider = new k8s.Provider("cluster", { kubeconfig, enableServerSideApply: true });
const metrics = new MetricsStack(
    "metrics",
    { kubeconfig, prometheusOperator: { enabled: config.getBoolean("prometheusOperator") ?? false } },
    { providers: [provider] },
);

export const namespace = metrics.namespace;
export const endpoints = metrics.endpoints;
export const caCertificate = metrics.caCertificate;
export const verificationReport = metrics.verificationReport;
