/**
 * The fleet runner's wall time, peak memory and CPU against a sequential shell loop of `pulumi up`,
 * same stacks, same run: eight stacks of the project's own program on two local control planes (each
 * in a network namespace of its own), each cluster split by component into one stack per component,
 * deployed from nothing by
 *   - loop: `for s in ...; do pulumi up --yes --policy-pack policy --stack $s; done`
 *   - fleet at concurrency 1, 2, 4 and 8 (fleet/main in a Node process of its own, as `npm run fleet`
 *     starts it: preview with the pack, then up, per stack).
 * Every stack is destroyed between two measurements (not timed). Rounds alternate the order of the
 * modes so machine noise hits all alike. Each mode runs as a child process tree in a session of its
 * own: its peak memory is sampled from /proc, its CPU is what the tree used (see measure()).
 * Prints each measurement, the table and the ratios to the loop.
 *
 *   bash dev/bench/run.sh fleet [ROUNDS] [--rounds N] [--stacks N] [--modes loop,fleet-1,fleet-2,fleet-4,fleet-8]
 *
 * (it needs the sandbox: private network namespace and /tmp). --stacks N takes the first N stacks
 * (west's four, then east's); --modes a subset of the modes, for a quick run.
 */
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { CATALOGUE } from "../../core/catalogue";
import { DEFAULTS } from "../../config/schema";
import { LocalCluster, ProgramStack, REPO, STACK_PASSPHRASE, writeProjectMirror } from "../localcluster/driver";
import { main } from "../../fleet/main";
import { runMain } from "./lib/runMain";
import { kindOf, TreeSampler } from "./lib/processTree";

const MODES = ["loop", "fleet-1", "fleet-2", "fleet-4", "fleet-8"] as const;
type Mode = (typeof MODES)[number];

const log = (text: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

interface Options {
    rounds: number;
    stacks: number;
    modes: Mode[];
}

const USAGE =
    "usage: bash dev/bench/run.sh fleet [ROUNDS] [--rounds N] [--stacks N (1-8)] [--modes " + MODES.join(",") + "]";

function parseOptions(argv: string[]): Options {
    const options: Options = { rounds: 1, stacks: 2 * CATALOGUE.length, modes: [...MODES] };
    const count = (flag: string, value: string | undefined, max = Infinity) => {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 1 || n > max) {
            throw new Error(`${flag}: "${value}" is not a whole number from 1 to ${max}\n${USAGE}`);
        }
        return n;
    };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--rounds" || /^\d+$/.test(arg)) {
            options.rounds = count("rounds", arg === "--rounds" ? argv[++i] : arg);
        } else if (arg === "--stacks") {
            options.stacks = count("--stacks", argv[++i], 2 * CATALOGUE.length);
        } else if (arg === "--modes") {
            const modes = (argv[++i] ?? "").split(",");
            const unknown = modes.filter((m) => !(MODES as readonly string[]).includes(m));
            if (unknown.length > 0 || modes.length === 0) {
                throw new Error(`--modes: unknown mode(s) ${unknown.join(", ") || "(none given)"}\n${USAGE}`);
            }
            options.modes = MODES.filter((m) => modes.includes(m));
        } else {
            throw new Error(`unknown argument ${arg}\n${USAGE}`);
        }
    }
    return options;
}

/**
 * Each cluster split by component: one stack per component of the catalogue, each with only its
 * component on and a namespace of its own. Stacks of ours share a cluster when they share no host
 * port: each component's metrics port is in one stack only, and haproxy's health endpoint (on every
 * node where haproxy fronts a component: kube-controller-manager's stack and kube-scheduler's) gets
 * a port per stack, the default for the first.
 */
export function componentStacks(clusters: { name: string; cluster: LocalCluster }[]) {
    const haproxyFronted = CATALOGUE.filter((e) => e.authenticator === "upstream").map((e) => e.name);
    return clusters.flatMap(({ name, cluster }) =>
        CATALOGUE.map((entry) => ({
            name: `${name}-${entry.name}`,
            kubeconfig: cluster.kubeconfigFile,
            config: {
                components: Object.fromEntries(CATALOGUE.map((e) => [e.name, e.name === entry.name])),
                namespace: `${DEFAULTS.namespace}-${entry.name}`,
                ...(entry.authenticator === "upstream"
                    ? { healthPort: DEFAULTS.healthPort + haproxyFronted.indexOf(entry.name) }
                    : {}),
            },
        })),
    );
}

interface ProcessEntry {
    ppid: number;
    session: number;
    comm: string;
    rssBytes: number;
}

const PAGE_SIZE = Number(execFileSync("getconf", ["PAGESIZE"], { encoding: "utf8" }).trim());

