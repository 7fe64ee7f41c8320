/**
 * Command-line arguments of the fleet runner, and the choice of stacks they make. Pure.
 */
import { Fleet, FleetStack, MAX_CONCURRENCY } from "./fleetFile";

export const USAGE = `usage: npm run fleet -- <fleet.yaml> [--preview-only] [--prune] [--concurrency N] [--stacks a,b] [--log-dir DIR] [--json FILE]

  <fleet.yaml>       the fleet file (see fleet/fleet.example.yaml)
  --preview-only     preview every stack (with the policy packs) and stop: nothing is deployed
  --prune            destroy (after a preview) the discovered stacks whose cluster is gone, and remove them
  --concurrency N    stacks in flight at once (overrides the fleet file's concurrency; 1 to ${MAX_CONCURRENCY})
  --stacks a,b       only these stacks of the fleet (listed or discovered)
  --log-dir DIR      where each stack's log is written (default: $EKSA_METRICS_CACHE/fleet-logs/<time>)
  --json FILE        also write the summary as JSON to FILE (per stack: status, changes, error, verification, renewal)
  -h, --help         this text

Exit status: 0 when every stack succeeded, 1 when one failed, 2 for a bad command line or fleet file.`;

export interface FleetArgs {
    help: boolean;
    fleetFile?: string;
    previewOnly: boolean;
    concurrency?: number;
    stacks?: string[];
    logDir?: string;
    prune: boolean;
    json?: string;
}

export class UsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UsageError";
    }
}

/** Parses the arguments after the script name (`--flag value` and `--flag=value` forms). */
export function parseArgs(argv: string[]): FleetArgs {
    const args: FleetArgs = { help: false, previewOnly: false, prune: false };
    const problems: string[] = [];
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
        const flag = eq > 0 ? arg.slice(0, eq) : arg;
        const value = (): string | undefined => {
            if (eq > 0) {
                return arg.slice(eq + 1);
            }
            const next = argv[i + 1];
            if (next === undefined || next.startsWith("-")) {
                problems.push(`${flag} needs a value`);
                return undefined;
            }
            i++;
            return next;
        };
        switch (flag) {
            case "-h":
            case "--help":
                args.help = true;
                break;
            case "--preview-only":
                if (eq > 0) {
                    problems.push(`--preview-only takes no value`);
                }
                args.previewOnly = true;
                break;
            case "--prune":
                if (eq > 0) {
                    problems.push(`--prune takes no value`);
                }
                args.prune = true;
                break;
            case "--json": {
                const text = value();
                if (text !== undefined) {
                    args.json = text;
                }
                break;
            }
            case "--concurrency": {
                const text = value();
                if (text === undefined) {
                    break;
                }
                const n = /^\d+$/.test(text) ? Number(text) : NaN;
                if (!(n >= 1 && n <= MAX_CONCURRENCY)) {
                    problems.push(
                        `--concurrency ${JSON.stringify(text)} is not a whole number from 1 to ${MAX_CONCURRENCY}`,
                    );
                } else {
                    args.concurrency = n;
                }
                break;
            }
            case "--stacks": {
                const text = value();
                if (text === undefined) {
                    break;
                }
                const names = text.split(",").map((s) => s.trim());
                if (names.some((n) => n === "")) {
                    problems.push(`--stacks ${JSON.stringify(text)} has an empty name: write --stacks a,b`);
                } else {
                    args.stacks = [...new Set([...(args.stacks ?? []), ...names])];
                }
                break;
            }
            case "--log-dir": {
                const text = value();
                if (text !== undefined) {
                    args.logDir = text;
                }
                break;
            }
            default:
                if (arg.startsWith("-") && arg !== "-") {
                    problems.push(`unknown option ${flag}`);
                } else if (args.fleetFile !== undefined) {
                    problems.push(`one fleet file at a time (got ${args.fleetFile} and ${arg})`);
                } else {
                    args.fleetFile = arg;
                }
        }
    }
    if (!args.help && args.fleetFile === undefined && problems.length === 0) {
        problems.push("no fleet file given");
    }
    if (problems.length > 0) {
        throw new UsageError(problems.join("; "));
    }
    return args;
}

/**
 * The stacks `--stacks` names, in the fleet's order; all of them without it. `others`: names that
 * are not stacks to run but that --stacks may name (a discovered cluster skipped, a gone stack).
 */
export function selectStacks(fleet: Fleet, names: string[] | undefined, others: string[] = []): FleetStack[] {
    if (names === undefined) {
        return fleet.stacks;
    }
    const known = fleet.stacks.map((s) => s.name);
    const unknown = names.filter((n) => !known.includes(n) && !others.includes(n));
    if (unknown.length > 0) {
        throw new UsageError(
            `--stacks: ${unknown.join(", ")} ${unknown.length === 1 ? "is" : "are"} not in the fleet${fleet.discover ? " (listed, discovered, skipped or gone)" : " file"}. Its stacks: ${[...known, ...others].join(", ")}`,
        );
    }
    return fleet.stacks.filter((s) => names.includes(s.name));
}
