/**
 * The fleet file: which cluster stacks to drive, with which kubeconfig and config, how many at once
 * and under which policy packs. Pure: the file system is reached only through the `FleetContext`
 * the caller passes, so every problem of the whole file is found — and reported at once, each with
 * the key that holds it and the fix — before any stack is touched.
 *
 * Config keys are the program's own (`CONFIG_KEYS` in config/stackConfig.ts), and each stack's
 * config is put through the program's own validation (`readStackConfig`), so a value the program
 * would refuse at `pulumi preview` is refused here first, with the same message.
 */
import * as path from "path";
import * as yaml from "js-yaml";
import { SettingsError } from "../config/settings";
import { CONFIG_KEYS, CONFIG_NAMESPACE, kubeconfigProblems, readStackConfig } from "../config/stackConfig";
import { DiscoverSpec, parseDiscover, unreadable } from "./discovery";

export const DEFAULT_CONCURRENCY = 2;
export const DEFAULT_POLICY_PACKS = ["policy"];
/** Upper bound for `concurrency`: each stack in flight is a pulumi CLI, a Node.js program and its plugins. */
export const MAX_CONCURRENCY = 32;

/** Pulumi's rule for stack names (letters, digits, '-', '_', '.'), starting with a letter or digit: also safe as a log file name. */
const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

const TOP_LEVEL_KEYS = ["concurrency", "policyPacks", "discover", "stacks"];
const STACK_KEYS = ["name", "kubeconfig", "config"];

export interface FleetStack {
    name: string;
    /** Where the kubeconfig came from: the fleet file's path (resolved), or a discovered cluster's Secret. */
    kubeconfigSource: string;
    /** Its content: stored as the secret `eksa-metrics:kubeconfig`. */
    kubeconfig: string;
    /** `eksa-metrics:<key>` values other than the kubeconfig, as written in the fleet file. */
    config: Record<string, unknown>;
    /** A discovered stack's Cluster, `<namespace>/<name>`, and its management cluster's API server (marks stored with the stack). */
    discovered?: { cluster: string; management: string };
}

export interface Fleet {
    concurrency: number;
    /** Absolute paths of the policy pack directories. */
    policyPacks: string[];
    /** The stacks the file lists (discovered ones are added at run time). */
    stacks: FleetStack[];
    /** The `discover:` section, when there is one. */
    discover?: DiscoverSpec;
}

/** What validation may know about the file system, supplied by the caller (real or fake). */
export interface FleetContext {
    /** Path of the fleet file: relative kubeconfig paths are relative to its directory. */
    fleetFile: string;
    /** The Pulumi project directory: relative policy pack paths are relative to it. */
    projectDir: string;
    /** Expands a leading `~/` in kubeconfig paths. */
    homeDir: string;
    /** The text of a file, or an Error saying why it cannot be read (e.g. ENOENT). */
    readFile(absolutePath: string): string | Error;
    /** Whether a directory holds a policy pack (a PulumiPolicy.yaml). */
    isPolicyPack(absolutePath: string): boolean;
}

