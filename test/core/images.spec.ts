import { strict as assert } from "assert";
import {
    parseImageReference,
    parseRegistryPrefix,
    pullSource,
    registryMirrorOf,
    registryOf,
    withRegistry,
} from "../../core/images";

describe("image references", () => {
    it("resolve their registry as a container runtime does", () => {
        const cases: [string, string | undefined][] = [
            ["public.ecr.aws/eks-anywhere/kubernetes-sigs/kind/haproxy:v0.20.0-eks-a-54", "public.ecr.aws"],
            ["quay.io/brancz/kube-rbac-proxy:v0.19.1", "quay.io"],
            ["curlimages/curl:8.11.1", "docker.io"],
            ["haproxy", "docker.io"],
            ["index.docker.io/library/haproxy:3", "docker.io"],
            ["mirror.example:5000/brancz/kube-rbac-proxy:v0.19.1", "mirror.example:5000"],
            ["Mirror.Example:443/a/b:1", "mirror.example"],
            ["localhost/curl:1", "localhost"],
            ["10.0.0.5:5000/curl@sha256:" + "a".repeat(64), "10.0.0.5:5000"],
            // A first component without '.', ':' or localhost is a Docker Hub namespace.
            ["mirror/curl:1", "docker.io"],
            ["quay.io/Brancz/x:1", undefined],
            ["quay.io/", undefined],
            ["a b", undefined],
            ["curl:bad tag", undefined],
        ];
        for (const [reference, registry] of cases) {
            assert.equal(registryOf(reference), registry, reference);
        }
        assert.deepEqual(parseImageReference("haproxy:3"), {
            registry: "docker.io",
            repository: "library/haproxy",
            suffix: ":3",
        });
        assert.match((parseImageReference("curl@sha256:xyz") as { invalid: string }).invalid, /not a digest/);
    });

    it("are rewritten to a mirror's registry, keeping repository, tag and digest", () => {
        const digest = "@sha256:" + "b".repeat(64);
        const cases: [string, string, string][] = [
            [
                "public.ecr.aws/eks-anywhere/kubernetes-sigs/kind/haproxy:v0.20.0-eks-a-54",
                "mirror.example:5000",
                "mirror.example:5000/eks-anywhere/kubernetes-sigs/kind/haproxy:v0.20.0-eks-a-54",
            ],
            [
                "quay.io/brancz/kube-rbac-proxy:v0.19.1",
                "harbor.example/eks-metrics",
                "harbor.example/eks-metrics/brancz/kube-rbac-proxy:v0.19.1",
            ],
            ["curlimages/curl:8.11.1", "mirror.example:5000", "mirror.example:5000/curlimages/curl:8.11.1"],
            ["haproxy:3", "mirror.example:5000", "mirror.example:5000/library/haproxy:3"],
            [`quay.io/a/b:v1${digest}`, "10.0.0.5:5000", `10.0.0.5:5000/a/b:v1${digest}`],
            ["no such/image", "mirror.example:5000", "no such/image"],
        ];
        for (const [reference, prefix, expected] of cases) {
            assert.equal(withRegistry(reference, prefix), expected, `${reference} → ${prefix}`);
        }
    });

    it("take a registry prefix as images name it, and refuse schemes, a trailing slash and non-hosts", () => {
        assert.deepEqual(parseRegistryPrefix("mirror.example:5000"), { prefix: "mirror.example:5000" });
        assert.match((parseRegistryPrefix("mirror.example:5000/") as { invalid: string }).invalid, /ends with "\/"/);
        assert.deepEqual(parseRegistryPrefix("harbor.example/eks-metrics"), { prefix: "harbor.example/eks-metrics" });
        assert.deepEqual(parseRegistryPrefix("localhost:5000"), { prefix: "localhost:5000" });
        assert.match((parseRegistryPrefix("https://mirror.example") as { invalid: string }).invalid, /scheme/);
        // A word without a dot or port would be read as a Docker Hub namespace, not a registry.
        assert.match((parseRegistryPrefix("mirror") as { invalid: string }).invalid, /not a registry host/);
        assert.match((parseRegistryPrefix("mirror.example/Team") as { invalid: string }).invalid, /not a path/);
    });
});

describe("an EKS Anywhere registry mirror", () => {
    it("serves its own registry and, without ociNamespaces, mirrors public.ecr.aws only", () => {
        const mirror = registryMirrorOf("Cluster default/mgmt", { endpoint: "10.0.0.5", port: "5000" })!;
        assert.deepEqual(mirror, {
            declaredBy: "Cluster default/mgmt",
            registry: "10.0.0.5:5000",
            mirrored: { "public.ecr.aws": "" },
        });
        assert.equal(pullSource("10.0.0.5:5000/brancz/kube-rbac-proxy:v0.19.1", mirror), "mirror");
        assert.equal(pullSource("public.ecr.aws/eks-anywhere/haproxy:1", mirror), "through-mirror");
        assert.equal(pullSource("quay.io/brancz/kube-rbac-proxy:v0.19.1", mirror), "elsewhere");
        assert.equal(pullSource("curlimages/curl:8.11.1", mirror), "elsewhere");
        assert.equal(pullSource("mirror.other:5000/curlimages/curl:8.11.1", mirror), "elsewhere");
    });

    it("mirrors the registries its ociNamespaces map; port 443 is the registry without a port", () => {
        const mirror = registryMirrorOf("Cluster eksa-system/prod", {
            endpoint: "harbor.example",
            port: "443",
            ociNamespaces: [
                { registry: "quay.io", namespace: "quay" },
                { registry: "docker.io", namespace: "dockerhub" },
            ],
        })!;
        assert.equal(mirror.registry, "harbor.example");
        assert.equal(pullSource("harbor.example:443/quay/brancz/kube-rbac-proxy:v0.19.1", mirror), "mirror");
        assert.equal(pullSource("quay.io/brancz/kube-rbac-proxy:v0.19.1", mirror), "through-mirror");
        assert.equal(pullSource("curlimages/curl:8.11.1", mirror), "through-mirror");
        // With ociNamespaces, public.ecr.aws is mirrored only when listed.
        assert.equal(pullSource("public.ecr.aws/eks-anywhere/haproxy:1", mirror), "elsewhere");
    });

    it("is none without an endpoint", () => {
        assert.equal(registryMirrorOf("Cluster a/b", undefined), undefined);
        assert.equal(registryMirrorOf("Cluster a/b", { port: "5000" }), undefined);
        assert.equal(registryMirrorOf("Cluster a/b", { endpoint: "" }), undefined);
    });
});
