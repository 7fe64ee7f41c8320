import { strict as assert } from "assert";
import { CATALOGUE, catalogueEntry, COMPONENT_NAMES, componentsFor, upstreamUrl } from "../../components/catalogue";

describe("catalogue", () => {
    it("lists each component once, with the ports, schemes and authenticators of a kubeadm control plane", () => {
        assert.deepEqual(CATALOGUE.map((c) => [c.name, c.port, c.upstreamScheme, c.authenticator, c.placement]), [
            ["kube-controller-manager", 10257, "https", "upstream", "control-plane"],
            ["kube-scheduler", 10259, "https", "upstream", "control-plane"],
            ["kube-proxy", 10249, "http", "proxy", "all-nodes"],
            ["etcd", 2381, "http", "proxy", "control-plane"],
        ]);
        assert.deepEqual(CATALOGUE.map((c) => c.name), [...COMPONENT_NAMES]);
        assert.equal(new Set(CATALOGUE.map((c) => c.port)).size, CATALOGUE.length);
    });

    it("uses container port names Kubernetes accepts (IANA_SVC_NAME)", () => {
        for (const c of CATALOGUE) {
            assert.match(c.portName, /^(?=.{1,15}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
            assert.match(c.portName, /[a-z]/);
        }
    });

    it("puts only kube-proxy on workers and everything on control-plane nodes", () => {
        assert.deepEqual(componentsFor("worker", CATALOGUE).map((c) => c.name), ["kube-proxy"]);
        assert.deepEqual(componentsFor("control-plane", CATALOGUE).map((c) => c.name), [...COMPONENT_NAMES]);
        assert.deepEqual(componentsFor("worker", CATALOGUE.filter((c) => c.name !== "kube-proxy")), []);
    });

    it("forwards to the component on loopback only", () => {
        assert.equal(upstreamUrl(catalogueEntry("kube-scheduler")), "https://127.0.0.1:10259");
        assert.equal(upstreamUrl(catalogueEntry("etcd")), "http://127.0.0.1:2381");
        assert.throws(() => catalogueEntry("kubelet" as never), /unknown component "kubelet"/);
    });
});