export class FleetFileError extends Error {
    constructor(
        readonly file: string,
        readonly problems: string[],
    ) {
        super(`invalid fleet file ${file}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "FleetFileError";
    }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
    return value === undefined ? "missing" : JSON.stringify(value);
}

/** A value fits a config key when it has the kind the program parses for that key. */
function kindProblem(kind: string, value: unknown): string | undefined {
    switch (kind) {
        case "string":
            return typeof value === "string" ? undefined : "is not a string";
        case "boolean":
            return typeof value === "boolean" ? undefined : "is not true or false";
        case "integer":
            return Number.isInteger(value) ? undefined : "is not a whole number";
        default: // "object": a map or a list
            return typeof value === "object" && value !== null ? undefined : "is not a map or a list";
    }
}

/** The text the engine hands the program for a config value (structured values as JSON). */
export function configText(value: unknown): string {
    return typeof value === "string" ? value : JSON.stringify(value);
}

export function expandPath(file: string, baseDir: string, homeDir: string): string {
    if (file === "~" || file.startsWith("~/")) {
        return path.join(homeDir, file.slice(1));
    }
    return path.resolve(baseDir, file);
}

/**
 * Checks a config map's keys (the program's, without the prefix) and the kind of each value; pushes
 * each problem at `at` and returns the keys that are right. `stackAt`: the stack entry, for the fix
 * of a kubeconfig given as config.
 */
export function checkConfig(at: string, map: unknown, problems: string[], stackAt?: string): Record<string, unknown> {
    const config: Record<string, unknown> = {};
    if (!isPlainObject(map)) {
        problems.push(
            `${at}: ${describe(map)} is not a map. Write config keys as in README.md, e.g. config: {components: {etcd: false}}`,
        );
    } else {
        for (const [key, value] of Object.entries(map)) {
            const kind = (CONFIG_KEYS as Record<string, string | undefined>)[key];
            if (key === "kubeconfig") {
                problems.push(
                    `${at}.kubeconfig: the kubeconfig is not given as config. ${stackAt ? `Set ${stackAt}.kubeconfig to the file's path` : "Discovered stacks get their cluster's kubeconfig Secret"}; its content is stored as the secret ${CONFIG_NAMESPACE}:kubeconfig`,
                );
            } else if (kind === undefined) {
                const bare = key.startsWith(`${CONFIG_NAMESPACE}:`)
                    ? key.slice(CONFIG_NAMESPACE.length + 1)
                    : undefined;
                const fix =
                    bare !== undefined && bare in CONFIG_KEYS
                        ? `Write it without the "${CONFIG_NAMESPACE}:" prefix: ${bare}`
                        : `Known keys: ${Object.keys(CONFIG_KEYS)
                              .filter((k) => k !== "kubeconfig")
                              .join(", ")}`;
                problems.push(`${at}.${key}: is not a setting of the program. ${fix}`);
            } else {
                const wrong = kindProblem(kind, value);
                if (wrong) {
                    problems.push(
                        `${at}.${key}: ${describe(value)} ${wrong}. See the ${key} row of README.md's configuration table`,
                    );
                } else {
                    config[key] = value;
                }
            }
        }
    }
    return config;
}

/** Parses and validates a fleet file's text; throws a FleetFileError listing every problem. */
export function parseFleet(text: string, ctx: FleetContext): Fleet {
    const { fleet, problems } = readFleet(text, ctx);
    if (problems.length > 0) {
        throw new FleetFileError(ctx.fleetFile, problems);
    }
    return fleet!;
}

/**
 * Parses and validates a fleet file's text: every problem, and what is right of it (a valid
 * `discover:` section is returned even when the rest has problems, so that the discovery's own
 * problems are reported with them).
 */
