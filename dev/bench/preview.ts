/**
 * What the policy pack costs a `pulumi preview` of the project's own program, same stack, same run:
 * the stack is deployed on a local control plane, then `pulumi preview` and
 * `pulumi preview --policy-pack policy` alternate (A B, B A, ...) ROUNDS times each; prints each
 * time, the means and the ratio. Also times the first `up` (to verified), a second `up` (no
 * changes) and the `destroy`.
 * Run with `bash dev/bench/run.sh preview [ROUNDS]` (it needs the sandbox).
 */
import * as path from "path";
import { LocalCluster, ProgramStack, REPO, Result } from "../localcluster/driver";
import { runMain } from "./lib/runMain";

const log = (text: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

async function timed(what: string, run: () => Promise<Result>): Promise<number> {
    const started = Date.now();
    const result = await run();
    const seconds = (Date.now() - started) / 1000;
    if (result.code !== 0) {
        throw new Error(`${what} failed:\n${result.stdout}\n${result.stderr}`);
    }
    log(`${what}: ${seconds.toFixed(1)} s`);
    return seconds;
}

async function main(): Promise<number> {
    const rounds = Number(process.argv[2] ?? "5");
    const cluster = new LocalCluster();
    log("bringing the local control plane up");
    await cluster.up();
    try {
        await cluster.createDefaultReaders();
        const stack = new ProgramStack("bench-preview");
        await stack.init(cluster.kubeconfig());
        const firstUp = await timed("first up (rollout and verification)", () => stack.up());
        const secondUp = await timed("second up (no changes)", () => stack.up("--expect-no-changes"));
        const withPack: number[] = [];
        const without: number[] = [];
        const pack = ["--policy-pack", path.join(REPO, "policy")];
        for (let i = 0; i < rounds; i++) {
            const order = i % 2 === 0 ? [true, false] : [false, true];
            for (const usePack of order) {
                const seconds = await timed(`preview ${usePack ? "with" : "without"} the pack`, () =>
                    stack.pulumi(["preview", "--expect-no-changes", ...(usePack ? pack : [])]),
                );
                (usePack ? withPack : without).push(seconds);
            }
        }
        const destroy = await timed("destroy", () => stack.destroy());
        const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
        console.log(`\nthe project's own stack on a local control plane (${rounds} previews each way, alternating)`);
        console.log(`first up, to verified   ${firstUp.toFixed(1)} s`);
        console.log(`second up, no changes   ${secondUp.toFixed(1)} s`);
        console.log(`destroy                 ${destroy.toFixed(1)} s`);
        console.log(
            `preview without pack    ${mean(without).toFixed(2)} s (${without.map((s) => s.toFixed(1)).join(" ")})`,
        );
        console.log(
            `preview with pack       ${mean(withPack).toFixed(2)} s (${withPack.map((s) => s.toFixed(1)).join(" ")})`,
        );
        console.log(`ratio with/without      ${(mean(withPack) / mean(without)).toFixed(2)}x`);
        return 0;
    } finally {
        await cluster.down().catch((err) => log(`teardown: ${err.message}`));
    }
}

runMain(main);
