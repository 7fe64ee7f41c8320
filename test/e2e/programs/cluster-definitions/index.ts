/**
 * A test program: one cluster definition of the kind named by config `kind`, binding
 * kube-scheduler and kube-controller-manager to config `bindAddress`, rendered to YAML (render
 * mode: no cluster and no CRDs needed). `pulumi preview --policy-pack policy` judges it.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config();
const kind = config.require("kind");
const bindAddress = config.require("bindAddress");
const provider = new k8s.Provider("render", { renderYamlToDirectory: config.require("renderDir") });
const opts = { provider };

const kubeadmClusterConfiguration = {
    controllerManager: { extraArgs: { "bind-address": bindAddress } },
    scheduler: { extraArgs: { "bind-address": bindAddress } },
};

switch (kind) {
    case "KubeadmControlPlane":
        new k8s.apiextensions.CustomResource("kcp", {
            apiVersion: "controlplane.cluster.x-k8s.io/v1beta1",
            kind: "KubeadmControlPlane",
            metadata: { name: "mgmt-control-plane", namespace: "eksa-system" },
            spec: {
                replicas: 3,
                version: "v1.34.4",
                machineTemplate: { infrastructureRef: { apiVersion: "infrastructure.cluster.x-k8s.io/v1beta1", kind: "VSphereMachineTemplate", name: "mgmt-cp" } },
                kubeadmConfigSpec: { clusterConfiguration: kubeadmClusterConfiguration },
            },
        }, opts);
        break;
    case "EksaCluster":
        new k8s.apiextensions.CustomResource("cluster", {
            apiVersion: "anywhere.eks.amazonaws.com/v1alpha1",
            kind: "Cluster",
            metadata: { name: "mgmt" },
            spec: {
                kubernetesVersion: "1.34",
                controlPlaneConfiguration: {
                    count: 3,
                    endpoint: { host: "10.0.0.100" },
                    controllerManagerExtraArgs: { bindAddress },
                    schedulerExtraArgs: { "bind-address": bindAddress },
                },
            },
        }, opts);
        break;
    case "KubeadmConfigMap":
        new k8s.core.v1.ConfigMap("kubeadm-config", {
            metadata: { name: "kubeadm-config", namespace: "kube-system" },
            data: {
                ClusterConfiguration: [
                    "apiVersion: kubeadm.k8s.io/v1beta4",
                    "kind: ClusterConfiguration",
                    "kubernetesVersion: v1.34.4",
                    "controllerManager:",
                    "  extraArgs:",
                    "  - name: bind-address",
                    `    value: "${bindAddress}"`,
                    "scheduler:",
                    "  extraArgs:",
                    "  - name: bind-address",
                    `    value: "${bindAddress}"`,
                    "",
                ].join("\n"),
            },
        }, opts);
        break;
    case "SchedulerPod":
        new k8s.core.v1.Pod("kube-scheduler", {
            metadata: { name: "kube-scheduler", namespace: "kube-system" },
            spec: {
                hostNetwork: true,
                containers: [{
                    name: "kube-scheduler",
                    image: "registry.k8s.io/kube-scheduler:v1.34.4",
                    command: ["kube-scheduler", "--authentication-kubeconfig=/etc/kubernetes/scheduler.conf", `--bind-address=${bindAddress}`, "--kubeconfig=/etc/kubernetes/scheduler.conf", "--leader-elect=true"],
                }],
            },
        }, opts);
        break;
    case "ConfigGroup":
        // The same Pod, arriving through yaml.ConfigGroup: the pack sees the child resource.
        new k8s.yaml.ConfigGroup("static-pods", {
            objs: [{
                apiVersion: "v1",
                kind: "Pod",
                metadata: { name: "kube-controller-manager", namespace: "kube-system" },
                spec: { containers: [{ name: "kube-controller-manager", image: "registry.k8s.io/kube-controller-manager:v1.34.4", command: ["kube-controller-manager", "--bind-address", bindAddress] }] },
            }],
        }, opts);
        break;
    default:
        throw new Error(`unknown kind ${kind}`);
}