/** Every process's parent, session, command name and RSS, from /proc/<pid>/stat (fields 4, 6, 2 and 24). */
function processTable(): Map<number, ProcessEntry> {
    const table = new Map<number, ProcessEntry>();
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) {
            continue;
        }
        let stat: string;
        try {
            stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
        } catch {
            continue; // gone meanwhile
        }
        const close = stat.lastIndexOf(")");
        const fields = stat.slice(close + 2).split(" ");
        table.set(Number(entry), {
            comm: stat.slice(stat.indexOf("(") + 1, close),
            ppid: Number(fields[1]),
            session: Number(fields[3]),
            rssBytes: Number(fields[21]) * PAGE_SIZE,
        });
    }
    return table;
}

/** The processes of the tree under `root`: its descendants, and whatever else is still in its session. */
function treeOf(root: number, table: Map<number, ProcessEntry>): number[] {
    const inTree = (pid: number): boolean => {
        for (let p: number | undefined = pid, hops = 0; p !== undefined && p > 1 && hops < 64; hops++) {
            if (p === root) {
                return true;
            }
            p = table.get(p)?.ppid;
        }
        return false;
    };
    return [...table].filter(([pid, e]) => e.session === root || inTree(pid)).map(([pid]) => pid);
}

interface Measurement {
    wallSeconds: number;
    /** user + system CPU of the whole tree (getrusage of the children of the wrapping shell). */
    cpuSeconds: number;
    /** The largest sum of the tree's RSS in one sample. */
    peakTreeBytes: number;
    /** The Node process running fleet/main at its own peak (fleet modes only). */
    peakRunnerBytes?: number;
    /** The most processes in the tree in one sample. */
    peakProcesses: number;
    /** CPU seconds per process kind (fleetKind), sampled from /proc: also what no process waited for. */
    kinds: Map<string, number>;
    /** Of the sampled CPU, what no process of the tree waited for (so not in cpuSeconds): the pack's node. */
    unwaitedSeconds: number;
}

/**
 * What a process of a mode's tree is: processTree's kinds, with the pulumi CLI by its command (`up`,
 * `config set`...) and fleet/main's own Node process named.
 */
export function fleetKind(argv: string[], parentKind: string | undefined): string {
    const kind = kindOf(argv, parentKind);
    if (kind === "pulumi CLI") {
        const words = argv.slice(1).filter((a) => !a.startsWith("-"));
        const command = ["config", "stack", "plugin", "policy"].includes(words[0])
            ? words.slice(0, 2)
            : words.slice(0, 1);
        return `pulumi CLI: ${command.join(" ") || "(none)"}`;
    }
    if (kind === "other: node" && parentKind === "other: bash" && argv.includes("-e")) {
        return "fleet/main (node)";
    }
    return kind;
}

const SAMPLE_MS = 200;
/** The measured tree's session (and process group), while one runs. */
let current: number | undefined;
let stopping = false;

/**
 * Runs `command` under a bash that reports its children's CPU (`times`: getrusage(RUSAGE_CHILDREN),
 * which holds every descendant that was waited for) in a session of its own (setsid), and samples
 * /proc every SAMPLE_MS for the RSS of the tree: the wrapping bash's descendants and its session.
 */
async function measure(
    command: string[],
    opts: { cwd: string; env: NodeJS.ProcessEnv; logFile: string; runnerIsChild: boolean },
): Promise<Measurement> {
    const timesFile = `${opts.logFile}.times`;
    const out = fs.openSync(opts.logFile, "w");
    const started = process.hrtime.bigint();
    const child = spawn(
        "bash",
        ["-c", '"$@"; rc=$?; times >"$BENCH_TIMES_FILE"; exit $rc', "bench-wrapper", ...command],
        {
            cwd: opts.cwd,
            env: { ...opts.env, BENCH_TIMES_FILE: timesFile },
            detached: true,
            stdio: ["ignore", out, out],
        },
    );
    fs.closeSync(out);
    current = child.pid;
    const sampler = new TreeSampler(child.pid!, SAMPLE_MS, fleetKind);
    let peakTreeBytes = 0;
    let peakProcesses = 0;
    let peakRunnerBytes: number | undefined;
    const sample = () => {
        const table = processTable();
        const tree = treeOf(child.pid!, table);
        peakTreeBytes = Math.max(
            peakTreeBytes,
            tree.reduce((sum, pid) => sum + table.get(pid)!.rssBytes, 0),
        );
        peakProcesses = Math.max(peakProcesses, tree.length);
        for (const pid of tree) {
            const e = table.get(pid)!;
            // The wrapping bash's one child: the runner (Node names its main thread "MainThread", so not by name).
            if (opts.runnerIsChild && e.ppid === child.pid) {
                peakRunnerBytes = Math.max(peakRunnerBytes ?? 0, e.rssBytes);
            }
        }
    };
    const timer = setInterval(sample, SAMPLE_MS);
    const code = await new Promise<number>((resolve, reject) => {
        child.on("error", reject);
        child.on("exit", (c, signal) => resolve(c ?? (signal ? 128 : 1)));
    }).finally(() => {
        clearInterval(timer);
        current = undefined;
    });
    const usage = await sampler.stop();
    const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (code !== 0) {
        const tail = fs.readFileSync(opts.logFile, "utf8").trim().split("\n").slice(-15).join("\n");
        throw new Error(`${command.join(" ")} exited ${code} (log: ${opts.logFile}):\n${tail}`);
    }
    // bash's `times`: its own user and system time, then its children's, e.g. "0m1.234s 0m0.567s".
    const lines = fs.readFileSync(timesFile, "utf8").trim().split("\n");
    const seconds = (t: string) => {
        const m = /^(\d+)m([\d.]+)s$/.exec(t);
        if (!m) {
            throw new Error(`cannot read the CPU time "${t}" in ${timesFile}`);
        }
        return Number(m[1]) * 60 + Number(m[2]);
    };
    const cpuSeconds = lines
        .flatMap((line) => line.trim().split(/\s+/))
        .map(seconds)
        .reduce((a, b) => a + b, 0);
    const measured: Measurement = {
        wallSeconds,
        cpuSeconds,
        peakTreeBytes,
        peakProcesses,
        kinds: usage.cpu,
        unwaitedSeconds: [...usage.unwaited.values()].reduce((a, b) => a + b, 0),
    };
    return peakRunnerBytes === undefined ? measured : { ...measured, peakRunnerBytes };
}

