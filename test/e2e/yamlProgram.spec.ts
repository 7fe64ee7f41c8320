/**
 * The component from another Pulumi language, through the real engine, on the local control plane: a Pulumi
 * YAML program (test/library/yaml-consumer/) names the repository's `provider/` under `packages:`, so the
 * YAML language host (built from pulumi-yaml by dev/toolchain/setup.sh) asks our Node language host to serve
 * MetricsStack as a component provider (PulumiPlugin.yaml). `pulumi up` deploys and verifies the stack, a
 * second `up` changes nothing, and the kubeconfig the program passes stays a secret across the language
 * boundary (the schema marks it secret).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { commandProvider, LocalCluster, ProgramStack, REPO, Result, run } from "../../dev/localcluster/driver";
import { availableProxyDaemonSets } from "../support/daemonSets";
import { plannedCheckCount, verifiedPattern } from "../support/plannedChecks";

const PROGRAM = path.join(REPO, "test", "library", "yaml-consumer");
const text = (r: Result) => `${r.stdout}\n${r.stderr}`;

describe(`the component in a Pulumi YAML program, through the real engine (command provider: ${commandProvider().kind})`, function () {
    this.timeout(900_000);
    const cluster = new LocalCluster();
    let stack: ProgramStack;

    before(async () => {
        await cluster.up();
        await cluster.createDefaultReaders();
        stack = new ProgramStack("yaml", { program: PROGRAM });
        // The project mirror lives in a temporary directory: the package's path must be absolute there.
        const projectFile = path.join(stack.dir, "Pulumi.yaml");
        const project = yaml.load(fs.readFileSync(projectFile, "utf8")) as { packages: Record<string, string> };
        project.packages["eksa-metrics"] = path.join(REPO, "provider");
        fs.writeFileSync(projectFile, yaml.dump(project));
        const init = await run(["pulumi", "stack", "init", "yaml", "--non-interactive"], {
            cwd: stack.dir,
            env: stack.env,
        });
        assert.equal(init.code, 0, text(init));
        stack.setConfig({ kubeconfigFile: cluster.kubeconfigFile });
    });

    after(async () => {
        await stack?.destroy().catch(() => undefined);
        await cluster.down();
    });

    it("pulumi up deploys the stack through the component provider and verifies it", async () => {
        const up = await stack.up();
        assert.equal(up.code, 0, text(up));
        // The component the provider constructed, and the stack's objects as its children.
        const resources: { type: string; urn: string; parent?: string }[] = JSON.parse(
            await stack.mustPulumi(["stack", "export"]),
        ).deployment.resources;
        const component = resources.find((r) => r.type === "eksa-metrics:index:MetricsStack");
        assert.ok(component, "a MetricsStack in the state");
        const byUrn = new Map(resources.map((r) => [r.urn, r]));
        const underComponent = (r: { parent?: string }): boolean =>
            r.parent === component.urn || (r.parent !== undefined && underComponent(byUrn.get(r.parent) ?? {}));
        const inState = resources.filter((r) => r.type === "kubernetes:apps/v1:DaemonSet");
        assert.equal(inState.length, 2);
        assert.ok(inState.every(underComponent), "the DaemonSets are the component's children");
        assert.match(up.stdout, /preflight: ran /);
        const report: string = await stack.output("verificationReport");
        assert.match(report, verifiedPattern(await plannedCheckCount(stack, cluster)));
        assert.doesNotMatch(report, /FAIL/);
        await availableProxyDaemonSets(cluster, await stack.output("namespace"));
    });

    it("a second pulumi up changes nothing", async () => {
        const up = await stack.up("--expect-no-changes");
        assert.equal(up.code, 0, text(up));
        assert.doesNotMatch(up.stdout, /[+~-] +(kubernetes|command|eksa-metrics):/);
    });

    it("keeps the kubeconfig a secret in the state: its client key appears nowhere in plain text", async () => {
        const kubeconfig = yaml.load(fs.readFileSync(cluster.kubeconfigFile, "utf8")) as {
            users: { user: { "client-key-data"?: string } }[];
        };
        const key = kubeconfig.users[0].user["client-key-data"];
        assert.ok(key, "the local control plane's kubeconfig embeds its client key");
        const state = await stack.mustPulumi(["stack", "export"]);
        assert.ok(!state.includes(key), "the kubeconfig's client key is in the state in plain text");
        // Decoded, as a PEM line: the state's JSON would escape the PEM's newlines, never its lines.
        const pemLine = Buffer.from(key, "base64").toString().split("\n")[1];
        assert.ok(pemLine.length > 40, "a line of the key's PEM body");
        assert.ok(!state.includes(pemLine), "the kubeconfig's client key is in the state decoded");
    });
});
