import * as assert from "assert";
import { clusterClassBindAddressUnknownDuringPreview } from "../../../policy/policies/clusterClassBindAddressUnknownDuringPreview";
import {
    CLUSTER_CLASS_BIND_ADDRESS,
    clusterClassControlPlaneMetricsNotOnAllInterfaces,
} from "../../../policy/policies/clusterClassControlPlaneMetricsNotOnAllInterfaces";
import {
    asConfigFileChild,
    fixtureDocuments,
    RegisteredResource,
    runStackPolicy,
    withValue,
    assertFindings,
} from "../harness";

const CC1 = "kubernetes:cluster.x-k8s.io/v1beta1:ClusterClass";
const CC2 = "kubernetes:cluster.x-k8s.io/v1beta2:ClusterClass";
const ALL = "every interface, IPv4 and IPv6 alike (Go opens the unspecified address dual-stack)";

const program = (file: string) => fixtureDocuments(file).map(asConfigFileChild);
const mandatory = (resources: RegisteredResource[]) =>
    runStackPolicy(clusterClassControlPlaneMetricsNotOnAllInterfaces, resources);
const advisory = (resources: RegisteredResource[]) =>
    runStackPolicy(clusterClassBindAddressUnknownDuringPreview, resources);

describe(`policy ${CLUSTER_CLASS_BIND_ADDRESS}`, () => {
    it("catches each exposed form: a literal (v1beta2 list), a variable default (v1beta1 map), a Cluster that switches a patch on with its value, a Cluster that sets the variable", async () => {
        const resources = program("cluster-class-exposed.yaml");
        assertFindings(await mandatory(resources), [
            [
                "default/literal-v1beta2",
                `kube-controller-manager would listen on all interfaces: ${CC2} default/literal-v1beta2 sets spec.patches[0].definitions[0].jsonPatches[0].value = "0.0.0.0" (add /spec/template/spec/kubeadmConfigSpec/clusterConfiguration/controllerManager/extraArgs/- writes the KubeadmControlPlaneTemplate's spec.template.spec.kubeadmConfigSpec.clusterConfiguration.controllerManager.extraArgs[0].value; the patch is on by default (no enabledIf)); 0.0.0.0 is the unspecified IPv4 address: kube-controller-manager listens on ${ALL}.`,
                "CIS Kubernetes Benchmark 1.3.7",
            ],
            [
                "default/variable-default-v1beta1",
                `kube-scheduler would listen on all interfaces: ${CC1} default/variable-default-v1beta1 sets spec.variables[0].schema.openAPIV3Schema.default = "0.0.0.0" (the default of variable schedulerBindAddress, which spec.patches[0].definitions[0].jsonPatches[0].valueFrom.variable uses`,
                "for every Cluster that does not set the variable",
            ],
            [
                "default/team-a",
                'kube-controller-manager would listen on all interfaces: kubernetes:cluster.x-k8s.io/v1beta2:Cluster default/team-a sets spec.topology.variables[0].value = "0.0.0.0" (variable controlPlaneMetrics, which',
                'the patch is on, as its enabledIf "{{ .controlPlaneMetrics.expose }}" is true with controlPlaneMetrics as default/team-a sets it',
            ],
            [
                "default/team-b",
                'kubernetes:cluster.x-k8s.io/v1beta1:Cluster default/team-b sets spec.topology.variables[0].value = "::"',
                `:: is the unspecified IPv6 address: kube-controller-manager listens on ${ALL}`,
            ],
        ]);
        assert.deepStrictEqual(await advisory(resources), []);
    });

    it("passes the same forms on loopback (the opt-in patch switched on with its default 127.0.0.1)", async () => {
        const resources = program("cluster-class-safe.yaml");
        assert.deepStrictEqual(await mandatory(resources), []);
        assert.deepStrictEqual(await advisory(resources), []);
    });

    it("judges a literal behind an enabledIf that is off by default: a Cluster may switch it on", async () => {
        const resources = program("cluster-class-exposed.yaml").slice(0, 1);
        const props = withValue(resources[0].props, ["spec", "patches", 0, "enabledIf"], "{{ .exposeMetrics }}");
        const withVariable = withValue(
            props,
            ["spec", "variables"],
            [
                {
                    name: "exposeMetrics",
                    required: false,
                    schema: { openAPIV3Schema: { type: "boolean", default: false } },
                },
            ],
        );
        assertFindings(await mandatory([{ ...resources[0], props: withVariable }]), [
            [
                "default/literal-v1beta2",
                'the patch is off, as its enabledIf "{{ .exposeMetrics }}" is not true with exposeMetrics at its default, and on for a Cluster that makes it true',
            ],
        ]);
    });

    it("takes the control plane's variable overrides over the Cluster's variables", async () => {
        const resources = program("cluster-class-safe.yaml").slice(-2);
        const cluster = withValue(resources[1].props, ["spec", "topology", "controlPlane", "variables"], {
            overrides: [{ name: "controllerManagerBindAddress", value: "0.0.0.0" }],
        });
        assertFindings(await mandatory([resources[0], { ...resources[1], props: cluster }]), [
            ["default/team-b", 'sets spec.topology.controlPlane.variables.overrides[0].value = "0.0.0.0"'],
        ]);
    });

    it("leaves patches of other templates alone (a worker KubeadmConfigTemplate)", async () => {
        const resources = program("cluster-class-exposed.yaml").slice(0, 1);
        const props = withValue(resources[0].props, ["spec", "patches", 0, "definitions", 0, "selector"], {
            apiVersion: "bootstrap.cluster.x-k8s.io/v1beta2",
            kind: "KubeadmConfigTemplate",
            matchResources: { machineDeploymentClass: { names: ["default-worker"] } },
        });
        assert.deepStrictEqual(await mandatory([{ ...resources[0], props }]), []);
    });
});