async function main_(): Promise<number> {
    const options = parseOptions(process.argv.slice(2));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eksa-bench-fleet-"));
    const project = path.join(dir, "project");
    const state = path.join(dir, "state");
    const logs = path.join(dir, "logs");
    fs.mkdirSync(project);
    fs.mkdirSync(state);
    fs.mkdirSync(logs);
    writeProjectMirror(project);
    const west = new LocalCluster(path.join(dir, "west"), { addressBlock: "127.0.1" });
    const east = new LocalCluster(path.join(dir, "east"), { addressBlock: "127.0.2" });
    log("bringing two local control planes up");
    await Promise.all([west.up(), east.up()]);
    try {
        await Promise.all([west, east].map((cluster) => cluster.createDefaultReaders()));
        const stacks = componentStacks([
            { name: "west", cluster: west },
            { name: "east", cluster: east },
        ]).slice(0, options.stacks);
        const fleetFile = path.join(dir, "fleet.yaml");
        fs.writeFileSync(fleetFile, yaml.dump({ policyPacks: ["policy"], stacks }));
        const envVars = { PULUMI_BACKEND_URL: `file://${state}`, PULUMI_CONFIG_PASSPHRASE: STACK_PASSPHRASE };
        const env = { ...process.env, ...envVars };
        const handles = stacks.map((s) => new ProgramStack(s.name, { dir: project, backendDir: state }));
        log(`${stacks.length} stacks: ${stacks.map((s) => s.name).join(", ")}`);
        // Creates and configures the stacks (a preview-only fleet run), so every mode starts from the same state.
        if (
            (await main([fleetFile, "--preview-only", "--log-dir", path.join(logs, "setup")], {
                projectDir: project,
                envVars,
                out: () => undefined,
            })) !== 0
        ) {
            throw new Error(`the fleet's stacks do not preview cleanly (logs in ${path.join(logs, "setup")})`);
        }

        // fleet/main started as `npm run fleet` starts it, but with the project mirror as its project.
        const fleetMain = path.join(REPO, "fleet", "main.ts");
        const runFleet = `require(${JSON.stringify(fleetMain)}).main(process.argv.slice(1), { projectDir: ${JSON.stringify(project)} }).then((code) => process.exit(code), (e) => { console.error(e); process.exit(1); })`;
        const loopScript = `set -e; for s in ${stacks.map((s) => s.name).join(" ")}; do pulumi up --yes --non-interactive --policy-pack policy --stack "$s" >/dev/null; done`;

        const results = new Map<Mode, Measurement[]>(options.modes.map((m) => [m, []]));
        for (let round = 0; round < options.rounds; round++) {
            const order = round % 2 === 0 ? [...options.modes] : [...options.modes].reverse();
            for (const mode of order) {
                if (stopping) {
                    throw new Error("stopped");
                }
                const logFile = path.join(logs, `${mode}-${round + 1}.log`);
                const command =
                    mode === "loop"
                        ? ["bash", "-c", loopScript]
                        : [
                              "node",
                              "--require",
                              "ts-node/register/transpile-only",
                              "-e",
                              runFleet,
                              fleetFile,
                              "--concurrency",
                              mode.split("-")[1],
                              "--log-dir",
                              path.join(logs, `${mode}-${round + 1}`),
                          ];
                log(`round ${round + 1} ${mode}: started`);
                const m = await measure(command, { cwd: project, env, logFile, runnerIsChild: mode !== "loop" });
                results.get(mode)!.push(m);
                log(
                    `round ${round + 1} ${mode}: ${m.wallSeconds.toFixed(1)} s, CPU ${m.cpuSeconds.toFixed(1)} s, peak RSS of the tree ${mib(m.peakTreeBytes)} MiB (${m.peakProcesses} processes)${m.peakRunnerBytes ? `, fleet/main's Node ${mib(m.peakRunnerBytes)} MiB` : ""}`,
                );
                await Promise.all(
                    handles.map(async (handle) => {
                        const destroyed = await handle.destroy();
                        if (destroyed.code !== 0) {
                            throw new Error(`destroy ${handle.name}: ${destroyed.stderr}`);
                        }
                    }),
                );
            }
        }
        console.log(renderTable(results, stacks.length, options.rounds));
        return 0;
    } finally {
        await Promise.all([west.down(), east.down()]).catch((err) => log(`teardown: ${err.message}`));
    }
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const mean = (xs: number[]) => sum(xs) / xs.length;

function renderTable(results: Map<Mode, Measurement[]>, stacks: number, rounds: number): string {
    const loop = results.get("loop");
    const loopWall = loop ? mean(loop.map((m) => m.wallSeconds)) : undefined;
    const header = [
        "mode",
        "wall s",
        "/ loop",
        "CPU s per stack",
        "sampled CPU s per stack",
        "peak RSS of the tree MiB",
        "processes at most",
        "fleet/main's Node MiB",
    ];
    const rows = [...results].map(([mode, ms]) => {
        const wall = mean(ms.map((m) => m.wallSeconds));
        const runner = ms.flatMap((m) => (m.peakRunnerBytes === undefined ? [] : [m.peakRunnerBytes]));
        return [
            mode,
            wall.toFixed(1),
            loopWall === undefined ? "-" : `${(wall / loopWall).toFixed(2)}x`,
            (mean(ms.map((m) => m.cpuSeconds)) / stacks).toFixed(1),
            (mean(ms.map((m) => sum([...m.kinds.values()]))) / stacks).toFixed(1),
            mib(Math.max(...ms.map((m) => m.peakTreeBytes))),
            String(Math.max(...ms.map((m) => m.peakProcesses))),
            runner.length > 0 ? mib(Math.max(...runner)) : "-",
        ];
    });
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) =>
        cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
    return [
        "",
        `${stacks} stacks on two local control planes (each cluster split by component), deployed from nothing and verified;`,
        `${rounds} round(s), wall and CPU the mean over rounds, memory the largest; ${os.cpus().length} CPUs, load average ${os
            .loadavg()
            .map((l) => l.toFixed(1))
            .join(" ")} at the end`,
        line(header),
        line(widths.map((w) => "-".repeat(w))),
        ...rows.map(line),
        "",
        breakdown(results, stacks),
    ].join("\n");
}

