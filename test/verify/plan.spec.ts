import { strict as assert } from "assert";
import { CATALOGUE } from "../../core/catalogue";
import {
    Answer,
    Check,
    checkUrl,
    judge,
    looksLikeMetrics,
    planChecks,
    report,
    VerificationPlan,
} from "../../verify/plan";
import { ClusterNode, ControllerPod, whyNotScheduled } from "../../core/kubernetes";

export const PLAN: VerificationPlan = {
    serviceAccount: { name: "prometheus-server", namespace: "observability" },
    unboundServiceAccount: { name: "eksa-metrics-unbound", namespace: "eksa-metrics" },
    mode: "cluster",
    image: "curlimages/curl:8.11.1",
    tlsServerName: "eksa-metrics-metrics-proxy",
    caCertificate: "-----BEGIN CERTIFICATE-----\n...\n",
    components: CATALOGUE.map(({ name, port, placement, authenticator }) => ({ name, port, placement, authenticator })),
    controllers: [],
    controllerTls: {},
    nodeSelector: {},
    tolerations: [],
    timeoutSeconds: 60,
    concurrency: 4,
    revision: "r1",
};

const cp: ClusterNode = {
    name: "cp-1",
    internalIP: "10.0.0.2",
    labels: { "node-role.kubernetes.io/control-plane": "" },
    taints: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }],
};
const worker: ClusterNode = { name: "worker-1", internalIP: "10.0.0.3", labels: {}, taints: [] };
const METRICS = '# HELP up x\n# TYPE up gauge\nup 1\nrest_client_requests_total{code="200",method="GET"} 42\n';

