import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { IMAGE_KEYS, imageProblems, knownImages, stackImages } from "../../config/images";
import { withRegistry } from "../../core/images";
import { DEFAULT_IMAGES } from "../../core/versions";

describe("the stack's images", () => {
    it("are the defaults, one key each, without a mirror", () => {
        assert.deepEqual(stackImages({}, undefined), {
            proxyImage: DEFAULT_IMAGES.haproxy,
            gateImage: DEFAULT_IMAGES.kubeRbacProxy,
            verifyImage: DEFAULT_IMAGES.curl,
        });
        assert.deepEqual([...IMAGE_KEYS].sort(), ["gateImage", "proxyImage", "verifyImage"]);
    });

    it("are pulled from imageRegistry, except those set by their own key", () => {
        assert.deepEqual(stackImages({ gateImage: "quay.io/brancz/kube-rbac-proxy:v0.20.0" }, "harbor.example/eks"), {
            proxyImage: "harbor.example/eks/eks-anywhere/kubernetes-sigs/kind/haproxy:v0.20.0-eks-a-54",
            gateImage: "quay.io/brancz/kube-rbac-proxy:v0.20.0",
            verifyImage: "harbor.example/eks/curlimages/curl:8.11.1",
        });
    });

    it("are checked by the preflight only when known as text", () => {
        const output = { apply: () => undefined };
        assert.deepEqual(knownImages({ proxyImage: "a.example/h:1", gateImage: output, verifyImage: "c:1" }), [
            { key: "proxyImage", image: "a.example/h:1" },
            { key: "verifyImage", image: "c:1" },
        ]);
    });

    it("given as text, are image references: a bad one names its key before anything is registered", () => {
        assert.deepEqual(imageProblems({ proxyImage: "mirror.example:5000/haproxy:v1", gateImage: {} }), []);
        assert.deepEqual(
            imageProblems({ verifyImage: "https://mirror.example/curl:8", gateImage: "Quay.io/X" }, "p:"),
            [
                'p:gateImage: "Quay.io/X" is not an image reference ("X" is not a repository (lowercase letters, digits and . _ - between /)). Give it as a node pulls it, e.g. quay.io/brancz/kube-rbac-proxy:v0.19.1',
                'p:verifyImage: "https://mirror.example/curl:8" is not an image reference ("https:" is not a registry host). Give it as a node pulls it, e.g. curlimages/curl:8.11.1',
            ],
        );
        assert.match(imageProblems({ proxyImage: "" })[0], /^proxyImage: "" is not an image reference/);
    });

    it("README's air-gapped table shows each default and its name under a mirror, as stackImages makes them", () => {
        const readme = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");
        const section = readme.split(/^## /m).find((s) => s.startsWith("Air-gapped clusters"));
        assert.ok(section, "README has an Air-gapped clusters section");
        const mirror = /with `imageRegistry: ([^`]+)`/.exec(section)?.[1];
        assert.ok(mirror, "the table's mirror");
        const rows = section
            .split("\n")
            .filter((line) => /^\| [a-z-]+ \| `/.test(line))
            .map((line) => line.slice(2, -2).split(" | ").slice(1));
        const defaults = stackImages<string>({}, undefined);
        assert.deepEqual(
            rows,
            IMAGE_KEYS.map((key) => [`\`${defaults[key]}\``, `\`${withRegistry(defaults[key], mirror)}\``]),
        );
    });
});
