/**
 * An air-gapped cluster behind a registry mirror, end to end: the local control plane's nodes on a
 * closed network whose only registry is an emulated mirror (the process kubelet's emulated
 * registries, a STAND-IN: dev/localcluster/README.md "Emulated registries") that asks for
 * credentials and mirrors public.ecr.aws as EKS Anywhere configures containerd, and an EKS Anywhere
 * Cluster object (CRD stand-in) declaring that mirror in spec.registryMirrorConfiguration. Without
 * the mirror key the preview warns about the image from elsewhere and `up` fails naming it and the
 * key; with it, every pod of the stack and of the verification names the mirror, and `up` verifies.
 */
import { strict as assert } from "assert";
import { EKSA_CLUSTER_CRD, LocalCluster, ProgramStack } from "../../dev/localcluster/driver";
import { DEFAULT_IMAGES } from "../../core/versions";
import { parseImageReference, withRegistry } from "../../core/images";
import { PROXY_APP_LABEL } from "../../core/labels";
import { plannedCheckCount, verifiedPattern } from "../support/plannedChecks";

const MIRROR = "mirror.example:5000";
const PULL_SECRET = "mirror-pull";
const CREDENTIALS = { username: "puller", password: "air-gapped" };

/** What the mirror holds: the default images, each under its repository (as `withRegistry` names them). */
const held = Object.values(DEFAULT_IMAGES).map((image) => withRegistry(image, MIRROR).slice(MIRROR.length + 1));

