/**
 * The fleet runner's wall time against a sequential shell loop of `pulumi up`, same stacks, same
 * run: three stacks of the project's own program on two local control planes (each in a network
 * namespace of its own), deployed from nothing by
 *   - loop: `for s in ...; do pulumi up --yes --policy-pack policy --stack $s; done`
 *   - fleet at concurrency 1, 2 and 4 (`npm run fleet`: preview with the pack, then up, per stack).
 * Every stack is destroyed between two measurements (not timed). Rounds alternate the order of the
 * modes so machine noise hits all alike. Prints each measurement and the ratios to the loop.
 * Run with `bash dev/bench/run.sh fleet [ROUNDS]` (it needs the sandbox: private network namespace and /tmp).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import {
    healthyFleetStacks,
    LocalCluster,
    mustRun,
    ProgramStack,
    STACK_PASSPHRASE,
    writeProjectMirror,
} from "../localcluster/driver";
import { main } from "../../fleet/main";

const MODES = ["loop", "fleet-1", "fleet-2", "fleet-4"] as const;
type Mode = (typeof MODES)[number];

const log = (text: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

async function main_(): Promise<number> {
    const rounds = Number(process.argv[2] ?? "1");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eksa-bench-fleet-"));
    const project = path.join(dir, "project");
    const state = path.join(dir, "state");
    fs.mkdirSync(project);
    fs.mkdirSync(state);
    writeProjectMirror(project);
    const west = new LocalCluster(path.join(dir, "west"), { addressBlock: "127.0.1" });
    const east = new LocalCluster(path.join(dir, "east"), { addressBlock: "127.0.2" });
    log("bringing two local control planes up");
    await Promise.all([west.up(), east.up()]);
    try {
        await Promise.all([west, east].map((cluster) => cluster.createDefaultReaders()));
        const stacks = healthyFleetStacks(west, east);
        const fleetFile = path.join(dir, "fleet.yaml");
        fs.writeFileSync(fleetFile, yaml.dump({ policyPacks: ["policy"], stacks }));
        const envVars = { PULUMI_BACKEND_URL: `file://${state}`, PULUMI_CONFIG_PASSPHRASE: STACK_PASSPHRASE };
        const handles = stacks.map((s) => new ProgramStack(s.name, { dir: project, backendDir: state }));
        // Creates and configures the stacks (a preview-only fleet run), so every mode starts from the same state.
        if (
            (await main([fleetFile, "--preview-only", "--log-dir", path.join(dir, "logs", "setup")], {
                projectDir: project,
                envVars,
                out: () => undefined,
            })) !== 0
        ) {
            throw new Error("the fleet's stacks do not preview cleanly");
        }

        const times: Record<Mode, number[]> = { loop: [], "fleet-1": [], "fleet-2": [], "fleet-4": [] };
        for (let round = 0; round < rounds; round++) {
            const order = round % 2 === 0 ? [...MODES] : [...MODES].reverse();
            for (const mode of order) {
                const started = Date.now();
                if (mode === "loop") {
                    const script = `set -e; for s in ${stacks.map((s) => s.name).join(" ")}; do pulumi up --yes --non-interactive --policy-pack policy --stack "$s" >/dev/null; done`;
                    await mustRun(["bash", "-c", script], { cwd: project, env: { ...process.env, ...envVars } });
                } else {
                    const code = await main(
                        [
                            fleetFile,
                            "--concurrency",
                            mode.split("-")[1],
                            "--log-dir",
                            path.join(dir, "logs", `${mode}-${round}`),
                        ],
                        {
                            projectDir: project,
                            envVars,
                            out: () => undefined,
                        },
                    );
                    if (code !== 0) {
                        throw new Error(`${mode} failed (logs in ${path.join(dir, "logs", `${mode}-${round}`)})`);
                    }
                }
                times[mode].push((Date.now() - started) / 1000);
                log(`round ${round + 1} ${mode}: ${times[mode].at(-1)!.toFixed(1)} s`);
                for (const handle of handles) {
                    const destroyed = await handle.destroy();
                    if (destroyed.code !== 0) {
                        throw new Error(`destroy ${handle.name}: ${destroyed.stderr}`);
                    }
                }
            }
        }
        const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
        console.log(
            `\nthree stacks on two local control planes, deployed from nothing and verified (${rounds} round(s), ${os.cpus().length} CPUs)`,
        );
        console.log("mode       wall time (s)   ratio to the loop");
        for (const mode of MODES) {
            console.log(
                `${mode.padEnd(10)} ${mean(times[mode]).toFixed(1).padStart(13)}   ${(mean(times[mode]) / mean(times.loop)).toFixed(2)}x`,
            );
        }
        return 0;
    } finally {
        await Promise.all([west.down(), east.down()]).catch((err) => log(`teardown: ${err.message}`));
    }
}

main_().then(
    (code) => {
        process.exitCode = code;
    },
    (err: Error) => {
        process.stderr.write(`bench failed: ${err.message}\n`);
        process.exitCode = 1;
    },
);
