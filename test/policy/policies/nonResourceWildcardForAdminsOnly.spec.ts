import * as assert from "assert";
import {
    NON_RESOURCE_WILDCARD,
    nonResourceWildcardForAdminsOnly,
} from "../../../policy/policies/nonResourceWildcardForAdminsOnly";
import { asConfigFileChild, fixtureDocuments, runStackPolicy } from "../harness";

const program = () => fixtureDocuments("rbac.yaml").map(asConfigFileChild);

describe(`policy ${NON_RESOURCE_WILDCARD} (advisory stack policy)`, () => {
    it("is advisory", () => {
        assert.strictEqual(nonResourceWildcardForAdminsOnly.enforcementLevel, "advisory");
    });

    it('warns on nonResourceURLs "*" for a ServiceAccount, not for system:masters (and leaves everyone-subjects to the mandatory policy)', async () => {
        const violations = await runStackPolicy(nonResourceWildcardForAdminsOnly, program());
        assert.deepStrictEqual(
            violations.map((v) => v.resource),
            ["all-non-resource-for-monitoring"],
        );
        const message = violations[0].message;
        assert.ok(
            message.startsWith(
                "every non-resource URL granted to a non-admin: kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding all-non-resource-for-monitoring binds " +
                    'all-non-resource to ServiceAccount monitoring/monitoring-agent (subjects[0]), and kubernetes:rbac.authorization.k8s.io/v1:ClusterRole all-non-resource grants nonResourceURLs "*" (rules[0].nonResourceURLs[0])',
            ),
            message,
        );
        assert.ok(
            message.includes("CIS Kubernetes Benchmark 5.1.1") && message.includes("metrics-reader role"),
            message,
        );
    });

    it("takes administrators from config (adminSubjects), and warns on cluster-admin for anyone else", async () => {
        const asAdmin = await runStackPolicy(nonResourceWildcardForAdminsOnly, program(), {
            adminSubjects: ["ServiceAccount:monitoring/monitoring-agent"],
        });
        assert.deepStrictEqual(
            asAdmin.map((v) => /to (\S+ \S+) \(/.exec(v.message)![1]),
            ["Group system:masters"],
        );
        const clusterAdmin = {
            type: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
            name: "ci-admin",
            props: {
                metadata: { name: "ci-admin" },
                roleRef: { kind: "ClusterRole", name: "cluster-admin" },
                subjects: [{ kind: "ServiceAccount", name: "ci", namespace: "ci" }],
            },
        };
        const violations = await runStackPolicy(nonResourceWildcardForAdminsOnly, [clusterAdmin]);
        assert.strictEqual(violations.length, 1);
        assert.ok(
            violations[0].message.includes("the built-in ClusterRole cluster-admin grants nonResourceURLs"),
            violations[0].message,
        );
    });
});
