import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as path from "path";
import { DEFAULT_IMAGES, KUBE_RBAC_PROXY_VERSION } from "../../core/versions";

const REPO = path.join(__dirname, "..", "..");

describe("versions: one place for the images' versions", () => {
    it("the toolchain builds the kube-rbac-proxy release the product deploys (versions.sh reads core/versions.ts)", () => {
        // Sourced from another directory, as setup.sh and check.sh source it.
        const fromRepo = execFileSync(
            "bash",
            ["-c", 'source "$0/dev/toolchain/versions.sh" && printf %s "$KUBE_RBAC_PROXY_VERSION"', REPO],
            { cwd: "/", encoding: "utf8" },
        );
        assert.equal(fromRepo, "v0.19.1");
        assert.equal(fromRepo, KUBE_RBAC_PROXY_VERSION);
    });

    it("names the default images with those versions", () => {
        assert.deepEqual(DEFAULT_IMAGES, {
            haproxy: "public.ecr.aws/eks-anywhere/kubernetes-sigs/kind/haproxy:v0.20.0-eks-a-54",
            kubeRbacProxy: "quay.io/brancz/kube-rbac-proxy:v0.19.1",
            curl: "curlimages/curl:8.11.1",
        });
    });
});