describe("an air-gapped cluster behind a registry mirror, end to end", function () {
    this.timeout(600_000);
    const cluster = new LocalCluster();
    const stack = new ProgramStack("airgap");
    const base = { createNamespace: false, imagePullSecrets: [PULL_SECRET] };

    /** The images of the proxy's pods. */
    const proxyImages = async () =>
        (
            await cluster.mustKubectl([
                "get",
                "pods",
                "--namespace",
                "eksa-metrics",
                "--selector",
                `app.kubernetes.io/name=${PROXY_APP_LABEL}`,
                "--output",
                "jsonpath={range .items[*].spec.containers[*]}{.image}{'\\n'}{end}",
            ])
        )
            .split("\n")
            .filter(Boolean);
    /** The images the kubelet pulled for pods of `namespace` (Pulled events outlive the verification's pods). */
    const pulled = async (namespace: string) =>
        (
            await cluster.mustKubectl([
                "get",
                "events",
                "--namespace",
                namespace,
                "--field-selector",
                "reason=Pulled",
                "--output",
                "jsonpath={range .items[*]}{.message}{'\\n'}{end}",
            ])
        )
            .split("\n")
            .filter(Boolean)
            .map((m) => /(?:Successfully pulled image|Container image) "([^"]+)"/.exec(m)?.[1] ?? m);

    before(async () => {
        await cluster.up();
        await cluster.createDefaultReaders();
        await cluster.mustKubectl(["create", "namespace", "eksa-metrics"]);
        await cluster.mustKubectl([
            "label",
            "namespace",
            "eksa-metrics",
            "pod-security.kubernetes.io/enforce=privileged",
        ]);
        // The pull secret where the pods run: the proxy's and the unbound check's namespace, the reader's.
        for (const namespace of ["eksa-metrics", "observability"]) {
            await cluster.mustKubectl([
                "create",
                "secret",
                "docker-registry",
                PULL_SECRET,
                "--namespace",
                namespace,
                `--docker-server=${MIRROR}`,
                `--docker-username=${CREDENTIALS.username}`,
                `--docker-password=${CREDENTIALS.password}`,
            ]);
        }
        await cluster.mustKubectl(["apply", "--server-side", "-f", "-"], JSON.stringify(EKSA_CLUSTER_CRD));
        await cluster.mustKubectl(["wait", "--for=condition=Established", "crd/clusters.anywhere.eks.amazonaws.com"]);
        const [endpoint, port] = MIRROR.split(":");
        await cluster.mustKubectl(
            ["apply", "-f", "-"],
            JSON.stringify({
                apiVersion: "anywhere.eks.amazonaws.com/v1alpha1",
                kind: "Cluster",
                metadata: { name: "airgap", namespace: "default" },
                spec: {
                    managementCluster: { name: "airgap" },
                    registryMirrorConfiguration: { endpoint, port, authenticate: true },
                },
            }),
        );
        // Closed: the mirror is the only registry, and pulls of public.ecr.aws go through it (EKS Anywhere's default).
        cluster.setEmulatedRegistries([
            { host: MIRROR, images: held, credentials: CREDENTIALS, mirrors: { "public.ecr.aws": "" } },
        ]);
        await stack.init(cluster.kubeconfig(), base);
    });

    after(async () => {
        cluster.setEmulatedRegistries(undefined);
        await stack.destroy().catch(() => undefined);
        await cluster.down();
    });

    it("without the mirror key: the preview warns about the image from elsewhere, and `up` fails naming it and the key", async () => {
        // kube-rbac-proxy by its own key from the mirror, haproxy through it: only curl comes from elsewhere.
        stack.setConfig({ ...base, gateImage: withRegistry(DEFAULT_IMAGES.kubeRbacProxy, MIRROR) });
        const started = Date.now();
        const up = await stack.up();
        const output = `${up.stdout}\n${up.stderr}`;
        process.stdout.write(`      pulumi up (fails) ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
        assert.notEqual(up.code, 0, output);
        const curl = DEFAULT_IMAGES.curl;
        const registry = (parseImageReference(curl) as { registry: string }).registry;
        assert.match(
            output,
            new RegExp(
                `eksa-metrics:verifyImage: image ${curl} would be pulled from ${registry}, but the cluster's Cluster default/airgap declares the registry mirror ${MIRROR}`,
            ),
        );
        assert.doesNotMatch(output, /eksa-metrics:(proxyImage|gateImage): image .* would be pulled from/);
        // The verification's pod: the kubelet's pull failure, the image and the key.
        assert.match(output, /verification pod \S+ cannot run: (ErrImagePull|ImagePullBackOff)/);
        assert.match(
            output,
            /lookup registry-1\.docker\.io: no such host \(localcluster's emulated registries, a stand-in/,
        );
        assert.match(
            output,
            new RegExp(`the nodes cannot pull image ${curl} from ${registry}.*eksa-metrics:imageRegistry`),
        );
        for (const image of await proxyImages()) {
            assert.match(image, /^(mirror\.example:5000|public\.ecr\.aws)\//, "the proxy's pods ran");
        }
    });

    it("with the mirror key: every pod of the stack and of the verification names the mirror, and `up` verifies", async () => {
        stack.setConfig({ ...base, imageRegistry: MIRROR });
        for (const namespace of ["eksa-metrics", "observability"]) {
            await cluster.mustKubectl(["delete", "events", "--all", "--namespace", namespace]);
        }
        const started = Date.now();
        const up = await stack.up();
        const output = `${up.stdout}\n${up.stderr}`;
        process.stdout.write(`      pulumi up ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
        assert.equal(up.code, 0, output);
        assert.doesNotMatch(output, /would be pulled from/);
        assert.match(
            await stack.output("verificationReport"),
            verifiedPattern(await plannedCheckCount(stack, cluster), true),
        );
        const proxy = await proxyImages();
        assert.ok(proxy.length > 0);
        for (const image of proxy) {
            assert.ok(image.startsWith(`${MIRROR}/`), `proxy pod image ${image}`);
        }
        // The verification's pods are gone; the kubelet's Pulled events say what they ran.
        for (const namespace of ["eksa-metrics", "observability"]) {
            const images = await pulled(namespace);
            assert.ok(images.includes(withRegistry(DEFAULT_IMAGES.curl, MIRROR)), `${namespace}: ${images.join(", ")}`);
            for (const image of images) {
                assert.ok(image.startsWith(`${MIRROR}/`), `${namespace}: pulled ${image}`);
            }
        }
        assert.equal((await stack.output("verificationPlan")).image, withRegistry(DEFAULT_IMAGES.curl, MIRROR));
    });
});
