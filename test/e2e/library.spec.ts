/**
 * The library through the real engine, on the local control plane: a user's own Pulumi TypeScript program
 * (test/library/consumer/), with eksa-metrics installed from the repository's `npm pack` tarball
 * (dev/toolchain/setup.sh's build part), creates a stand-in "cluster" (a command resource that prints the
 * local control plane's kubeconfig, so the kubeconfig is unknown during the preview) and deploys
 * `MetricsStack` into it in the same `pulumi up`; a second `up` changes nothing. The component's preflight
 * says when it runs: at the start of `up` when the kubeconfig is unknown in the preview, in the preview
 * when it is known; and an error of it stops `up` before any of the stack's objects exist.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import { createRequire } from "module";
import * as path from "path";
import { commandProvider, LocalCluster, ProgramStack, REPO, Result, run } from "../../dev/localcluster/driver";
import { availableProxyDaemonSets } from "../support/daemonSets";

const CONSUMER = path.join(REPO, "test", "library", "consumer");
const text = (r: Result) => `${r.stdout}\n${r.stderr}`;
const DEFERRED = /preflight: the kubeconfig is unknown during this preview .*: the preflight runs at the start of `up`/;
const AT_UP = /preflight: ran at the start of `up`, before any of this stack's objects were created/;
const IN_PREVIEW = /preflight: ran during the preview \(the kubeconfig is known\)/;

/** A new stack of the consumer program with plain config only (it reads the kubeconfig from a file). */
async function newStack(name: string, config: Record<string, unknown>): Promise<ProgramStack> {
    const stack = new ProgramStack(name, { program: CONSUMER });
    const init = await run(["pulumi", "stack", "init", name, "--non-interactive"], { cwd: stack.dir, env: stack.env });
    assert.equal(init.code, 0, text(init));
    stack.setConfig(config);
    return stack;
}

/** The Kubernetes objects (not the provider) that the stack's state holds. */
async function kubernetesObjects(stack: ProgramStack): Promise<string[]> {
    const state = JSON.parse(await stack.mustPulumi(["stack", "export"]));
    return (state.deployment.resources ?? [])
        .filter((r: any) => r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:providers:"))
        .map((r: any) => `${r.type} ${r.urn.split("::").at(-1)}`);
}

describe(`the library in a user's own program, through the real engine (command provider: ${commandProvider().kind})`, function () {
    this.timeout(900_000);
    const cluster = new LocalCluster();
    const stacks: ProgramStack[] = [];
    let stack: ProgramStack;

    before(async () => {
        await cluster.up();
        await cluster.createDefaultReaders();
        stack = await newStack("library", { kubeconfigFile: cluster.kubeconfigFile });
        stacks.push(stack);
    });

    after(async () => {
        for (const s of stacks) {
            await s.destroy().catch(() => undefined);
        }
        await cluster.down();
    });

    it("is installed from the npm pack tarball: compiled JavaScript and declarations, @pulumi/* as peers", () => {
        const installed = path.join(CONSUMER, "node_modules", "eksa-metrics");
        assert.ok(!fs.lstatSync(installed).isSymbolicLink(), "an installed copy, not a link to the repository");
        const manifest = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8"));
        assert.equal(manifest.private, undefined);
        assert.deepEqual(manifest.exports["."], {
            types: "./dist/components/index.d.ts",
            default: "./dist/components/index.js",
        });
        assert.deepEqual(Object.keys(manifest.peerDependencies).sort(), [
            "@pulumi/command",
            "@pulumi/kubernetes",
            "@pulumi/pulumi",
        ]);
        assert.ok(
            Object.keys(manifest.dependencies).every((d) => !d.startsWith("@pulumi/")),
            "no @pulumi/* dependency of its own: one SDK in the user's program",
        );
        assert.ok(fs.existsSync(path.join(installed, "dist", "components", "metricsStack.d.ts")));
        assert.ok(!fs.existsSync(path.join(installed, "components")), "no TypeScript sources in the package");
        // As the consumer's own code resolves it (its package scope, not this repository's).
        assert.equal(
            createRequire(path.join(CONSUMER, "index.ts")).resolve("eksa-metrics"),
            path.join(installed, "dist", "components", "index.js"),
        );
        assert.ok(
            !fs.existsSync(path.join(installed, "node_modules", "@pulumi")),
            "the user's @pulumi/* packages serve it",
        );
    });

    it("the preview says that the preflight waits for `up`: the kubeconfig is an output of the cluster not created yet", async () => {
        const preview = await stack.preview();
        assert.equal(preview.code, 0, text(preview));
        assert.match(preview.stdout, DEFERRED);
        assert.doesNotMatch(preview.stdout, IN_PREVIEW);
    });

    it("pulumi up creates the cluster, runs the preflight first and deploys and verifies the stack in the same up", async () => {
        const up = await stack.up();
        assert.equal(up.code, 0, text(up));
        assert.match(up.stdout, /\+ +command:local:Command +cluster +created/);
        assert.match(up.stdout, AT_UP);
        const report: string = await stack.output("verificationReport");
        assert.match(report, /verified: \d+ checks passed/);
        assert.doesNotMatch(report, /FAIL/);
        await availableProxyDaemonSets(cluster, await stack.output("namespace"));
    });

    it("a second pulumi up changes nothing", async () => {
        const up = await stack.up("--expect-no-changes");
        assert.equal(up.code, 0, text(up));
        assert.doesNotMatch(up.stdout, /[+~-] +(kubernetes|command):/);
    });

    it("with the kubeconfig known, the preflight runs in the preview and says so", async () => {
        stack.setConfig({ kubeconfigFile: cluster.kubeconfigFile, kubeconfigKnown: true });
        const preview = await stack.pulumi(["preview", "--expect-no-changes"]);
        assert.equal(preview.code, 0, text(preview));
        assert.match(preview.stdout, IN_PREVIEW);
        assert.doesNotMatch(preview.stdout, DEFERRED);
    });

    it("a preflight error at the start of up stops it before any of the stack's objects exist", async () => {
        const refused = await newStack("library-refused", {
            kubeconfigFile: cluster.kubeconfigFile,
            prometheusOperator: true,
        });
        stacks.push(refused);
        const up = await refused.up();
        assert.notEqual(up.code, 0, text(up));
        assert.match(text(up), /the cluster is not ready for this stack \(preflight\)/);
        assert.match(text(up), /prometheusOperator\.enabled: the cluster has no CustomResourceDefinition/);
        assert.deepEqual(await kubernetesObjects(refused), []);
    });
});
