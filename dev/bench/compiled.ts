/**
 * What running JavaScript instead of ts-node saves a user's `pulumi preview` and first `pulumi up`, same
 * cluster, same run: the project's own program two ways —
 *   - compiled: the repository as it is (Pulumi.yaml main: dist/index.js, typescript: false; the
 *     component's scripts and the policy pack run as the JavaScript `npm run build` made);
 *   - ts-node: the same sources run as before the build step (main: index.ts, typescript: true, so the
 *     language host type-checks the program through ts-node; the component's scripts through
 *     `node --require ts-node/register/transpile-only`; the pack from policy/index.ts).
 * Each round, for each way in turn (alternating which goes first): a new stack, `pulumi preview`, the
 * first `pulumi up --policy-pack` (rollout and verification), then a destroy (not timed). Every command
 * runs under /usr/bin/time: wall time and the CPU (user + sys) of the CLI and every process it waited for
 * (language host, Node, the providers, the pack, the stack's commands).
 * Meanwhile it samples that process tree from /proc (lib/processTree.ts) for the per-stack breakdown: CPU
 * seconds per process kind, and the wall time split into running (or waiting for a CPU) and blocked, the
 * blocked part by what the stack was waiting on (the DaemonSets' rollout, from the CLI's own progress
 * lines; the verification and certificate scripts, from their processes being alive).
 * Run with `bash dev/bench/run.sh compiled [ROUNDS]` (it needs the sandbox).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { spawn } from "child_process";
import { LocalCluster, ProgramStack, REPO } from "../localcluster/driver";
import { Interval, TreeSampler, TreeUsage } from "./lib/processTree";
import { runMain } from "./lib/runMain";

const WAYS = ["ts-node", "compiled"] as const;
type Way = (typeof WAYS)[number];
const STEPS = ["preview", "first up"] as const;
type Step = (typeof STEPS)[number];
interface Sample {
    wall: number;
    cpu: number;
    /** CPU seconds per process kind, sampled. */
    kinds: Map<string, number>;
    /** Of the sampled sum, what no process of the tree waited for (so not in /usr/bin/time's figure). */
    unwaited: number;
    /** Wall seconds per part (WALL_PARTS). */
    parts: Map<string, number>;
    samplerCpu: number;
}

/** The rows of the CPU breakdown, in this order; any other kind seen is listed after them. */
const KINDS = [
    "pulumi CLI",
    "language host (pulumi-language-nodejs, the program's and the pack's)",
    "program (node)",
    "program's kubectl",
    "policy pack (node)",
    "kubernetes provider",
    "command provider (stand-in)",
    "certificate script (node, sh)",
    "verification script (node, sh)",
    "verification script's kubectl",
    "verification script's curl",
];
const SUM = "sum of the above (sampled)";
const UNWAITED = "  of which no process waited for (not in /usr/bin/time)";
const TIME = "/usr/bin/time (user + sys of what it waited for)";
const NOT_SAMPLED = "not sampled (/usr/bin/time - the waited-for sum)";
const WALL_PARTS = [
    "running or runnable",
    "  of which waiting for a CPU",
    "blocked: DaemonSets' rollout",
    "blocked: verification script",
    "blocked: certificate script",
    "blocked: other (API calls, plugin and engine start)",
    "span: DaemonSets' rollout (the CLI's first creating to last created)",
    "span: verification script running",
    "span: certificate script running",
] as const;

/**
 * Splits a command's wall time. Per sample interval, the tree's CPU plus its threads' runqueue wait (at most
 * the interval) is "running or runnable"; the rest is blocked, on the verification while its script is
 * alive, else on the rollout while a DaemonSet is being created (between the CLI's `creating` and `created`
 * lines), else on the certificate script, else other. The spans (not part of the split) are how long each of
 * those phases lasted, running or not.
 */
function wallParts(intervals: Interval[], rollout: [number, number] | undefined): Map<string, number> {
    const parts = new Map<string, number>(WALL_PARTS.map((p) => [p, 0]));
    const add = (part: (typeof WALL_PARTS)[number], s: number) => parts.set(part, parts.get(part)! + s);
    if (rollout) {
        add("span: DaemonSets' rollout (the CLI's first creating to last created)", rollout[1] - rollout[0]);
    }
    for (const i of intervals) {
        const alive = [...i.alive];
        if (alive.some((k) => k.startsWith("verification script"))) {
            add("span: verification script running", i.seconds);
        }
        if (alive.some((k) => k.startsWith("certificate script"))) {
            add("span: certificate script running", i.seconds);
        }
        const busy = Math.min(i.seconds, i.cpu + i.runqueue);
        add("running or runnable", busy);
        add("  of which waiting for a CPU", Math.min(busy, i.runqueue));
        const blocked = i.seconds - busy;
        if (alive.some((k) => k.startsWith("verification script"))) {
            add("blocked: verification script", blocked);
        } else if (rollout && i.at > rollout[0] && i.at - i.seconds < rollout[1]) {
            add("blocked: DaemonSets' rollout", blocked);
        } else if (alive.some((k) => k.startsWith("certificate script"))) {
            add("blocked: certificate script", blocked);
        } else {
            add("blocked: other (API calls, plugin and engine start)", blocked);
        }
    }
    return parts;
}

