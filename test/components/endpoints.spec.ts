import { strict as assert } from "assert";
import { resolveSettings } from "../../config/settings";
import { endpointsOf } from "../../components/endpoints";

describe("endpointsOf", () => {
    it("lists each component on its nodes' port, external etcd by URL, and controllers on their pods", () => {
        const endpoints = endpointsOf(
            resolveSettings({
                components: { "kube-scheduler": false },
                etcd: { topology: "external", endpoints: ["https://10.0.0.21:2379", "https://10.0.0.22:2379/"] },
                controllers: { extra: [{ name: "op", namespace: "op-system", selector: { app: "op" }, port: 9443 }] },
            }),
        );
        assert.deepEqual(endpoints, [
            {
                component: "kube-controller-manager",
                url: "https://NODE_IP:10257/metrics",
                nodes: "control-plane",
                authenticatedBy: "kube-controller-manager",
            },
            {
                component: "kube-proxy",
                url: "https://NODE_IP:10249/metrics",
                nodes: "all-nodes",
                authenticatedBy: "kube-rbac-proxy",
            },
            {
                component: "etcd",
                url: "https://10.0.0.21:2379/metrics",
                nodes: "external",
                authenticatedBy: "etcd client certificate",
            },
            {
                component: "etcd",
                url: "https://10.0.0.22:2379/metrics",
                nodes: "external",
                authenticatedBy: "etcd client certificate",
            },
            {
                component: "op",
                url: "https://POD_IP:9443/metrics",
                nodes: "controller pods",
                authenticatedBy: "controller-runtime (TokenReview + SubjectAccessReview)",
                certificate: "self-signed, not pinned",
            },
        ]);
    });
});