/** CPU seconds per stack by process kind, per mode (mean over rounds): where a stack's CPU goes. */
function breakdown(results: Map<Mode, Measurement[]>, stacks: number): string {
    const modes = [...results.keys()];
    const kinds = [...new Set([...results.values()].flatMap((ms) => ms.flatMap((m) => [...m.kinds.keys()])))];
    const perStack = (mode: Mode, kind: string) => mean(results.get(mode)!.map((m) => m.kinds.get(kind) ?? 0)) / stacks;
    kinds.sort((a, b) => sum(modes.map((m) => perStack(m, b))) - sum(modes.map((m) => perStack(m, a))));
    const header = ["CPU s per stack by process (sampled from /proc)", ...modes];
    const rows = [
        ...kinds.map((kind) => [kind, ...modes.map((m) => perStack(m, kind).toFixed(2))]),
        [
            "sum",
            ...modes.map((m) => (mean(results.get(m)!.map((x) => sum([...x.kinds.values()]))) / stacks).toFixed(2)),
        ],
        [
            "  of which no process waited for (not in CPU s per stack)",
            ...modes.map((m) => (mean(results.get(m)!.map((x) => x.unwaitedSeconds)) / stacks).toFixed(2)),
        ],
    ];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) =>
        cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
    return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

// Ctrl-C or a kill: stop the measured tree (its own session, so no terminal signal reaches it) and
// start no other, so the clusters are torn down; a second signal quits at once.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
        if (stopping) {
            process.exit(130);
        }
        stopping = true;
        log(`${signal}: stopping after the current step, then tearing the clusters down (again to quit now)`);
        if (current !== undefined) {
            process.kill(-current, signal);
        }
    });
}

runMain(main_);
