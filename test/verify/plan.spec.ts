import { strict as assert } from "assert";
import { CATALOGUE } from "../../components/catalogue";
import { Answer, Check, ClusterNode, judge, looksLikeMetrics, planChecks, report, VerificationPlan, whyNotScheduled } from "../../verify/plan";

export const PLAN: VerificationPlan = {
    serviceAccount: { name: "prometheus-server", namespace: "observability" },
    tlsServerName: "eksa-metrics-metrics-proxy",
    caCertificate: "-----BEGIN CERTIFICATE-----\n...\n",
    components: CATALOGUE.map(({ name, port, placement, authenticator }) => ({ name, port, placement, authenticator })),
    nodeSelector: {},
    tolerations: [],
    timeoutSeconds: 60,
    concurrency: 4,
    revision: "r1",
};

const cp: ClusterNode = { name: "cp-1", internalIP: "10.0.0.2", labels: { "node-role.kubernetes.io/control-plane": "" }, taints: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }] };
const worker: ClusterNode = { name: "worker-1", internalIP: "10.0.0.3", labels: {}, taints: [] };
const METRICS = "# HELP up x\n# TYPE up gauge\nup 1\nrest_client_requests_total{code=\"200\",method=\"GET\"} 42\n";

describe("verification plan", () => {
    it("checks every enabled component on every node where it runs, three ways", () => {
        const { checks, skipped, unserved } = planChecks(PLAN, [cp, worker]);
        assert.deepEqual(skipped, []);
        assert.deepEqual(unserved, []);
        const keys = checks.map((c) => `${c.node}/${c.component}/${c.kind}`);
        assert.equal(checks.length, 4 * 3 + 1 * 3);
        assert.ok(keys.includes("worker-1/kube-proxy/authorised"));
        assert.ok(!keys.some((k) => k.startsWith("worker-1/etcd") || k.startsWith("worker-1/kube-scheduler")));
        const offPath = checks.filter((c) => c.kind === "off-path" && c.node === "cp-1");
        assert.deepEqual(offPath.map((c) => [c.component, c.expectStatus, c.expectHeader]), [
            ["kube-controller-manager", [403], "x-eksa-metrics-proxy"],
            ["kube-scheduler", [403], "x-eksa-metrics-proxy"],
            ["kube-proxy", [404], undefined],
            ["etcd", [404], undefined],
        ]);
        assert.ok(checks.filter((c) => c.kind === "anonymous").every((c) => !c.withToken && c.path === "/metrics"));
    });

    it("skips nodes the proxy cannot run on, and says why", () => {
        const tainted: ClusterNode = { ...worker, name: "gpu-1", taints: [{ key: "nvidia.com/gpu", effect: "NoSchedule" }] };
        assert.equal(whyNotScheduled(PLAN, tainted), "taint nvidia.com/gpu:NoSchedule is not tolerated");
        assert.equal(whyNotScheduled({ ...PLAN, tolerations: [{ key: "nvidia.com/gpu", operator: "Exists" }] }, tainted), undefined);
        assert.equal(whyNotScheduled({ ...PLAN, nodeSelector: { "kubernetes.io/os": "linux" } }, worker), "node selector kubernetes.io/os=linux does not match");
        assert.equal(whyNotScheduled(PLAN, { ...worker, internalIP: undefined }), "node has no InternalIP");
        assert.equal(whyNotScheduled(PLAN, { ...worker, taints: [{ key: "x", effect: "PreferNoSchedule" }] }), undefined);
        assert.equal(whyNotScheduled(PLAN, cp), undefined, "control-plane taint is tolerated");
    });

    it("fails a component that no node serves", () => {
        const { unserved } = planChecks(PLAN, [worker]);
        assert.deepEqual(unserved, ["kube-controller-manager", "kube-scheduler", "etcd"]);
    });

    it("recognises the Prometheus exposition format", () => {
        assert.ok(looksLikeMetrics(METRICS));
        assert.ok(!looksLikeMetrics(""));
        assert.ok(!looksLikeMetrics("<html><body>Forbidden</body></html>"));
        assert.ok(!looksLikeMetrics("{\"kind\":\"Status\"}"));
    });

    const check = (kind: Check["kind"]) => planChecks(PLAN, [cp]).checks.find((c) => c.component === "kube-scheduler" && c.kind === kind)!;
    const answer = (status: number, body = "", headers: Record<string, string> = {}): Answer => ({ status, body, headers });

    it("judges each answer against what the check expects", () => {
        assert.deepEqual(judge(check("authorised"), answer(200, METRICS)), { pass: true, detail: "200 + metrics" });
        assert.deepEqual(judge(check("authorised"), answer(403, "forbidden")), { pass: false, detail: "expected 200, got 403" });
        assert.match(judge(check("authorised"), answer(200, "<html>")).detail, /body is not Prometheus metrics/);
        assert.deepEqual(judge(check("anonymous"), answer(403)), { pass: true, detail: "403" });
        assert.deepEqual(judge(check("anonymous"), answer(401)), { pass: true, detail: "401" });
        assert.deepEqual(judge(check("anonymous"), answer(200, METRICS)), { pass: false, detail: "expected 401 or 403, got 200" });
        assert.deepEqual(judge(check("off-path"), answer(403, "", { "x-eksa-metrics-proxy": "refused" })), { pass: true, detail: "403" });
        assert.match(judge(check("off-path"), answer(403)).detail, /not from the proxy/);
        assert.deepEqual(judge(check("off-path"), { status: 0, headers: {}, body: "", error: "Connection refused" }), { pass: false, detail: "no answer: Connection refused" });
    });

    it("reports a table and one line per failure naming node, component, URL, expected and actual", () => {
        const planned = planChecks(PLAN, [cp, worker]);
        const verdicts = planned.checks.map((c) => ({ check: c, pass: !(c.node === "cp-1" && c.component === "kube-controller-manager" && c.kind === "authorised"), detail: "x", attempts: 3 }));
        verdicts[0].detail = "expected 200, got 403";
        const { text, ok } = report(PLAN, planned, verdicts);
        assert.equal(ok, false);
        assert.match(text, /^NODE +IP +COMPONENT +CHECK +RESULT +DETAIL$/m);
        assert.match(text, /^cp-1 +10\.0\.0\.2 +kube-controller-manager +authorised +FAIL +expected 200, got 403$/m);
        assert.match(text, /^FAIL kube-controller-manager on node cp-1 \(10\.0\.0\.2\): authorised https:\/\/eksa-metrics-metrics-proxy:10257\/metrics with token: expected 200, got 403 \(after 3 attempts\)$/m);
        assert.match(text, /verification failed: 1 of 15 checks failed$/);
        const allOk = report(PLAN, planned, verdicts.map((v) => ({ ...v, pass: true })));
        assert.equal(allOk.ok, true);
        assert.match(allOk.text, /verified: 15 checks passed$/);
    });

    it("never reports success when nothing was checked", () => {
        const { ok, text } = report(PLAN, { checks: [], skipped: [{ node: "n", reason: "r" }], unserved: [] }, []);
        assert.equal(ok, false);
        assert.match(text, /nothing was checked/);
    });
});
