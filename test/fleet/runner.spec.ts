/**
 * The fleet runner through the real Automation API and the real pulumi CLI (dev/toolchain/env.sh),
 * on a file backend in a temporary directory. The project is test/fleet/program (a dynamic
 * resource standing for the cluster objects: the kubernetes and command plugins cannot be built
 * here) and the policy pack test/fleet/pack, both copied there next to node_modules links, so no
 * stack file or link lands in the repository.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { execFileSync } from "child_process";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { main } from "../../fleet/main";
import { kubeconfigFor } from "./kubeconfigs";

const REPO = path.resolve(__dirname, "../..");

interface Interval {
    stack: string;
    start: number;
    end: number;
}

/** When each stack's operations ran, from the timestamped [fleet] lines of its log. */
function operationInterval(stack: string, log: string): Interval {
    const times = (what: RegExp) =>
        [...log.matchAll(new RegExp(`^(\\S+) \\[fleet\\] (?:${what.source})`, "gm"))].map((m) => Date.parse(m[1]));
    const starts = times(/preview started/);
    const ends = times(/(?:preview|up) (?:succeeded|failed)/);
    assert.equal(starts.length, 1, `${stack}: one preview\n${log}`);
    assert.ok(ends.length >= 1, `${stack}: finished\n${log}`);
    return { stack, start: starts[0], end: Math.max(...ends) };
}

/** The most intervals open at one instant (an interval ending when another starts does not overlap it). */
function mostAtOnce(intervals: Interval[]): number {
    const events = intervals
        .flatMap((i) => [
            [i.start, 1],
            [i.end, -1],
        ])
        .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let open = 0;
    let most = 0;
    for (const [, delta] of events) {
        open += delta;
        most = Math.max(most, open);
    }
    return most;
}