const log = (text: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

/** A directory holding every entry of `source` as a symlink, but `files` written as given. */
function mirror(dir: string, source: string, files: Record<string, string>): string {
    fs.mkdirSync(dir, { recursive: true });
    for (const entry of fs.readdirSync(source)) {
        if (!(entry in files) && entry !== ".git") {
            fs.symlinkSync(path.join(source, entry), path.join(dir, entry));
        }
    }
    for (const [name, text] of Object.entries(files)) {
        fs.writeFileSync(path.join(dir, name), text);
    }
    return dir;
}

/** The program and the pack as they ran before the build step (ts-node), from the same sources. */
function tsNodeProgram(dir: string): { program: string; pack: string } {
    const project = yaml.load(fs.readFileSync(path.join(REPO, "Pulumi.yaml"), "utf8")) as Record<string, any>;
    project.main = "index.ts";
    project.runtime = { name: "nodejs", options: { typescript: true } };
    const pack = JSON.parse(fs.readFileSync(path.join(REPO, "policy", "package.json"), "utf8"));
    pack.main = "index.ts";
    return {
        program: mirror(path.join(dir, "program"), REPO, { "Pulumi.yaml": yaml.dump(project) }),
        pack: mirror(path.join(dir, "policy"), path.join(REPO, "policy"), {
            "package.json": JSON.stringify(pack, null, 2),
        }),
    };
}

/** `pulumi ARGS` on the stack under /usr/bin/time, its process tree sampled. */
async function timed(stack: ProgramStack, what: string, args: string[]): Promise<Sample> {
    const file = path.join(stack.dir, "time.txt");
    const child = spawn(
        "/usr/bin/time",
        ["-f", "%e %U %S", "-o", file, "pulumi", ...args, "--stack", stack.name, "--non-interactive"],
        { cwd: stack.dir, env: stack.env, stdio: ["ignore", "pipe", "pipe"] },
    );
    const sampler = new TreeSampler(child.pid!);
    const t0 = performance.now();
    // The CLI's progress lines, with when each arrived: when the DaemonSets' creation starts and ends.
    const lines: { at: number; line: string }[] = [];
    let stdout = "";
    let stderr = "";
    let partial = "";
    child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk;
        const text = partial + chunk;
        const split = text.split("\n");
        partial = split.pop()!;
        const at = (performance.now() - t0) / 1000;
        lines.push(...split.map((line) => ({ at, line })));
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
    const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? 1)));
    const usage: TreeUsage = await sampler.stop();
    if (code !== 0) {
        throw new Error(`${what} failed:\n${stdout}\n${stderr}`);
    }
    const [wall, user, sys] = fs.readFileSync(file, "utf8").trim().split("\n").at(-1)!.split(" ").map(Number);
    const daemonSets = lines.filter((l) => /kubernetes:apps\/v1:DaemonSet\s.*\b(creating|created)\b/.test(l.line));
    const rollout: [number, number] | undefined =
        daemonSets.length > 0 ? [daemonSets[0].at, daemonSets.at(-1)!.at] : undefined;
    const sum = [...usage.cpu.values()].reduce((a, b) => a + b, 0);
    const unwaited = [...usage.unwaited.values()].reduce((a, b) => a + b, 0);
    log(
        `${what}: ${wall.toFixed(1)} s wall, ${(user + sys).toFixed(1)} s CPU by /usr/bin/time, ${sum.toFixed(1)} s ` +
            `sampled (${usage.samples} samples), of which ${unwaited.toFixed(1)} s not waited for ` +
            `(${[...usage.unwaited].map(([k, v]) => `${k} ${v.toFixed(1)}`).join(", ") || "none"}); ` +
            `${usage.lingering} process(es) still alive 10 s after it; ` +
            `rollout ${rollout ? `${rollout[0].toFixed(0)}-${rollout[1].toFixed(0)} s` : "not seen"}; ` +
            `load average ${os
                .loadavg()
                .map((l) => l.toFixed(1))
                .join(" ")}`,
    );
    return {
        wall,
        cpu: user + sys,
        kinds: usage.cpu,
        unwaited,
        parts: wallParts(usage.intervals, rollout),
        samplerCpu: usage.samplerCpu,
    };
}