describe("verification plan", () => {
    it("checks every enabled component on every node where it runs, four ways", () => {
        const { checks, skipped, unserved } = planChecks(PLAN, [cp, worker]);
        assert.deepEqual(skipped, []);
        assert.deepEqual(unserved, []);
        const keys = checks.map((c) => `${c.target.name}/${c.component}/${c.kind}`);
        assert.equal(checks.length, 4 * 4 + 1 * 4);
        assert.ok(keys.includes("worker-1/kube-proxy/authorised"));
        assert.ok(!keys.some((k) => k.startsWith("worker-1/etcd") || k.startsWith("worker-1/kube-scheduler")));
        const offPath = checks.filter((c) => c.kind === "off-path" && c.target.name === "cp-1");
        assert.deepEqual(
            offPath.map((c) => [c.component, c.expectStatus, c.expectHeader]),
            [
                ["kube-controller-manager", [403], "x-eksa-metrics-proxy"],
                ["kube-scheduler", [403], "x-eksa-metrics-proxy"],
                ["kube-proxy", [403], "x-eksa-metrics-proxy"],
                ["etcd", [403], "x-eksa-metrics-proxy"],
            ],
        );
        assert.ok(
            checks.filter((c) => c.kind === "anonymous").every((c) => c.credential === "none" && c.path === "/metrics"),
        );
        assert.ok(
            checks
                .filter((c) => c.kind === "unbound")
                .every((c) => c.credential === "unbound" && c.expectStatus.join() === "403"),
        );
        assert.ok(checks.every((c) => c.target.kind === "node" && c.trust === "proxy"));
    });

    it("skips nodes the proxy cannot run on, and says why", () => {
        const tainted: ClusterNode = {
            ...worker,
            name: "gpu-1",
            taints: [{ key: "nvidia.com/gpu", effect: "NoSchedule" }],
        };
        assert.equal(whyNotScheduled(PLAN, tainted), "taint nvidia.com/gpu:NoSchedule is not tolerated");
        assert.equal(
            whyNotScheduled({ ...PLAN, tolerations: [{ key: "nvidia.com/gpu", operator: "Exists" }] }, tainted),
            undefined,
        );
        assert.equal(
            whyNotScheduled({ ...PLAN, nodeSelector: { "kubernetes.io/os": "linux" } }, worker),
            "node selector kubernetes.io/os=linux does not match",
        );
        assert.equal(whyNotScheduled(PLAN, { ...worker, internalIP: undefined }), "node has no InternalIP");
        assert.equal(
            whyNotScheduled(PLAN, { ...worker, taints: [{ key: "x", effect: "PreferNoSchedule" }] }),
            undefined,
        );
        assert.equal(whyNotScheduled(PLAN, cp), undefined, "control-plane taint is tolerated");
    });

    it("fails a component that no node serves", () => {
        const { unserved } = planChecks(PLAN, [worker]);
        assert.deepEqual(
            unserved.map((u) => u.component),
            ["kube-controller-manager", "kube-scheduler", "etcd"],
        );
    });

    it("recognises the Prometheus exposition format", () => {
        assert.ok(looksLikeMetrics(METRICS));
        assert.ok(!looksLikeMetrics(""));
        assert.ok(!looksLikeMetrics("<html><body>Forbidden</body></html>"));
        assert.ok(!looksLikeMetrics('{"kind":"Status"}'));
    });

    const check = (kind: Check["kind"]) =>
        planChecks(PLAN, [cp]).checks.find((c) => c.component === "kube-scheduler" && c.kind === kind)!;
    const answer = (status: number, body = "", headers: Record<string, string> = {}): Answer => ({
        status,
        body,
        headers,
    });

    it("judges each answer against what the check expects", () => {
        assert.deepEqual(judge(check("authorised"), answer(200, METRICS)), { pass: true, detail: "200 + metrics" });
        assert.deepEqual(judge(check("authorised"), answer(403, "forbidden")), {
            pass: false,
            detail: "expected 200, got 403",
        });
        assert.match(judge(check("authorised"), answer(200, "<html>")).detail, /body is not Prometheus metrics/);
        assert.deepEqual(judge(check("anonymous"), answer(403)), { pass: true, detail: "403" });
        assert.deepEqual(judge(check("anonymous"), answer(401)), { pass: true, detail: "401" });
        assert.deepEqual(judge(check("anonymous"), answer(200, METRICS)), {
            pass: false,
            detail: "expected 401 or 403, got 200",
        });
        assert.deepEqual(judge(check("off-path"), answer(403, "", { "x-eksa-metrics-proxy": "refused" })), {
            pass: true,
            detail: "403",
        });
        assert.match(judge(check("off-path"), answer(403)).detail, /not from the proxy/);
        assert.deepEqual(judge(check("off-path"), { status: 0, headers: {}, body: "", error: "Connection refused" }), {
            pass: false,
            detail: "no answer: Connection refused",
        });
    });

    it("reports a table and one line per failure naming node, component, URL, expected and actual", () => {
        const planned = planChecks(PLAN, [cp, worker]);
        const verdicts = planned.checks.map((c) => ({
            check: c,
            pass: !(c.target.name === "cp-1" && c.component === "kube-controller-manager" && c.kind === "authorised"),
            detail: "x",
            attempts: 3,
        }));
        verdicts[0].detail = "expected 200, got 403";
        const { text, ok } = report(PLAN, planned, verdicts);
        assert.equal(ok, false);
        assert.match(text, /^TARGET +ADDRESS +COMPONENT +CHECK +RESULT +DETAIL$/m);
        assert.match(text, /^cp-1 +10\.0\.0\.2 +kube-controller-manager +authorised +FAIL +expected 200, got 403$/m);
        assert.match(
            text,
            /^FAIL kube-controller-manager on node cp-1 \(10\.0\.0\.2\): authorised https:\/\/eksa-metrics-metrics-proxy:10257\/metrics with the reader's token: expected 200, got 403 \(after 3 attempts\)$/m,
        );
        assert.match(text, /verification failed: 1 of 20 checks failed$/);
        const allOk = report(
            PLAN,
            planned,
            verdicts.map((v) => ({ ...v, pass: true })),
        );
        assert.equal(allOk.ok, true);
        assert.match(allOk.text, /verified: 20 checks passed$/);
    });

    it("never reports success when nothing was checked", () => {
        const { ok, text } = report(
            PLAN,
            { checks: [], skipped: [{ target: "node n", reason: "r" }], unserved: [] },
            [],
        );
        assert.equal(ok, false);
        assert.match(text, /nothing was checked/);
    });

    describe("controllers on their diagnostics endpoint", () => {
        const capi = {
            name: "capi-controller-manager",
            namespace: "capi-system",
            selector: { "cluster.x-k8s.io/provider": "cluster-api" },
            port: 8443,
        };
        const capv = {
            name: "capv-controller-manager",
            namespace: "capv-system",
            selector: { "cluster.x-k8s.io/provider": "infrastructure-vsphere" },
            port: 8443,
        };
        const withControllers: VerificationPlan = { ...PLAN, components: [], controllers: [capi, capv] };
        const pod = (name: string, podIP?: string): ControllerPod => ({
            controller: capi.name,
            namespace: capi.namespace,
            name,
            podIP,
        });

        it("checks every pod of a controller three ways, on its pod IP, with the certificate unpinned", () => {
            const { checks, unserved, skipped } = planChecks(
                withControllers,
                [],
                [pod("capi-1", "192.168.0.5"), pod("capi-2")],
            );
            assert.deepEqual(
                checks.map((c) => [
                    c.target.name,
                    c.target.address,
                    c.kind,
                    c.credential,
                    c.expectStatus.join(),
                    c.trust,
                ]),
                [
                    ["capi-system/capi-1", "192.168.0.5", "authorised", "reader", "200", "unpinned"],
                    ["capi-system/capi-1", "192.168.0.5", "anonymous", "none", "401", "unpinned"],
                    ["capi-system/capi-1", "192.168.0.5", "unbound", "unbound", "403", "unpinned"],
                ],
            );
            assert.deepEqual(skipped, [{ target: "pod capi-system/capi-2", reason: "has no pod IP yet" }]);
            assert.deepEqual(unserved, [
                {
                    component: "capv-controller-manager",
                    reason: "no pod in namespace capv-system with labels cluster.x-k8s.io/provider=infrastructure-vsphere exists",
                },
            ]);
            assert.equal(checkUrl(withControllers, checks[0]), "https://192.168.0.5:8443/metrics");
        });

        it("pins the controllers' CA, by server name when one is given", () => {
            const pinned = {
                ...withControllers,
                controllerTls: { caCertificate: "-----BEGIN CERTIFICATE-----", serverName: "capi.capi-system.svc" },
            };
            const [first] = planChecks(pinned, [], [pod("capi-1", "192.168.0.5")]).checks;
            assert.equal(first.trust, "controllers");
            assert.equal(checkUrl(pinned, first), "https://capi.capi-system.svc:8443/metrics");
        });

        it("fails naming the controller, its namespace and labels, and says the certificate was not pinned", () => {
            const planned = planChecks(withControllers, [], [pod("capi-1", "192.168.0.5")]);
            const verdicts = planned.checks.map((c) => ({
                check: c,
                pass: c.kind !== "authorised",
                detail: c.kind === "authorised" ? "expected 200, got 403" : "ok",
                attempts: 2,
            }));
            const { ok, text } = report(withControllers, planned, verdicts);
            assert.equal(ok, false);
            assert.match(
                text,
                /^capi-system\/capi-1 +192\.168\.0\.5 +capi-controller-manager +authorised +FAIL +expected 200, got 403$/m,
            );
            assert.match(
                text,
                /^FAIL capi-controller-manager on pod capi-system\/capi-1 \(192\.168\.0\.5\): authorised https:\/\/192\.168\.0\.5:8443\/metrics with the reader's token: expected 200, got 403 \(after 2 attempts\)$/m,
            );
            assert.match(text, /^FAIL capv-controller-manager: no pod in namespace capv-system/m);
            assert.match(text, /^note: the controllers' certificates were not verified/m);
            assert.match(text, /verification failed: 1 of 3 checks failed, 1 not served$/);
        });
    });
});
