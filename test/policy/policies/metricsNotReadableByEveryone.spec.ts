import * as assert from "assert";
import { METRICS_READABLE, metricsNotReadableByEveryone } from "../../../policy/policies/metricsNotReadableByEveryone";
import { metricsExposureUnknownDuringPreview } from "../../../policy/policies/metricsExposureUnknownDuringPreview";
import {
    asConfigFileChild,
    fixture,
    fixtureDocuments,
    runPolicy,
    runStackPolicy,
    UNKNOWN_DURING_PREVIEW as SENTINEL,
    withValue,
} from "../harness";

const CRB = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding";
const program = () => fixtureDocuments("rbac.yaml").map(asConfigFileChild);

describe(`policy ${METRICS_READABLE} (stack policy)`, () => {
    it("judges each binding against the role it references in the same program", async () => {
        const violations = await runStackPolicy(metricsNotReadableByEveryone, program());
        assert.deepStrictEqual(
            violations.map((v) => [v.resource, /to (\S+ \S+) \(/.exec(v.message)![1]]),
            [
                ["metrics-for-anyone", "User system:anonymous"],
                ["metrics-for-anyone", "Group system:unauthenticated"],
                ["metrics-for-authenticated", "Group system:authenticated"],
                ["admin-for-anonymous", "User system:anonymous"],
            ],
        );
        const [anonymous, , prefix, admin] = violations.map((v) => v.message);
        assert.ok(
            anonymous.startsWith(
                `metrics readable by everyone: ${CRB} metrics-for-anyone binds metrics-reader to User system:anonymous (subjects[1]), the anonymous user ` +
                    '(every request without credentials), and kubernetes:rbac.authorization.k8s.io/v1:ClusterRole metrics-reader grants get on /metrics (rules[0].nonResourceURLs[0] = "/metrics")',
            ),
            anonymous,
        );
        assert.ok(
            anonymous.includes("CIS Kubernetes Benchmark 5.1.3") && anonymous.includes("scraper's own ServiceAccount"),
            anonymous,
        );
        assert.ok(prefix.includes('rules[0].nonResourceURLs[1] = "/metrics*"'), prefix);
        assert.ok(
            admin.includes(
                'the built-in ClusterRole cluster-admin grants get on /metrics (rules[1].nonResourceURLs[0] = "*")',
            ),
            admin,
        );
    });

    it("passes the docs' binding to one ServiceAccount, roles without /metrics, and RoleBindings (they cannot grant non-resource URLs)", async () => {
        const named = (names: string[]) => program().filter((r) => names.includes(r.name));
        assert.deepStrictEqual(
            await runStackPolicy(
                metricsNotReadableByEveryone,
                named(["metrics-reader", "metrics-reader-binding", "health-for-anyone", "metrics-reader-in-namespace"]),
            ),
            [],
        );
    });

    it("cannot judge a binding whose role is not in the program (and says nothing)", async () => {
        assert.deepStrictEqual(
            await runStackPolicy(
                metricsNotReadableByEveryone,
                program().filter((r) => r.name === "metrics-for-anyone"),
            ),
            [],
        );
    });

    it("names unknown subjects and rules during preview (advisory resource policy)", async () => {
        const binding = asConfigFileChild(fixture("rbac.yaml", "metrics-for-anyone"));
        const unknownSubject = { ...binding, props: withValue(binding.props, ["subjects", 1, "name"], SENTINEL) };
        const messages = (await runPolicy(metricsExposureUnknownDuringPreview, unknownSubject)).violations;
        assert.deepStrictEqual(messages.length, 1);
        assert.ok(
            messages[0].startsWith(
                `[${METRICS_READABLE}] ${CRB} metrics-for-anyone: subjects[1] is unknown during preview, so the policy cannot check who may read /metrics.`,
            ),
            messages[0],
        );
        // The known subjects are still judged by the stack policy.
        const rest = program().filter((r) => r.name !== "metrics-for-anyone");
        assert.strictEqual(
            (await runStackPolicy(metricsNotReadableByEveryone, [...rest, unknownSubject])).filter(
                (v) => v.resource === "metrics-for-anyone",
            ).length,
            1,
        );

        const role = asConfigFileChild(fixture("rbac.yaml", "metrics-reader"));
        const roleMessages = (
            await runPolicy(metricsExposureUnknownDuringPreview, {
                ...role,
                props: withValue(role.props, ["rules"], SENTINEL),
            })
        ).violations;
        assert.ok(
            roleMessages.length === 1 &&
                roleMessages[0].includes("ClusterRole metrics-reader: rules is unknown during preview"),
            roleMessages.join("\n"),
        );
    });
});
