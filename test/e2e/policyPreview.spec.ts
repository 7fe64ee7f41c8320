/**
 * The policy pack in real previews: `pulumi preview --policy-pack policy` of a small program
 * (programs/cluster-definitions) declaring cluster definitions through ConfigGroup v2, with the real
 * kubernetes provider, against a local kube-apiserver that has their CRDs — the real Cluster API
 * ones from the sigs.k8s.io/cluster-api module (dev/toolchain/setup.sh part cluster-api), and a
 * minimal STAND-IN for EKS Anywhere's Cluster CRD (its module is not served here). Without the CRDs
 * ConfigGroup v2 fails before any policy runs.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { EKSA_CLUSTER_CRD, LocalCluster, ProgramStack, REPO, Result } from "../../dev/localcluster/driver";

const CACHE = process.env.EKSA_METRICS_CACHE ?? path.join(os.homedir(), ".cache", "eksa-metrics");
const POLICY = "control-plane-metrics-not-on-all-interfaces";
const CLUSTER_CLASS_POLICY = "cluster-class-control-plane-metrics-not-on-all-interfaces";
/** ClusterClass and Cluster fixtures of the pack's own tests, checked here against the real CRDs. */
const FIXTURES = path.join(REPO, "test", "policy", "fixtures");
const clusterClasses = (address: string): string =>
    fs.readFileSync(
        path.join(FIXTURES, address === "0.0.0.0" ? "cluster-class-exposed.yaml" : "cluster-class-safe.yaml"),
        "utf8",
    );

/** One definition of each kind, binding kube-scheduler or kube-controller-manager to `address`. */
function definitions(address: string): { name: string; field: RegExp; manifest: object }[] {
    const kubeadm = {
        apiVersion: "kubeadm.k8s.io/v1beta3",
        kind: "ClusterConfiguration",
        controllerManager: { extraArgs: { "bind-address": address } },
        scheduler: { extraArgs: { "bind-address": "127.0.0.1" } },
    };
    return [
        {
            name: "eksa-cluster",
            field: /controllerManagerExtraArgs/,
            manifest: {
                apiVersion: "anywhere.eks.amazonaws.com/v1alpha1",
                kind: "Cluster",
                metadata: { name: "eksa-cluster", namespace: "default" },
                spec: {
                    controlPlaneConfiguration: { count: 1, controllerManagerExtraArgs: { "bind-address": address } },
                },
            },
        },
        {
            name: "kcp-v1beta1",
            field: /clusterConfiguration\.scheduler\.extraArgs/,
            manifest: {
                apiVersion: "controlplane.cluster.x-k8s.io/v1beta1",
                kind: "KubeadmControlPlane",
                metadata: { name: "kcp-v1beta1", namespace: "default" },
                spec: {
                    version: "v1.34.4",
                    replicas: 1,
                    machineTemplate: {
                        infrastructureRef: {
                            apiVersion: "infrastructure.cluster.x-k8s.io/v1beta1",
                            kind: "DockerMachineTemplate",
                            name: "cp",
                        },
                    },
                    kubeadmConfigSpec: {
                        clusterConfiguration: { scheduler: { extraArgs: { "bind-address": address } } },
                    },
                },
            },
        },
        {
            name: "kcp-v1beta2",
            field: /clusterConfiguration\.controllerManager\.extraArgs/,
            manifest: {
                apiVersion: "controlplane.cluster.x-k8s.io/v1beta2",
                kind: "KubeadmControlPlane",
                metadata: { name: "kcp-v1beta2", namespace: "default" },
                spec: {
                    version: "v1.34.4",
                    replicas: 1,
                    machineTemplate: {
                        spec: {
                            infrastructureRef: {
                                apiGroup: "infrastructure.cluster.x-k8s.io",
                                kind: "DockerMachineTemplate",
                                name: "cp",
                            },
                        },
                    },
                    kubeadmConfigSpec: {
                        clusterConfiguration: {
                            controllerManager: { extraArgs: [{ name: "bind-address", value: address }] },
                        },
                    },
                },
            },
        },
        {
            name: "bootstrap-config",
            field: /clusterConfiguration\.controllerManager\.extraArgs/,
            manifest: {
                apiVersion: "bootstrap.cluster.x-k8s.io/v1beta1",
                kind: "KubeadmConfig",
                metadata: { name: "bootstrap-config", namespace: "default" },
                spec: { clusterConfiguration: { controllerManager: { extraArgs: { "bind-address": address } } } },
            },
        },
        {
            name: "bootstrap-template",
            field: /template\.spec\.clusterConfiguration\.scheduler\.extraArgs/,
            manifest: {
                apiVersion: "bootstrap.cluster.x-k8s.io/v1beta1",
                kind: "KubeadmConfigTemplate",
                metadata: { name: "bootstrap-template", namespace: "default" },
                spec: {
                    template: {
                        spec: { clusterConfiguration: { scheduler: { extraArgs: { "bind-address": address } } } },
                    },
                },
            },
        },
        {
            name: "kubeadm-configmap",
            field: /data\.ClusterConfiguration/,
            manifest: {
                apiVersion: "v1",
                kind: "ConfigMap",
                metadata: { name: "kubeadm-configmap", namespace: "kube-system" },
                data: { ClusterConfiguration: yaml.dump(kubeadm) },
            },
        },
        {
            name: "scheduler-pod",
            field: /containers\[0\]/,
            manifest: {
                apiVersion: "v1",
                kind: "Pod",
                metadata: { name: "scheduler-pod", namespace: "kube-system" },
                spec: {
                    containers: [
                        {
                            name: "kube-scheduler",
                            image: "registry.k8s.io/kube-scheduler:v1.34.4",
                            command: [
                                "kube-scheduler",
                                `--bind-address=${address}`,
                                "--kubeconfig=/etc/kubernetes/scheduler.conf",
                                "--leader-elect=true",
                            ],
                        },
                    ],
                },
            },
        },
    ];
}