export function readFleet(
    text: string,
    ctx: FleetContext,
): { fleet?: Fleet; discover?: DiscoverSpec; problems: string[] } {
    const problems: string[] = [];
    const fail = (): { problems: string[] } => ({ problems });
    let doc: unknown;
    try {
        doc = yaml.load(text);
    } catch (err) {
        problems.push(
            `is not YAML: ${(err as Error).message.split("\n")[0]}. Fix the syntax (see fleet/fleet.example.yaml)`,
        );
        return fail();
    }
    if (!isPlainObject(doc)) {
        problems.push(`is not a map with a "stacks" list or a "discover" section. Start from fleet/fleet.example.yaml`);
        return fail();
    }
    for (const key of Object.keys(doc)) {
        if (!TOP_LEVEL_KEYS.includes(key)) {
            problems.push(`${key}: is not a fleet file key. Known keys: ${TOP_LEVEL_KEYS.join(", ")}`);
        }
    }

    let concurrency = DEFAULT_CONCURRENCY;
    if (doc.concurrency !== undefined) {
        if (
            !Number.isInteger(doc.concurrency) ||
            (doc.concurrency as number) < 1 ||
            (doc.concurrency as number) > MAX_CONCURRENCY
        ) {
            problems.push(
                `concurrency: ${describe(doc.concurrency)} is not a whole number from 1 to ${MAX_CONCURRENCY}. Set how many stacks run at once, e.g. concurrency: ${DEFAULT_CONCURRENCY}`,
            );
        } else {
            concurrency = doc.concurrency as number;
        }
    }

    const policyPacks: string[] = [];
    const packs = doc.policyPacks === undefined ? DEFAULT_POLICY_PACKS : doc.policyPacks;
    if (!Array.isArray(packs) || packs.some((p) => typeof p !== "string" || p === "")) {
        problems.push(
            `policyPacks: ${describe(packs)} is not a list of directories. Write e.g. policyPacks: [policy] (relative to the project directory), or [] for none`,
        );
    } else {
        for (const [i, pack] of (packs as string[]).entries()) {
            const dir = path.resolve(ctx.projectDir, pack);
            if (!ctx.isPolicyPack(dir)) {
                problems.push(
                    `policyPacks[${i}]: ${dir} is not a policy pack (no PulumiPolicy.yaml). Paths are relative to the project directory ${ctx.projectDir}`,
                );
            } else if (policyPacks.includes(dir)) {
                problems.push(`policyPacks[${i}]: ${pack} is listed twice. Remove one`);
            } else {
                policyPacks.push(dir);
            }
        }
    }

    const fleetDir = path.dirname(path.resolve(ctx.fleetFile));
    const discover =
        doc.discover === undefined
            ? undefined
            : parseDiscover(
                  doc.discover,
                  {
                      resolve: (file) => expandPath(file, fleetDir, ctx.homeDir),
                      readFile: ctx.readFile,
                      checkConfig: (at, value, found) => checkConfig(at, value, found),
                  },
                  problems,
              );

    const stacks: FleetStack[] = [];
    const listed = doc.stacks ?? (doc.discover !== undefined ? [] : undefined);
    if (!Array.isArray(listed) || (listed.length === 0 && doc.discover === undefined)) {
        problems.push(
            `stacks: ${doc.stacks === undefined ? "is missing" : `${describe(doc.stacks)} is not a non-empty list`}. List the cluster stacks, e.g. stacks: [{name: mgmt-west, kubeconfig: ~/.kube/mgmt-west.kubeconfig}], or discover them (discover: {kubeconfig: ...})`,
        );
        return { discover, problems };
    }
    const firstIndex = new Map<string, number>();
    for (const [i, entry] of (listed as unknown[]).entries()) {
        const at = `stacks[${i}]`;
        if (!isPlainObject(entry)) {
            problems.push(
                `${at}: ${describe(entry)} is not a map. Write {name: <stack>, kubeconfig: <file>, config: {...}}`,
            );
            continue;
        }
        const before = problems.length;
        for (const key of Object.keys(entry)) {
            if (!STACK_KEYS.includes(key)) {
                problems.push(`${at}.${key}: is not a stack key. Known keys: ${STACK_KEYS.join(", ")}`);
            }
        }

        const name = entry.name;
        let label = at;
        if (typeof name !== "string" || !STACK_NAME.test(name)) {
            problems.push(
                `${at}.name: ${describe(name)} is not a valid stack name. Use up to 100 letters, digits, '-', '_' and '.', starting with a letter or digit`,
            );
        } else {
            label = `${at} (${name})`;
            const seen = firstIndex.get(name);
            if (seen !== undefined) {
                problems.push(
                    `${at}.name: "${name}" is also the name of stacks[${seen}]. Each stack appears once: merge or rename them`,
                );
            } else {
                firstIndex.set(name, i);
            }
        }

        let kubeconfigPath = "";
        let kubeconfig = "";
        if (typeof entry.kubeconfig !== "string" || entry.kubeconfig === "") {
            problems.push(
                `${label}.kubeconfig: ${describe(entry.kubeconfig)} is not a file path. Give the path of the cluster's kubeconfig (relative to the fleet file's directory, or ~/...)`,
            );
        } else {
            kubeconfigPath = expandPath(entry.kubeconfig, fleetDir, ctx.homeDir);
            const content = ctx.readFile(kubeconfigPath);
            if (content instanceof Error) {
                problems.push(
                    `${label}.kubeconfig: ${kubeconfigPath} ${unreadable(content)}. Give the path of the cluster's kubeconfig (relative to the fleet file's directory, or ~/...)`,
                );
            } else {
                kubeconfig = content;
                for (const p of kubeconfigProblems(content)) {
                    problems.push(`${label}.kubeconfig: ${kubeconfigPath} ${p}. Point it at the cluster's kubeconfig`);
                }
            }
        }

        const config = checkConfig(`${label}.config`, entry.config ?? {}, problems, at);

        // Only a stack whose file-level shape is right is put through the program's own validation:
        // otherwise its messages would repeat the ones above.
        if (problems.length === before) {
            const raw: Record<string, string> = { [`${CONFIG_NAMESPACE}:kubeconfig`]: kubeconfig };
            for (const [key, value] of Object.entries(config)) {
                raw[`${CONFIG_NAMESPACE}:${key}`] = configText(value);
            }
            try {
                readStackConfig(raw);
            } catch (err) {
                if (!(err instanceof SettingsError)) {
                    throw err;
                }
                // The kubeconfig's own problems are reported above, with its path.
                problems.push(
                    ...err.problems
                        .filter((p) => !p.startsWith(`${CONFIG_NAMESPACE}:kubeconfig:`))
                        .map((p) => `${label}.config: ${p}`),
                );
            }
            stacks.push({ name: name as string, kubeconfigSource: kubeconfigPath, kubeconfig, config });
        }
    }
    if (problems.length > 0) {
        return { discover, problems };
    }
    return { fleet: { concurrency, policyPacks, stacks, discover }, discover, problems };
}
