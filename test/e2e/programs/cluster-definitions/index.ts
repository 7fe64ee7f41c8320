/**
 * Cluster definitions as a platform team's Pulumi program declares them: YAML manifests (config
 * `manifests`) registered through ConfigGroup v2 on the cluster of config `kubeconfig`. The policy
 * pack judges the resources this registers; test/e2e/policyPreview.spec.ts previews it.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config();
const cluster = new k8s.Provider("cluster", { kubeconfig: config.requireSecret("kubeconfig") });
new k8s.yaml.v2.ConfigGroup("definitions", { yaml: config.require("manifests") }, { provider: cluster });