/**
 * The module's CRD bases have no conversion webhook (kustomize adds it), so the API server converts Clusters
 * between v1beta1 and the stored v1beta2 with strategy None and prunes what v1beta2 does not know: a v1beta1
 * Cluster's `topology.class` and `classNamespace` (v1beta2 says `classRef`). The provider's preview shows the
 * policy the dry run's object, which would then name no class. A management cluster runs Cluster API's
 * webhook, which converts them to `classRef` and back; as a STAND-IN for it, the stored version keeps the
 * topology's unknown fields, so a v1beta1 Cluster reads back as it was written.
 */
async function keepV1beta1ClassReference(cluster: LocalCluster): Promise<void> {
    const crd = JSON.parse(await cluster.mustKubectl(["get", "crd", "clusters.cluster.x-k8s.io", "-o", "json"]));
    const stored = crd.spec.versions.find((v: { storage: boolean }) => v.storage);
    assert.equal(stored.name, "v1beta2", "the Cluster CRD stores v1beta2");
    assert.equal(crd.spec.conversion?.strategy ?? "None", "None", "the Cluster CRD has no conversion webhook");
    stored.schema.openAPIV3Schema.properties.spec.properties.topology["x-kubernetes-preserve-unknown-fields"] = true;
    await cluster.mustKubectl(["replace", "-f", "-"], JSON.stringify(crd));
}

describe("the policy pack in real previews (pulumi preview --policy-pack policy; stand-ins: EKS Anywhere's Cluster CRD, Cluster API's conversion webhook)", function () {
    this.timeout(600_000);
    const cluster = new LocalCluster();
    const stack = new ProgramStack("definitions", { program: path.join(__dirname, "programs", "cluster-definitions") });
    const preview = async (address: string): Promise<Result> => {
        stack.setConfig({
            manifests: [...definitions(address).map((d) => yaml.dump(d.manifest)), clusterClasses(address)].join(
                "---\n",
            ),
        });
        return stack.pulumi(["preview", "--policy-pack", path.join(REPO, "policy")]);
    };

    before(async () => {
        await cluster.up();
        const capi = path.join(CACHE, "cluster-api", fs.readdirSync(path.join(CACHE, "cluster-api"))[0]);
        for (const dir of [
            "controlplane/kubeadm/config/crd/bases",
            "bootstrap/kubeadm/config/crd/bases",
            "core/config/crd/bases", // ClusterClass, Cluster
        ]) {
            await cluster.mustKubectl(["apply", "--server-side", "-f", path.join(capi, dir)]);
        }
        await keepV1beta1ClassReference(cluster);
        await cluster.mustKubectl(["apply", "--server-side", "-f", "-"], JSON.stringify(EKSA_CLUSTER_CRD));
        await cluster.mustKubectl(["wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"]);
        await stack.init(cluster.kubeconfig());
    });

    after(async () => {
        await cluster.down();
    });

    it("fails on 0.0.0.0 with the mandatory violation naming each resource and field", async () => {
        const result = await preview("0.0.0.0");
        const output = `${result.stdout}\n${result.stderr}`;
        assert.notEqual(result.code, 0, output);
        for (const d of definitions("0.0.0.0")) {
            const named = new RegExp(`(^|[^\\w-])${d.name}([^\\w-]|$)`);
            const line = output.split("\n").find((l) => l.includes("would listen on all interfaces") && named.test(l));
            assert.ok(line, `no violation names ${d.name}:\n${output}`);
            assert.match(line!, d.field, `${d.name}: the field path in ${line}`);
        }
        assert.match(output, new RegExp(`- \\[mandatory\\] (\\[severity: \\w+\\] +)?${POLICY} `));
        // The ClusterClass forms, as the real CRDs accept them: the class's own values, and the Clusters' variables.
        const text = output.replace(/\s+/g, " ");
        // The policy names a ConfigGroup v2 child with its Pulumi resource name after the object's.
        for (const [object, field] of [
            ["ClusterClass default/literal-v1beta2", "spec.patches[0].definitions[0].jsonPatches[0].value"],
            ["ClusterClass default/variable-default-v1beta1", "spec.variables[0].schema.openAPIV3Schema.default"],
            ["Cluster default/team-a", "spec.topology.variables[0].value"],
            ["Cluster default/team-b", "spec.topology.variables[0].value"],
        ]) {
            const named = new RegExp(
                `${object} (\\(Pulumi resource "[^"]+"\\) )?sets ${field.replace(/[.[\]]/g, "\\$&")}`,
            );
            assert.match(text, named, `no violation: ${object} ${field}\n${output}`);
        }
        assert.ok(output.includes(CLUSTER_CLASS_POLICY), output);
    });

    it("passes on 127.0.0.1", async () => {
        const result = await preview("127.0.0.1");
        const output = `${result.stdout}\n${result.stderr}`;
        assert.equal(result.code, 0, output);
        assert.doesNotMatch(output, /would listen on all interfaces/);
        assert.match(output, /\+ \d+ to create/);
    });
});
