import { strict as assert } from "assert";
import {
    isKubeRbacProxyHost,
    kubeRbacProxyHost,
    CATALOGUE,
    catalogueEntry,
    COMPONENT_NAMES,
    componentsFor,
    CONTROLLER_CATALOGUE,
    CONTROLLER_NAMES,
    controllerEntry,
    controllerImages,
    DIAGNOSTICS_PORT,
    upstreamUrl,
} from "../../core/catalogue";
import { imageProgram } from "../../core/containers";

describe("catalogue", () => {
    it("lists each component once, with the ports, schemes and authenticators of a kubeadm control plane", () => {
        assert.deepEqual(
            CATALOGUE.map((c) => [c.name, c.port, c.upstreamScheme, c.authenticator, c.placement]),
            [
                ["kube-controller-manager", 10257, "https", "upstream", "control-plane"],
                ["kube-scheduler", 10259, "https", "upstream", "control-plane"],
                ["kube-proxy", 10249, "http", "proxy", "all-nodes"],
                ["etcd", 2381, "http", "proxy", "control-plane"],
            ],
        );
        assert.deepEqual(
            CATALOGUE.map((c) => c.name),
            [...COMPONENT_NAMES],
        );
        assert.equal(new Set(CATALOGUE.map((c) => c.port)).size, CATALOGUE.length);
    });

    it("uses container port names Kubernetes accepts (IANA_SVC_NAME)", () => {
        for (const c of CATALOGUE) {
            assert.match(c.portName, /^(?=.{1,15}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
            assert.match(c.portName, /[a-z]/);
        }
    });

    it("puts only kube-proxy on workers and everything on control-plane nodes", () => {
        assert.deepEqual(
            componentsFor("worker", CATALOGUE).map((c) => c.name),
            ["kube-proxy"],
        );
        assert.deepEqual(
            componentsFor("control-plane", CATALOGUE).map((c) => c.name),
            [...COMPONENT_NAMES],
        );
        assert.deepEqual(
            componentsFor(
                "worker",
                CATALOGUE.filter((c) => c.name !== "kube-proxy"),
            ),
            [],
        );
    });

    it("forwards to the component on loopback only", () => {
        assert.equal(upstreamUrl(catalogueEntry("kube-scheduler")), "https://127.0.0.1:10259");
        assert.equal(upstreamUrl(catalogueEntry("etcd")), "http://127.0.0.1:2381");
        assert.throws(() => catalogueEntry("kubelet" as never), /unknown component "kubelet"/);
    });

    describe("controllers", () => {
        it("lists the design's controller-runtime managers once each, on the diagnostics port 8443 named metrics", () => {
            assert.deepEqual(CONTROLLER_NAMES, [
                "eks-anywhere-controller-manager",
                "eks-anywhere-packages",
                "etcdadm-bootstrap-provider",
                "etcdadm-controller",
                "capi-controller-manager",
                "capi-kubeadm-bootstrap-controller-manager",
                "capi-kubeadm-control-plane-controller-manager",
                "capv-controller-manager",
                "capx-controller-manager",
                "capt-controller-manager",
                "capc-controller-manager",
            ]);
            assert.equal(new Set(CONTROLLER_NAMES).size, CONTROLLER_NAMES.length);
            assert.equal(DIAGNOSTICS_PORT, 8443);
            for (const c of CONTROLLER_CATALOGUE) {
                assert.deepEqual([c.port, c.portName], [8443, "metrics"], c.name);
                assert.ok(Object.keys(c.selector).length > 0 && c.images.length > 0, c.name);
                assert.ok(
                    !(COMPONENT_NAMES as readonly string[]).includes(c.name),
                    "a controller's job must not be a component's",
                );
            }
        });

        it("finds each controller in its namespace by the labels clusterctl or kubebuilder give its pods", () => {
            assert.deepEqual(controllerEntry("capi-controller-manager"), {
                name: "capi-controller-manager",
                namespace: "capi-system",
                selector: { "cluster.x-k8s.io/provider": "cluster-api" },
                port: 8443,
                portName: "metrics",
                images: ["cluster-api-controller"],
            });
            assert.deepEqual(controllerEntry("eks-anywhere-controller-manager")?.selector, {
                "control-plane": "eksa-controller-manager",
            });
            assert.equal(
                controllerEntry("capt-controller-manager")?.selector["cluster.x-k8s.io/provider"],
                "infrastructure-tinkerbell",
            );
            assert.equal(controllerEntry("kube-scheduler"), undefined);
        });

        it("recognises each controller's released image by its fragments, and no other controller's", () => {
            const program = (name: string) => ({
                name,
                executables: ["manager"],
                images: controllerEntry(name)!.images,
            });
            const released: Record<string, string> = {
                "capi-controller-manager": "registry.k8s.io/cluster-api/cluster-api-controller:v1.8.5",
                "capv-controller-manager":
                    "public.ecr.aws/eks-anywhere/kubernetes-sigs/cluster-api-provider-vsphere/release/manager:v1.7.4-eks-a-80",
                "capx-controller-manager":
                    "ghcr.io/nutanix-cloud-native/cluster-api-provider-nutanix/controller:v1.4.0",
                "eks-anywhere-controller-manager":
                    "public.ecr.aws/eks-anywhere/eks-anywhere-cluster-controller:v0.21.0-eks-a-80",
            };
            const programs = CONTROLLER_NAMES.map(program);
            for (const [name, image] of Object.entries(released)) {
                assert.equal(imageProgram(image, programs)?.name, name, image);
            }
            assert.deepEqual(controllerImages(), [
                "eks-anywhere-cluster-controller",
                "eks-anywhere-packages",
                "etcdadm-bootstrap-provider",
                "etcdadm-controller",
                "cluster-api-controller",
                "kubeadm-bootstrap-controller",
                "kubeadm-control-plane-controller",
                "cluster-api-vsphere-controller",
                "cluster-api-provider-vsphere/release/manager",
                "cluster-api-provider-nutanix/controller",
                "cluster-api-provider-tinkerbell",
                "capi-cloudstack-controller",
                "cluster-api-provider-cloudstack/release/manager",
            ]);
        });
    });

    describe("kubeRbacProxyHost", () => {
        it("is a loopback address of 127.100.0.0/16, the same for the same key, another for another key", () => {
            const hosts = Array.from({ length: 200 }, (_, i) => kubeRbacProxyHost(`key-${i}`));
            for (const host of hosts) {
                assert.match(host, /^127\.100\.(\d+)\.(\d+)$/);
                const [, c, d] = host.match(/^127\.100\.(\d+)\.(\d+)$/)!.map(Number);
                assert.ok(c <= 255 && d >= 1 && d <= 254, host);
                assert.ok(isKubeRbacProxyHost(host));
            }
            assert.equal(kubeRbacProxyHost("key-1"), hosts[1]);
            assert.ok(new Set(hosts).size > 190, "keys spread over the range");
            assert.ok(!isKubeRbacProxyHost("127.0.0.1") && !isKubeRbacProxyHost("10.100.0.1"));
        });
    });
});
