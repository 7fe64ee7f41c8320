/**
 * `npm run fleet -- <fleet.yaml> [--preview-only] [--concurrency N] [--stacks a,b] [--log-dir DIR]`:
 * previews (with the policy packs) and deploys every stack of a fleet file. See fleet/README.md.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseArgs, selectStacks, USAGE, UsageError } from "./args";
import { FleetFileError, parseFleet } from "./fleetFile";
import { preflight, runFleet } from "./runner";
import { exitCode, renderSummary } from "./summary";

export interface MainOptions {
    /** The Pulumi project (default: this repository). */
    projectDir?: string;
    /** Extra environment for the pulumi commands. */
    envVars?: Record<string, string>;
    out?: (text: string) => void;
    err?: (text: string) => void;
    signal?: AbortSignal;
}

function defaultLogDir(fleetFile: string): string {
    const cache = process.env.EKSA_METRICS_CACHE || path.join(os.homedir(), ".cache", "eksa-metrics");
    const time = new Date()
        .toISOString()
        .replace(/[-:]/g, "")
        .replace(/\.\d+Z$/, "Z");
    return path.join(cache, "fleet-logs", `${path.basename(fleetFile).replace(/\.ya?ml$/, "")}-${time}`);
}

/** The whole command; returns the exit status (0 all stacks succeeded, 1 one failed, 2 bad input). */
export async function main(argv: string[], options: MainOptions = {}): Promise<number> {
    const out = options.out ?? ((t: string) => process.stdout.write(`${t}\n`));
    const err = options.err ?? ((t: string) => process.stderr.write(`${t}\n`));
    const projectDir = path.resolve(options.projectDir ?? path.join(__dirname, ".."));

    let args;
    try {
        args = parseArgs(argv);
    } catch (e) {
        if (e instanceof UsageError) {
            err(`error: ${e.message}\n\n${USAGE}`);
            return 2;
        }
        throw e;
    }
    if (args.help) {
        out(USAGE);
        return 0;
    }
    const fleetFile = path.resolve(args.fleetFile!);
    let stacks, fleet;
    try {
        fleet = parseFleet(fs.readFileSync(fleetFile, "utf8"), {
            fleetFile,
            projectDir,
            homeDir: os.homedir(),
            readFile: (file) => {
                try {
                    return fs.readFileSync(file, "utf8");
                } catch (e) {
                    return e as Error;
                }
            },
            isPolicyPack: (dir) => fs.existsSync(path.join(dir, "PulumiPolicy.yaml")),
        });
        stacks = selectStacks(fleet, args.stacks);
    } catch (e) {
        if (e instanceof FleetFileError || e instanceof UsageError) {
            err(`error: ${e.message}`);
            return 2;
        }
        if ((e as NodeJS.ErrnoException).code !== undefined) {
            err(`error: cannot read the fleet file: ${(e as Error).message}`);
            return 2;
        }
        throw e;
    }
    const problems = preflight(fleet.policyPacks);
    if (problems.length > 0) {
        err(`error: nothing was run:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        return 2;
    }

    const concurrency = args.concurrency ?? fleet.concurrency;
    const logDir = path.resolve(args.logDir ?? defaultLogDir(fleetFile));
    out(
        `fleet: ${stacks.length} stack(s) of ${fleetFile}, ${concurrency} at a time, ${args.previewOnly ? "preview only" : "preview then up"}, ` +
            `policy packs: ${fleet.policyPacks.join(", ") || "none"}; logs in ${logDir}`,
    );
    const results = await runFleet(stacks, {
        projectDir,
        policyPacks: fleet.policyPacks,
        concurrency,
        previewOnly: args.previewOnly,
        logDir,
        envVars: options.envVars,
        signal: options.signal,
        progress: (line) => out(`${new Date().toISOString().slice(11, 19)} ${line}`),
    });
    out(`\n${renderSummary(results, logDir)}`);
    return exitCode(results);
}

if (require.main === module) {
    // Ctrl-C from a terminal reaches the running pulumi commands too (same process group): they
    // cancel their operation themselves. Here it only stops further stacks from starting.
    const controller = new AbortController();
    process.on("SIGINT", () => {
        if (controller.signal.aborted) {
            process.exit(130);
        }
        controller.abort();
        process.stderr.write(
            "fleet: cancelling: no further stack starts, running pulumi commands finish their cancellation (Ctrl-C again to quit now)\n",
        );
    });
    main(process.argv.slice(2), { signal: controller.signal }).then(
        (code) => process.exit(code),
        (e) => {
            process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
            process.exit(1);
        },
    );
}
