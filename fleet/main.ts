/**
 * `npm run fleet -- <fleet.yaml> [--preview-only] [--prune] [--concurrency N] [--stacks a,b] [--log-dir DIR] [--json FILE]`:
 * discovers the clusters of a management cluster (when the fleet file says `discover:`), then
 * previews (with the policy packs) and deploys every stack of the fleet. See fleet/README.md.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseArgs, selectStacks, USAGE, UsageError } from "./args";
import { goneStacks, GoneStack, planDiscovery, SkippedCluster } from "./discovery";
import { listClusters } from "./discoveryClient";
import { Fleet, FleetFileError, FleetStack, readFleet } from "./fleetFile";
import { Overview, plainOverview, terminalOverview } from "./overview";
import { markedStacks, preflight, runFleet } from "./runner";
import { exitCode, FleetFindings, jsonSummary, renderSummary } from "./summary";

export interface MainOptions {
    /** The Pulumi project (default: this repository). */
    projectDir?: string;
    /** Extra environment for the pulumi commands. */
    envVars?: Record<string, string>;
    /** Where lines go (default: standard output; on a terminal, the overview redraws its lines there). */
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

interface Planned {
    fleet: Fleet;
    stacks: FleetStack[];
    skipped: SkippedCluster[];
    gone: GoneStack[];
    discovered: number;
}

/**
 * The fleet file, and what discovery makes of the management cluster: the stacks (listed, then
 * discovered), the clusters skipped and the stacks gone. Every problem of the file and of the
 * discovery is thrown at once, in one FleetFileError, before anything is changed.
 */
async function plan(fleetFile: string, projectDir: string, envVars: Record<string, string>): Promise<Planned> {
    const { fleet, discover, problems } = readFleet(fs.readFileSync(fleetFile, "utf8"), {
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
    let stacks: FleetStack[] = fleet?.stacks ?? [];
    let skipped: SkippedCluster[] = [];
    let gone: GoneStack[] = [];
    let discovered = 0;
    if (discover) {
        const listing = await listClusters(discover);
        problems.push(...listing.problems);
        const found = planDiscovery(
            discover,
            listing.clusters,
            stacks.map((s) => s.name),
        );
        problems.push(...found.problems);
        skipped = found.skipped;
        discovered = found.stacks.length;
        stacks = [
            ...stacks,
            ...found.stacks.map((d) => ({
                name: d.name,
                kubeconfigSource: d.kubeconfigSource,
                kubeconfig: d.kubeconfig,
                config: d.config,
                discovered: { cluster: d.cluster, management: discover.server },
            })),
        ];
        if (listing.problems.length === 0) {
            gone = goneStacks(discover, await markedStacks(projectDir, envVars), listing.clusters, found);
        }
    }
    if (problems.length > 0) {
        throw new FleetFileError(fleetFile, problems);
    }
    return { fleet: { ...fleet!, stacks }, stacks, skipped, gone, discovered };
}

/** The whole command; returns the exit status (0 all stacks succeeded, 1 one failed, 2 bad input). */
export async function main(argv: string[], options: MainOptions = {}): Promise<number> {
    const out = options.out ?? ((t: string) => process.stdout.write(`${t}\n`));
    const err = options.err ?? ((t: string) => process.stderr.write(`${t}\n`));
    const projectDir = path.resolve(options.projectDir ?? path.join(__dirname, ".."));
    const envVars = options.envVars ?? {};

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
    let planned: Planned;
    let stacks: FleetStack[];
    try {
        planned = await plan(fleetFile, projectDir, envVars);
        stacks = selectStacks(planned.fleet, args.stacks, [
            ...planned.skipped.map((c) => c.stack),
            ...planned.gone.map((g) => g.stack),
        ]);
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
    const { fleet } = planned;
    const problems = preflight(fleet.policyPacks);
    if (problems.length > 0) {
        err(`error: nothing was run:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        return 2;
    }
    const chosen = (name: string) => args.stacks === undefined || args.stacks.includes(name);
    const findings: FleetFindings = {
        skipped: planned.skipped.filter((s) => chosen(s.stack)),
        gone: args.prune ? [] : planned.gone.filter((g) => chosen(g.stack)),
    };
    const prune = args.prune ? planned.gone.filter((g) => chosen(g.stack)) : [];

    const concurrency = args.concurrency ?? fleet.concurrency;
    const logDir = path.resolve(args.logDir ?? defaultLogDir(fleetFile));
    const startedAt = new Date();
    out(
        `fleet: ${stacks.length} stack(s) of ${fleetFile}${fleet.discover ? ` (${planned.discovered} discovered in ${fleet.discover.server}, namespaces ${fleet.discover.namespaces.join(", ")}; ${planned.skipped.length} skipped; ${planned.gone.length} gone${args.prune ? ", pruned" : ""})` : ""}, ` +
            `${concurrency} at a time, ${args.previewOnly ? "preview only" : "preview then up"}, ` +
            `policy packs: ${fleet.policyPacks.join(", ") || "none"}; logs in ${logDir}`,
    );
    const overview: Overview =
        options.out === undefined && process.stdout.isTTY ? terminalOverview(process.stdout) : plainOverview(out);
    let results;
    try {
        results = await runFleet(stacks, {
            projectDir,
            policyPacks: fleet.policyPacks,
            concurrency,
            previewOnly: args.previewOnly,
            logDir,
            envVars,
            signal: options.signal,
            onEvent: (e) => overview.onEvent(e),
            prune,
        });
    } finally {
        overview.done();
    }
    out(`\n${renderSummary(results, logDir, findings)}`);
    const code = exitCode(results, fleet.discover ? findings : undefined);
    if (args.json !== undefined) {
        const file = path.resolve(args.json);
        const summary = jsonSummary(results, findings, {
            fleetFile,
            startedAt,
            finishedAt: new Date(),
            previewOnly: args.previewOnly,
            prune: args.prune,
            logDir,
        });
        fs.writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
        out(`JSON summary: ${file}`);
    }
    return code;
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
