import * as assert from "assert";
import {
    CLUSTER_CLASS_BIND_ADDRESS_UNKNOWN,
    clusterClassBindAddressUnknownDuringPreview,
} from "../../../policy/policies/clusterClassBindAddressUnknownDuringPreview";
import { clusterClassControlPlaneMetricsNotOnAllInterfaces } from "../../../policy/policies/clusterClassControlPlaneMetricsNotOnAllInterfaces";
import {
    asConfigFileChild,
    fixtureDocuments,
    RegisteredResource,
    runStackPolicy,
    UNKNOWN_DURING_PREVIEW as SENTINEL,
    withValue,
    assertFindings,
} from "../harness";

const CC1 = "kubernetes:cluster.x-k8s.io/v1beta1:ClusterClass";

const program = (file: string) => fixtureDocuments(file).map(asConfigFileChild);
const mandatory = (resources: RegisteredResource[]) =>
    runStackPolicy(clusterClassControlPlaneMetricsNotOnAllInterfaces, resources);
const advisory = (resources: RegisteredResource[]) =>
    runStackPolicy(clusterClassBindAddressUnknownDuringPreview, resources);

/** The run-time fixture's class with one patch edited. */
function runTimeClass(edit: (cc: RegisteredResource) => Record<string, unknown>): RegisteredResource[] {
    const [cc] = program("cluster-class-run-time.yaml");
    return [{ ...cc, props: edit(cc) }];
}

describe(`policy ${CLUSTER_CLASS_BIND_ADDRESS_UNKNOWN} (advisory stack policy)`, () => {
    it("is advisory", () => {
        assert.strictEqual(clusterClassBindAddressUnknownDuringPreview.enforcementLevel, "advisory");
    });

    it("says a variable with no default that no Cluster of the program sets is known only at run time", async () => {
        const resources = program("cluster-class-run-time.yaml");
        assert.deepStrictEqual(await mandatory(resources), []);
        assertFindings(await advisory(resources), [
            [
                "default/run-time-v1beta1",
                `${CC1} default/run-time-v1beta1: variable "controllerManagerBindAddress" has no default, and no Cluster of this program that uses the class sets it, so its value is known only at run time, from the Cluster that will use the class; the policy cannot check the kube-controller-manager bind address that spec.patches[0].definitions[0].jsonPatches[0] (/spec/template/spec/kubeadmConfigSpec/clusterConfiguration/controllerManager/extraArgs/bind-address) writes.`,
                "CIS Kubernetes Benchmark 1.3.7",
            ],
        ]);
    });

    it("names a Cluster's variable that is unknown during preview", async () => {
        const resources = program("cluster-class-safe.yaml").slice(-2);
        const cluster = withValue(resources[1].props, ["spec", "topology", "variables", 0, "value"], SENTINEL);
        const all = [resources[0], { ...resources[1], props: cluster }];
        assert.deepStrictEqual(await mandatory(all), []);
        assertFindings(await advisory(all), [
            [
                "default/team-b",
                "kubernetes:cluster.x-k8s.io/v1beta1:Cluster default/team-b: spec.topology.variables[0].value is unknown during preview, so the policy cannot check the kube-controller-manager bind address",
                "checked on `pulumi up`",
            ],
        ]);
    });

    it("names a template it does not evaluate", async () => {
        const resources = runTimeClass((cc) =>
            withValue(cc.props, ["spec", "patches", 0, "definitions", 0, "jsonPatches", 0, "valueFrom"], {
                template: '{{ .controllerManagerBindAddress | default "127.0.0.1" }}',
            }),
        );
        assertFindings(await advisory(resources), [
            [
                "default/run-time-v1beta1",
                "spec.patches[0].definitions[0].jsonPatches[0].valueFrom.template is a template this policy does not evaluate",
            ],
        ]);
    });
});
