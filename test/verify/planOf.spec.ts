import { strict as assert } from "assert";
import { resolveSettings } from "../../config/settings";
import { DeployedProxy, planOf } from "../../verify/plan";

const DEPLOYED: DeployedProxy = {
    caCertificate: "CA-PEM\n",
    tlsSecretName: "metrics-tls-abc123",
    haproxyConfigMapNames: ["metrics-control-plane-haproxy-abc123"],
    images: { proxyImage: "h:1", gateImage: "g:1" },
    verifyImage: "curlimages/curl:8.11.1",
    resources: [{ requests: { cpu: "1m" } }, { requests: { cpu: "2m" } }],
    rbacUids: ["u1", "u2", ""],
};

describe("planOf: the verification's plan from the settings and the deployed objects", () => {
    it("carries the settings' checks, the CA to verify against and the curl image of the cluster mode", () => {
        const plan = planOf(
            resolveSettings({
                namespace: "obs",
                components: { etcd: false },
                verify: { timeoutSeconds: 60, concurrency: 2, mode: "local" },
                tolerations: [{ key: "dedicated", operator: "Exists" }],
                nodeSelector: { pool: "a" },
            }),
            DEPLOYED,
        );
        const { revision, ...rest } = plan;
        assert.deepEqual(rest, {
            serviceAccount: { name: "prometheus-server", namespace: "observability" },
            unboundServiceAccount: { name: "eksa-metrics-unbound", namespace: "obs" },
            mode: "local",
            image: "curlimages/curl:8.11.1",
            imagePullSecrets: [],
            tlsServerName: "obs-metrics-proxy",
            caCertificate: "CA-PEM\n",
            components: [
                { name: "kube-controller-manager", port: 10257, placement: "control-plane", authenticator: "upstream" },
                { name: "kube-scheduler", port: 10259, placement: "control-plane", authenticator: "upstream" },
                { name: "kube-proxy", port: 10249, placement: "all-nodes", authenticator: "proxy" },
            ],
            controllers: [],
            controllerTls: {},
            nodeSelector: { pool: "a" },
            tolerations: [{ key: "dedicated", operator: "Exists" }],
            timeoutSeconds: 60,
            concurrency: 2,
        });
        assert.equal(
            revision,
            '{"tlsSecretName":"metrics-tls-abc123","configMapNames":["metrics-control-plane-haproxy-abc123"],' +
                '"images":{"proxyImage":"h:1","gateImage":"g:1"},"resources":[{"requests":{"cpu":"1m"}},{"requests":{"cpu":"2m"}}],' +
                '"readers":[{"kind":"ServiceAccount","name":"prometheus-server","namespace":"observability"}],' +
                '"namespace":"obs","rbacUids":["u1","u2",""]}',
        );
    });

    it("changes its revision when what is verified changes, and only then", () => {
        const settings = resolveSettings({});
        const base = planOf(settings, DEPLOYED).revision;
        assert.equal(planOf(resolveSettings({}), { ...DEPLOYED }).revision, base);
        for (const changed of [
            { tlsSecretName: "metrics-tls-def456" },
            { haproxyConfigMapNames: ["other"] },
            { images: { proxyImage: "h:2", gateImage: "g:1" } },
            { rbacUids: ["u1", "u3", ""] },
        ]) {
            assert.notEqual(planOf(settings, { ...DEPLOYED, ...changed }).revision, base, JSON.stringify(changed));
        }
        assert.notEqual(planOf(resolveSettings({ namespace: "other" }), DEPLOYED).revision, base);
    });
});
