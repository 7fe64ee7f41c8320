/** The project's own stack passes its own pack: every object MetricsStack registers, through both policies. */
import { strict as assert } from "assert";
import { policies } from "../../policy/policies";
import { programViolations, RegisteredResource } from "./harness";
import { Manifest, ownManifests } from "./support/ownStack";

/** The type token the kubernetes provider registers a manifest under. */
function typeToken(manifest: Manifest): string {
    const groupVersion = manifest.apiVersion.includes("/") ? manifest.apiVersion : `core/${manifest.apiVersion}`;
    return `kubernetes:${groupVersion}:${manifest.kind}`;
}

describe("the project's own stack under its own pack", function () {
    this.timeout(120_000);
    let resources: RegisteredResource[];

    before(async () => {
        resources = (await ownManifests()).map((m) => ({ type: typeToken(m), name: m.metadata.name, props: m }));
    });

    it("raises no violation on any of its objects", async () => {
        assert.deepEqual(resources.map((r) => r.type).sort(), [
            "kubernetes:apps/v1:DaemonSet",
            "kubernetes:apps/v1:DaemonSet",
            "kubernetes:core/v1:ConfigMap",
            "kubernetes:core/v1:ConfigMap",
            "kubernetes:core/v1:Namespace",
            "kubernetes:core/v1:Secret",
            "kubernetes:core/v1:ServiceAccount",
            "kubernetes:core/v1:ServiceAccount",
            "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
            "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
            "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
        ]);
        for (const policy of policies) {
            assert.deepEqual(await programViolations(policy, resources), [], policy.name);
        }
    });

    it("would be caught if one of its DaemonSets ran a scheduler on all interfaces (the check can fail)", async () => {
        const daemonSet = structuredClone(resources.find((r) => r.type === "kubernetes:apps/v1:DaemonSet")!) as any;
        daemonSet.props.spec.template.spec.containers.push({
            name: "sched",
            image: "registry.k8s.io/kube-scheduler:v1.34.4",
            command: ["kube-scheduler", "--bind-address=0.0.0.0"],
        });
        const runs = await Promise.all(policies.map((policy) => programViolations(policy, [daemonSet])));
        assert.equal(runs.flat().length, 1);
    });
});
