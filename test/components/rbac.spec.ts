import { strict as assert } from "assert";
import { only, registerUnder } from "../support/mockEngine";
import { resolveSettings } from "../../config/settings";
import { rbacSubject, registerRbac } from "../../components/rbac";

const CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole";
const BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding";
const SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount";

describe("registerRbac", function () {
    this.timeout(20_000);

    it("binds GET /metrics to the readers, gives the proxy TokenReviews, and creates the unbound service account", async () => {
        const settings = resolveSettings({
            readers: [
                { kind: "ServiceAccount", name: "prometheus", namespace: "monitoring" },
                { kind: "Group", name: "sre" },
            ],
        });
        const { children } = await registerUnder((opts) => registerRbac("metrics", settings, "ns", opts));
        assert.deepEqual(
            children.map((c) => `${c.type} ${c.name}`).sort(),
            [
                `${CLUSTER_ROLE} metrics-metrics-reader`,
                `${BINDING} metrics-metrics-reader`,
                `${BINDING} metrics-token-review`,
                `${SERVICE_ACCOUNT} metrics-proxy`,
                `${SERVICE_ACCOUNT} metrics-unbound`,
            ].sort(),
        );
        assert.deepEqual(only(children, CLUSTER_ROLE).props.rules, [{ nonResourceURLs: ["/metrics"], verbs: ["get"] }]);
        const binding = only(children, BINDING, "metrics-metrics-reader").props;
        assert.equal(binding.roleRef.name, "metrics-metrics-reader-abc123");
        assert.deepEqual(binding.subjects, [
            { kind: "ServiceAccount", name: "prometheus", namespace: "monitoring" },
            { kind: "Group", name: "sre", apiGroup: "rbac.authorization.k8s.io" },
        ]);
        const review = only(children, BINDING, "metrics-token-review").props;
        assert.equal(review.roleRef.name, "system:auth-delegator");
        assert.deepEqual(review.subjects, [{ kind: "ServiceAccount", name: "metrics-proxy-abc123", namespace: "ns" }]);
        const unbound = only(children, SERVICE_ACCOUNT, "metrics-unbound").props;
        assert.deepEqual(unbound.metadata, { name: "eksa-metrics-unbound", namespace: "ns" });
        assert.equal(unbound.automountServiceAccountToken, false);
        assert.equal(only(children, SERVICE_ACCOUNT, "metrics-proxy").props.automountServiceAccountToken, false);
    });

    it("creates and binds the verification's own service account when readers may not exist yet", async () => {
        const settings = resolveSettings({ namespace: "metrics", readersMayNotExistYet: true });
        const { result, children } = await registerUnder((opts) => registerRbac("m", settings, "metrics", opts));
        assert.ok(result.verifier);
        assert.deepEqual(only(children, SERVICE_ACCOUNT, "m-verifier").props.metadata, {
            name: "eksa-metrics-verifier",
            namespace: "metrics",
        });
        assert.deepEqual(only(children, BINDING, "m-metrics-reader").props.subjects, [
            { kind: "ServiceAccount", name: "prometheus-server", namespace: "observability" },
            { kind: "ServiceAccount", name: "eksa-metrics-verifier", namespace: "metrics" },
        ]);
    });

    it("grants no TokenReviews when no component is behind kube-rbac-proxy", async () => {
        const settings = resolveSettings({ components: { "kube-proxy": false, etcd: false } });
        const { result, children } = await registerUnder((opts) => registerRbac("m", settings, "ns", opts));
        assert.equal(result.gateBinding, undefined);
        assert.deepEqual(
            children.filter((c) => c.type === BINDING).map((c) => c.name),
            ["m-metrics-reader"],
        );
    });

    it("writes RBAC subjects: a service account with its namespace, users and groups with the RBAC API group", () => {
        assert.deepEqual(rbacSubject({ kind: "ServiceAccount", name: "a", namespace: "b" }), {
            kind: "ServiceAccount",
            name: "a",
            namespace: "b",
        });
        assert.deepEqual(rbacSubject({ kind: "User", name: "alice" }), {
            kind: "User",
            name: "alice",
            apiGroup: "rbac.authorization.k8s.io",
        });
    });
});