describe("fleet runner (real Automation API and pulumi CLI)", function () {
    this.timeout(240_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eksa-fleet-"));
    const project = path.join(dir, "program");
    const fleetFile = path.join(dir, "fleet.yaml");
    const kubeconfigs: Record<string, string> = {};
    const envVars = {
        PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
        PULUMI_CONFIG_PASSPHRASE: "fleet-test-passphrase",
        // A PULUMI_HOME of its own (workspace files, logs), as dev/toolchain/smoke.sh does.
        PULUMI_HOME: path.join(dir, "pulumi-home"),
        // A pulumi that records its command lines, then runs the real one: no secret may be on them.
        PATH: `${path.join(dir, "bin")}:${process.env.PATH}`,
    };
    const argvLog = path.join(dir, "pulumi-argv.log");
    const run = async (argv: string[]) => {
        const lines: string[] = [];
        const code = await main(argv, {
            projectDir: project,
            envVars,
            out: (t) => lines.push(t),
            err: (t) => lines.push(t),
        });
        return { code, output: lines.join("\n") };
    };
    const workspace = () => LocalWorkspace.create({ workDir: project, envVars });

    before(() => {
        for (const [from, to, modules] of [
            ["program", project, "node_modules"],
            ["pack", path.join(dir, "pack"), "policy/node_modules"],
        ]) {
            fs.cpSync(path.join(__dirname, from), to, {
                recursive: true,
                filter: (src) => path.basename(src) !== "node_modules",
            });
            // The language host resolves the SDK (and the pack @pulumi/policy) from these.
            fs.symlinkSync(path.join(REPO, modules), path.join(to, "node_modules"));
        }
        fs.mkdirSync(path.join(dir, "state"));
        const pulumi = execFileSync("sh", ["-c", "command -v pulumi"], { encoding: "utf8" }).trim();
        assert.ok(pulumi, "pulumi is not on PATH: source dev/toolchain/env.sh (after dev/toolchain/setup.sh)");
        fs.mkdirSync(path.join(dir, "bin"));
        fs.writeFileSync(
            path.join(dir, "bin", "pulumi"),
            `#!/bin/sh\nprintf '%s\\n' "$*" >>'${argvLog}'\nexec '${pulumi}' "$@"\n`,
            { mode: 0o755 },
        );
        fs.mkdirSync(path.join(envVars.PULUMI_HOME, "plugins"), { recursive: true });
        fs.mkdirSync(path.join(dir, "kube"));
        for (const name of ["west", "kube-sys", "east"]) {
            kubeconfigs[name] = kubeconfigFor(name);
            fs.writeFileSync(path.join(dir, "kube", `${name}.kubeconfig`), kubeconfigs[name]);
        }
        fs.writeFileSync(
            fleetFile,
            `
concurrency: 2
policyPacks: [../pack]
stacks:
  - name: west
    kubeconfig: kube/west.kubeconfig
    config:
      namespace: metrics-west
      components: { etcd: false }
  - name: kube-sys            # violates the pack: its namespace is kube-system
    kubeconfig: kube/kube-sys.kubeconfig
    config: { namespace: kube-system }
  - name: east
    kubeconfig: kube/east.kubeconfig
`,
        );
    });
    after(() => {
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("3 stacks, 2 at a time: two previewed and deployed, the one the policy pack refuses fails at preview and is never deployed", async () => {
        const logDir = path.join(dir, "logs");
        const { code, output } = await run([fleetFile, "--log-dir", logDir]);
        assert.equal(code, 1, output);

        // The summary table: stack, preview, up, duration, first error line.
        assert.match(output, /^west\s+ok \(\+2\)\s+ok\s+(?:\d+\.\d|\d+m\d\d)s$/m, output);
        assert.match(output, /^east\s+ok \(\+2\)\s+ok\s+(?:\d+\.\d|\d+m\d\d)s$/m, output);
        assert.match(
            output,
            /^kube-sys\s+failed\s+skipped\s+(?:\d+\.\d|\d+m\d\d)s\s+policy no-kube-system \(pulumi-nodejs:dynamic:Resource: namespace\): namespace 'kube-system' is reserved for the cluster's own components$/m,
            output,
        );
        assert.match(output, new RegExp(`2 of 3 stacks succeeded, 1 failed\\. Logs: ${logDir}/<stack>\\.log`));
        // The console has progress lines, not the stacks' output.
        assert.doesNotMatch(output, /Previewing update|Updating \(/);

        // State: the deployed stacks hold their resource; the refused one holds nothing.
        const ws = await workspace();
        for (const [stack, namespace] of [
            ["west", "metrics-west"],
            ["east", "eksa-metrics"],
        ]) {
            const resources = (await ws.exportStack(stack)).deployment.resources ?? [];
            const fake = resources.find((r: { type: string }) => r.type === "pulumi-nodejs:dynamic:Resource");
            assert.ok(fake, `${stack}: ${JSON.stringify(resources.map((r: { type: string }) => r.type))}`);
            assert.equal(fake.outputs.name, namespace);
            // The kubeconfig arrived whole, as a secret.
            const { kubeconfigLength } = await ws.stackOutputs(stack);
            assert.deepEqual(kubeconfigLength, { value: kubeconfigs[stack].length, secret: true });
        }
        assert.deepEqual((await ws.exportStack("kube-sys")).deployment.resources ?? [], []);

        // Config: the kubeconfig stored encrypted, structured values as YAML maps.
        const west = fs.readFileSync(path.join(project, "Pulumi.west.yaml"), "utf8");
        assert.match(west, /eksa-metrics:kubeconfig:\n\s+secure: v1:/);
        assert.match(west, /eksa-metrics:components:\n\s+etcd: false/);
        assert.match(west, /eksa-metrics:namespace: metrics-west/);
        assert.doesNotMatch(west, /not-a-real-token/);
        // ...and never on a command line (other local users can read those).
        const commandLines = fs.readFileSync(argvLog, "utf8");
        assert.match(
            commandLines,
            /^config set --secret --raw --stack west --non-interactive eksa-metrics:kubeconfig$/m,
        );
        // One pulumi command per stack deploys it: `up` with the pack, its own preview first (the gate).
        for (const stack of ["west", "kube-sys", "east"]) {
            const operations = commandLines.split("\n").filter((l) => /^(up|preview|destroy)\b/.test(l));
            const mine = operations.filter((l) => l.includes(`--stack ${stack} `));
            assert.equal(mine.length, 1, `${stack}: ${mine.join("\n")}`);
            assert.match(mine[0], /^up --yes .*--policy-pack \S+\/pack .*--stack \S+ --event-log tcp:/);
            assert.doesNotMatch(mine[0], /--skip-preview/);
        }
        assert.doesNotMatch(commandLines, /not-a-real-token|kind: Config/);

        // One log per stack, with its own output only; the refused stack's up never started.
        const logs = Object.fromEntries(
            ["west", "kube-sys", "east"].map((s) => [s, fs.readFileSync(path.join(logDir, `${s}.log`), "utf8")]),
        );
        for (const [stack, log] of Object.entries(logs)) {
            assert.match(log, new RegExp(`Previewing update \\(${stack}\\)`), log);
            for (const other of Object.keys(logs).filter((o) => o !== stack)) {
                assert.doesNotMatch(log, new RegExp(`\\(${other}\\)`), `${stack}'s log has ${other}'s output`);
            }
            assert.doesNotMatch(log, /not-a-real-token/);
        }
        assert.match(logs["kube-sys"], /\[mandatory\]\s+no-kube-system/);
        assert.match(logs["kube-sys"], /\[fleet\] preview failed: policy no-kube-system/);
        assert.doesNotMatch(logs["kube-sys"], /\[fleet\] up started|Updating \(kube-sys\)/);
        for (const stack of ["west", "east"]) {
            assert.match(
                logs[stack],
                /\[fleet\] preview succeeded: \+2\n[\s\S]*\[fleet\] up started\n[\s\S]*\[fleet\] up succeeded: succeeded\n/,
            );
        }

        // Bounded concurrency, from the logs' timestamps: two stacks ran at once, never three.
        const intervals = Object.entries(logs).map(([stack, log]) => operationInterval(stack, log));
        assert.equal(mostAtOnce(intervals), 2, JSON.stringify(intervals));
        const byStack = Object.fromEntries(intervals.map((i) => [i.stack, i]));
        assert.ok(
            byStack.east.start >= Math.min(byStack.west.end, byStack["kube-sys"].end),
            `east started before a slot was free: ${JSON.stringify(intervals)}`,
        );
    });

    it("a second run with nothing changed: no stack created or config value set again, the kubeconfig stored again, one up that changes nothing", async () => {
        const before = fs.readFileSync(argvLog, "utf8").length;
        const logDir = path.join(dir, "logs-again");
        const json = path.join(dir, "again.json");
        const { code, output } = await run([fleetFile, "--stacks", "east", "--log-dir", logDir, "--json", json]);
        assert.equal(code, 0, output);
        assert.match(output, /^east\s+ok \(no changes\)\s+ok\s+(?:\d+\.\d|\d+m\d\d)s$/m, output);
        const commandLines = fs.readFileSync(argvLog, "utf8").slice(before);
        assert.doesNotMatch(commandLines, /^(stack init|stack select|config set-all)/m, commandLines);
        assert.match(
            commandLines,
            /^config set --secret --raw --stack east --non-interactive eksa-metrics:kubeconfig$/m,
        );
        assert.equal(commandLines.match(/^up --yes .*--stack east /gm)?.length, 1, commandLines);
        const summary = JSON.parse(fs.readFileSync(json, "utf8"));
        const east = summary.stacks.find((s: { stack: string }) => s.stack === "east");
        assert.equal(east.status, "up", JSON.stringify(east));
        assert.deepEqual(east.changes, { same: 2 });
    });

    it("cancelled while its pulumi command runs: the command gets SIGINT, cancels before any change, and the stack is reported failed", async () => {
        fs.writeFileSync(
            path.join(dir, "slow.yaml"),
            "policyPacks: [../pack]\nstacks:\n  - { name: slow, kubeconfig: kube/west.kubeconfig, config: { namespace: slow } }\n",
        );
        const controller = new AbortController();
        const lines: string[] = [];
        const started = Date.now();
        const code = await main([path.join(dir, "slow.yaml"), "--log-dir", path.join(dir, "logs-slow")], {
            projectDir: project,
            envVars,
            signal: controller.signal,
            out: (t) => {
                lines.push(t);
                // Aborted while its pulumi command previews (it loads the pack and runs the program for seconds).
                if (/slow.*preview started/.test(t)) {
                    setTimeout(() => controller.abort(), 1500);
                }
            },
            err: (t) => lines.push(t),
        });
        const output = lines.join("\n");
        assert.equal(code, 1, output);
        assert.match(output, /^slow\s+failed\s+skipped\s/m, output);
        const log = fs.readFileSync(path.join(dir, "logs-slow", "slow.log"), "utf8");
        assert.match(log, /\^C received; cancelling/, log);
        assert.match(log, /\[fleet\] preview failed: /, log);
        assert.doesNotMatch(log, /Updating \(slow\)/, log);
        const ws = await workspace();
        assert.deepEqual((await ws.exportStack("slow")).deployment.resources ?? [], []);
        assert.ok(Date.now() - started < 60_000, "the cancelled command ended at once");
        await ws.removeStack("slow");
    });

    it("--preview-only --stacks: previews the chosen stack only, deploys nothing, and the fleet file is its whole eksa-metrics config", async () => {
        fs.writeFileSync(
            fleetFile,
            fs
                .readFileSync(fleetFile, "utf8")
                .replace("namespace: metrics-west\n      components: { etcd: false }", "namespace: metrics-west-2"),
        );
        const logDir = path.join(dir, "logs-preview");
        const { code, output } = await run([
            fleetFile,
            "--preview-only",
            "--stacks",
            "west",
            "--concurrency",
            "1",
            "--log-dir",
            logDir,
        ]);
        assert.equal(code, 0, output);
        assert.match(output, /^west\s+ok \(~1\)\s+preview only\s+(?:\d+\.\d|\d+m\d\d)s$/m, output);
        assert.match(output, /1 of 1 stacks succeeded\./);
        assert.deepEqual(fs.readdirSync(logDir), ["west.log"]);

        const ws = await workspace();
        const fake = ((await ws.exportStack("west")).deployment.resources ?? []).find(
            (r: { type: string }) => r.type === "pulumi-nodejs:dynamic:Resource",
        );
        assert.equal(fake.outputs.name, "metrics-west", "a preview deploys nothing");
        const west = fs.readFileSync(path.join(project, "Pulumi.west.yaml"), "utf8");
        assert.match(west, /eksa-metrics:namespace: metrics-west-2/);
        assert.doesNotMatch(west, /components/, "a key no longer in the fleet file is removed");
        assert.match(
            fs.readFileSync(path.join(logDir, "west.log"), "utf8"),
            /removed keys no longer in the fleet file: eksa-metrics:components/,
        );
    });

    it("a bad fleet file or command line stops everything (exit 2) before any stack is touched", async () => {
        const bad = path.join(dir, "bad.yaml");
        fs.writeFileSync(
            bad,
            "policyPacks: [../pack]\nstacks:\n  - { name: brand-new, kubeconfig: kube/missing.kubeconfig }\n  - { name: west, kubeconfig: kube/west.kubeconfig, config: { colour: blue } }\n",
        );
        const { code, output } = await run([bad]);
        assert.equal(code, 2, output);
        assert.match(
            output,
            /^error: invalid fleet file .*bad\.yaml:\n {2}- stacks\[0\] \(brand-new\)\.kubeconfig: .*missing\.kubeconfig does not exist\. .*\n {2}- stacks\[1\] \(west\)\.config\.colour: is not a setting of the program\./,
        );
        const unknown = await run([fleetFile, "--stacks", "north"]);
        assert.equal(unknown.code, 2);
        assert.match(unknown.output, /--stacks: north is not in the fleet file\. Its stacks: west, kube-sys, east/);
        const usage = await run([fleetFile, "--concurrency", "0"]);
        assert.equal(usage.code, 2);
        assert.match(
            usage.output,
            /^error: --concurrency "0" is not a whole number from 1 to 32\n\nusage: npm run fleet/,
        );
        const stacks = (await (await workspace()).listStacks()).map((s) => s.name).sort();
        assert.deepEqual(stacks, ["east", "kube-sys", "west"]);
    });
});
