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
 * Run with `bash dev/bench/run.sh compiled [ROUNDS]` (it needs the sandbox).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { LocalCluster, ProgramStack, REPO, run } from "../localcluster/driver";

const WAYS = ["ts-node", "compiled"] as const;
type Way = (typeof WAYS)[number];
const STEPS = ["preview", "first up"] as const;
type Step = (typeof STEPS)[number];
interface Sample {
    wall: number;
    cpu: number;
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

/** `pulumi ARGS` on the stack under /usr/bin/time. */
async function timed(stack: ProgramStack, what: string, args: string[]): Promise<Sample> {
    const file = path.join(stack.dir, "time.txt");
    const result = await run(
        ["/usr/bin/time", "-f", "%e %U %S", "-o", file, "pulumi", ...args, "--stack", stack.name, "--non-interactive"],
        { cwd: stack.dir, env: stack.env },
    );
    if (result.code !== 0) {
        throw new Error(`${what} failed:\n${result.stdout}\n${result.stderr}`);
    }
    const [wall, user, sys] = fs.readFileSync(file, "utf8").trim().split("\n").at(-1)!.split(" ").map(Number);
    log(`${what}: ${wall.toFixed(1)} s wall, ${(user + sys).toFixed(1)} s CPU`);
    return { wall, cpu: user + sys };
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
        }
        const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
        const each = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(" ");
        console.log(
            `\nthe project's own stack on a local control plane, ${rounds} round(s), ${os.cpus().length} CPUs, load average ${os
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
        return 0;
    } finally {
        await cluster.down().catch((err) => log(`teardown: ${err.message}`));
    }
}

main().then(
    (code) => {
        process.exitCode = code;
    },
    (err: Error) => {
        process.stderr.write(`bench failed: ${err.message}\n`);
        process.exitCode = 1;
    },
);
