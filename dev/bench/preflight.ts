/**
 * What the preflight costs `pulumi preview`: the project's own program previewed on the local
 * control plane with the preflight and without it (a copy of index.ts with the one preflight call
 * taken out, in a project mirror of its own), same cluster, same stack config, alternating A B, B A, …
 * so machine noise hits both alike. Prints every preview's wall time, the medians and their ratio,
 * and the preflight alone (its kubectl reads and checks, in this process) as often.
 * Run with `bash dev/bench/run.sh preflight [ROUNDS]` (default 5; it needs the sandbox).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalCluster, ProgramStack, REPO } from "../localcluster/driver";
import { readClusterFacts } from "../../cluster/clusterFacts";
import { preflight } from "../../cluster/preflight";
import { resolveSettings } from "../../config/settings";
import { fixed, percentile, table } from "./lib/stats";
import { runMain } from "./lib/runMain";

const PREFLIGHT_CALL = /^checkCluster\(.*\);\n/m;
const log = (text: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

/** A project mirror whose index.ts is the program without its preflight call. */
function mirrorWithoutPreflight(dir: string): void {
    const program = fs.readFileSync(path.join(REPO, "index.ts"), "utf8");
    if (!PREFLIGHT_CALL.test(program)) {
        throw new Error("index.ts has no preflight call to remove: update dev/bench/preflight.ts");
    }
    fs.mkdirSync(dir, { recursive: true });
    // Still referenced, so the program type-checks (noUnusedLocals) as the real one does, at the same cost.
    fs.writeFileSync(path.join(dir, "index.ts"), program.replace(PREFLIGHT_CALL, "void checkCluster;\n"));
}

async function main(): Promise<number> {
    const rounds = Number(process.argv[2] ?? "5");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eksa-bench-preflight-"));
    const cluster = new LocalCluster(path.join(dir, "cluster"));
    log("bringing the local control plane up");
    await cluster.up();
    try {
        await cluster.createDefaultReaders();
        mirrorWithoutPreflight(path.join(dir, "without"));
        const stacks = {
            with: new ProgramStack("bench", { dir: path.join(dir, "with") }),
            without: new ProgramStack("bench", { dir: path.join(dir, "without") }),
        };
        for (const stack of Object.values(stacks)) {
            await stack.init(cluster.kubeconfig());
            await stack.mustPulumi(["preview"]); // warm-up: plugins loaded, caches filled
        }
        const times: Record<keyof typeof stacks, number[]> = { with: [], without: [] };
        for (let round = 0; round < rounds; round++) {
            const order: (keyof typeof stacks)[] = round % 2 === 0 ? ["with", "without"] : ["without", "with"];
            for (const mode of order) {
                const started = Date.now();
                const out = await stacks[mode].mustPulumi(["preview"]);
                const seconds = (Date.now() - started) / 1000;
                if (mode === "with" && !/preflight: node eksa-cp-1/.test(out)) {
                    throw new Error(`the preview with the preflight did not run it:\n${out}`);
                }
                times[mode].push(seconds);
                log(`round ${round + 1} ${mode}: ${fixed(seconds, 2)} s`);
            }
        }
        const settings = resolveSettings({});
        const alone: number[] = [];
        for (let round = 0; round < rounds; round++) {
            const started = Date.now();
            const read = readClusterFacts(cluster.kubeconfig(), settings);
            if (
                !("facts" in read) ||
                preflight(settings, read.facts, { stackLabel: "bench", dryRun: true, keyPrefix: "" }).errors.length > 0
            ) {
                throw new Error(`the preflight alone did not pass: ${JSON.stringify(read).slice(0, 500)}`);
            }
            alone.push((Date.now() - started) / 1000);
        }
        const median = (xs: number[]) =>
            percentile(
                [...xs].sort((a, b) => a - b),
                50,
            );
        process.stdout.write(
            `${table(
                ["preview", "runs", "median s", "min s", "max s"],
                (["without", "with"] as const).map((mode) => [
                    mode === "with" ? "with the preflight" : "without it",
                    String(times[mode].length),
                    fixed(median(times[mode]), 2),
                    fixed(Math.min(...times[mode]), 2),
                    fixed(Math.max(...times[mode]), 2),
                ]),
            )}\n`,
        );
        process.stdout.write(
            `the preflight alone (reads and checks): median ${fixed(median(alone), 2)} s, min ${fixed(Math.min(...alone), 2)} s, max ${fixed(Math.max(...alone), 2)} s over ${alone.length} runs\n`,
        );
        process.stdout.write(
            `ratio with/without (medians): ${fixed(median(times.with) / median(times.without), 2)}x; the preflight adds ${fixed(median(times.with) - median(times.without), 2)} s\n`,
        );
        return 0;
    } finally {
        await cluster.down();
    }
}

runMain(main);