/** The tables, from the rounds done so far (printed after each round, so a run cut short still reports). */
function printReport(done: number, samples: Record<Way, Record<Step, Sample[]>>): void {
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const each = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(" ");
    console.log(
        `\nthe project's own stack on a local control plane, ${done} round(s), ${os.cpus().length} CPUs, load average ${os
            .loadavg()
            .map((l) => l.toFixed(1))
            .join(" ")}`,
    );
    console.log("step      way       CPU s (each)         mean   wall s (each)        mean   CPU compiled/ts-node");
    for (const step of STEPS) {
        for (const way of WAYS) {
            const cpu = samples[way][step].map((s) => s.cpu);
            const wall = samples[way][step].map((s) => s.wall);
            const ratio =
                way === "compiled"
                    ? `${(mean(cpu) / mean(samples["ts-node"][step].map((s) => s.cpu))).toFixed(2)}x (wall ${(
                          mean(wall) / mean(samples["ts-node"][step].map((s) => s.wall))
                      ).toFixed(2)}x)`
                    : "";
            console.log(
                `${step.padEnd(9)} ${way.padEnd(9)} ${each(cpu).padEnd(20)} ${mean(cpu).toFixed(1).padStart(5)}   ${each(wall).padEnd(20)} ${mean(wall).toFixed(1).padStart(5)}   ${ratio}`,
            );
        }
    }
    const columns = STEPS.flatMap((step) => WAYS.map((way) => samples[way][step]));
    const headers = STEPS.flatMap((step) => WAYS.map((way) => `${step}, ${way === "ts-node" ? "before" : "after"}`));
    const table = (title: string, rows: string[], value: (s: Sample, row: string) => number) => {
        const width = Math.max(title.length, ...rows.map((r) => r.length));
        console.log(`\n${title.padEnd(width)}  ${headers.map((h) => h.padStart(20)).join("  ")}`);
        for (const row of rows) {
            const cells = columns.map((c) =>
                mean(c.map((s) => value(s, row)))
                    .toFixed(2)
                    .padStart(20),
            );
            console.log(`${row.padEnd(width)}  ${cells.join("  ")}`);
        }
    };
    const seen = new Set(columns.flatMap((c) => c.flatMap((s) => [...s.kinds.keys()])));
    const kinds = [...KINDS, ...[...seen].filter((k) => !KINDS.includes(k)).sort()];
    console.log(
        `\nper-stack breakdown, mean of ${done} round(s); before = ts-node, after = compiled; the command ` +
            "provider is the project's stand-in (dev/command-standin), not the real pulumi-command",
    );
    const sampled = (s: Sample) => [...s.kinds.values()].reduce((a, b) => a + b, 0);
    const totals: Record<string, (s: Sample) => number> = {
        [SUM]: sampled,
        [UNWAITED]: (s) => s.unwaited,
        [TIME]: (s) => s.cpu,
        [NOT_SAMPLED]: (s) => s.cpu - (sampled(s) - s.unwaited),
    };
    table("CPU s (user + sys) by process", [...kinds, ...Object.keys(totals)], (s, row) =>
        row in totals ? totals[row](s) : (s.kinds.get(row) ?? 0),
    );
    table("wall s", ["wall (/usr/bin/time)", ...WALL_PARTS], (s, row) =>
        row.startsWith("wall") ? s.wall : s.parts.get(row)!,
    );
    const samplerCpu = Object.values(samples).flatMap((bySteps) =>
        Object.values(bySteps).flatMap((xs) => xs.map((x) => x.samplerCpu)),
    );
    console.log(
        `\nthe sampler's own CPU (this process, not in the figures): ${mean(samplerCpu).toFixed(2)} s per command`,
    );
}

async function main(): Promise<number> {
    const rounds = Number(process.argv[2] ?? "2");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eksa-bench-compiled-"));
    const before = tsNodeProgram(dir);
    const programs: Record<Way, { program: string; pack: string }> = {
        "ts-node": before,
        compiled: { program: REPO, pack: path.join(REPO, "policy") },
    };
    const samples: Record<Way, Record<Step, Sample[]>> = {
        "ts-node": { preview: [], "first up": [] },
        compiled: { preview: [], "first up": [] },
    };
    const cluster = new LocalCluster();
    log("bringing the local control plane up");
    await cluster.up();
    try {
        await cluster.createDefaultReaders();
        for (let round = 0; round < rounds; round++) {
            for (const way of round % 2 === 0 ? WAYS : [...WAYS].reverse()) {
                const stack = new ProgramStack(`bench-${way}-${round}`, { program: programs[way].program });
                await stack.init(cluster.kubeconfig());
                samples[way].preview.push(await timed(stack, `${way} preview`, ["preview"]));
                samples[way]["first up"].push(
                    await timed(stack, `${way} first up`, ["up", "--yes", "--policy-pack", programs[way].pack]),
                );
                const destroyed = await stack.destroy();
                if (destroyed.code !== 0) {
                    throw new Error(`destroy: ${destroyed.stdout}\n${destroyed.stderr}`);
                }
            }
            console.log(`\n=== after round ${round + 1} of ${rounds} ===`);
            printReport(round + 1, samples);
        }
        return 0;
    } finally {
        await cluster.down().catch((err) => log(`teardown: ${err.message}`));
    }
}

runMain(main);
