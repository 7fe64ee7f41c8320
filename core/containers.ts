// Which program a container runs, with which flags: command/args/image as the kubelet and the
// container runtime combine them, `sh -c` scripts, and the kubelet's `$(VAR)` expansion. Pure.

import { FlagScanHit, scanForBoolFlag, scanForFlag } from "./flags";
import { FieldPath, formatPath, isObject, lookup, UNKNOWN, Workload } from "./resources";

/** A program the policies look for, e.g. kube-proxy: its executable names and image repository names. */
export interface Program {
    readonly name: string;
    /** Basenames of the executable (`/usr/local/bin/kube-proxy` -> "kube-proxy"). */
    readonly executables: readonly string[];
    /**
     * Images whose entrypoint runs the program: the repository's last path segments, without tag
     * or architecture suffix ("kube-proxy", or "cluster-api-provider-nutanix/controller" where the
     * basename alone says nothing).
     */
    readonly images: readonly string[];
}

/** One argument of a command line and the field it came from. */
export interface Token {
    readonly value: unknown;
    readonly path: FieldPath;
    /** Set for words of a `sh -c` script: the path then names the whole script. */
    readonly inScript?: true;
}

/** A container's env entries by name (last wins), or the path of the unknown part. */
export type ContainerEnv =
    | {
          readonly known: ReadonlyMap<
              string,
              { readonly entry: Record<string | number, unknown>; readonly path: FieldPath }
          >;
      }
    | { readonly unknownAt: FieldPath };

/** A container (or one command of its shell script) that runs a program. */
export interface CommandLine {
    readonly program: Program;
    readonly container: Record<string | number, unknown>;
    readonly containerPath: FieldPath;
    /** What identified the program, e.g. `command[0] "kube-scheduler"`. */
    readonly identifiedBy: string;
    /** The program's arguments (not the program itself). */
    readonly tokens: readonly Token[];
    readonly env: ContainerEnv;
}

export interface ContainerScan {
    readonly commandLines: readonly CommandLine[];
    /** Fields unknown during preview that decide whether a container runs one of the programs. */
    readonly unknowns: readonly string[];
}

export interface PodContainer {
    readonly container: Record<string | number, unknown>;
    readonly path: FieldPath;
}

/** The pod spec's containers and init containers (native sidecars keep running), or the unknown fields. */
export function podContainers(
    props: unknown,
    workload: Workload,
): { readonly containers: PodContainer[]; readonly unknowns: string[] } {
    const found = lookup(props, workload.podSpecPath);
    if ("unknownAt" in found) {
        return { containers: [], unknowns: [formatPath(found.unknownAt)] };
    }
    const containers: PodContainer[] = [];
    const unknowns: string[] = [];
    if (!isObject(found.value)) {
        return { containers, unknowns };
    }
    for (const listName of ["initContainers", "containers"]) {
        const list = found.value[listName];
        const listPath = [...workload.podSpecPath, listName];
        if (list === UNKNOWN) {
            unknowns.push(formatPath(listPath));
        } else if (Array.isArray(list)) {
            list.forEach((container: unknown, i) => {
                if (container === UNKNOWN) {
                    unknowns.push(formatPath([...listPath, i]));
                } else if (isObject(container)) {
                    containers.push({ container, path: [...listPath, i] });
                }
            });
        }
    }
    return { containers, unknowns };
}

/** Every command line in a workload that runs one of `programs`. */
export function workloadCommandLines(props: unknown, workload: Workload, programs: readonly Program[]): ContainerScan {
    const { containers, unknowns } = podContainers(props, workload);
    const commandLines: CommandLine[] = [];
    for (const { container, path } of containers) {
        const scan = containerCommandLines(container, path, programs);
        commandLines.push(...scan.commandLines);
        unknowns.push(...scan.unknowns);
    }
    return { commandLines, unknowns };
}

function executableProgram(executable: string, programs: readonly Program[]): Program | undefined {
    const base = executable.trim().split("/").pop() ?? "";
    return programs.find((p) => p.executables.includes(base));
}

/**
 * The program an image ships, by the repository's last path segments without tag, digest or
 * architecture suffix: `registry.k8s.io/kube-scheduler:v1.30.0`, `k8s.gcr.io/kube-scheduler-amd64:v1.10.0`,
 * `public.ecr.aws/eks-distro/kubernetes/kube-controller-manager:v1.30.4-eks-1-30-15`.
 */
export function imageProgram(image: string, programs: readonly Program[]): Program | undefined {
    let repository = image.trim().split("@")[0];
    const lastSlash = repository.lastIndexOf("/");
    const tagColon = repository.lastIndexOf(":");
    if (tagColon > lastSlash) {
        repository = repository.slice(0, tagColon);
    }
    const name = repository.replace(/-(amd64|arm64|arm|ppc64le|s390x)$/, "");
    return programs.find((p) => p.images.some((image) => name === image || name.endsWith(`/${image}`)));
}

const SHELLS = new Set(["sh", "bash", "dash", "ash", "ksh", "zsh"]);

/**
 * Programs that run the command given after their own options (and `--`): Kubernetes' own images
 * run components under go-runner (`/go-runner --log-file=... --also-stdout=true -- /usr/local/bin/kube-scheduler ...`,
 * kubernetes/release images/build/go-runner), init processes (tini, dumb-init, catatonit) and the
 * usual process helpers (env, nice, timeout, gosu ...).
 */
export const WRAPPERS: ReadonlySet<string> = new Set([
    "go-runner",
    "tini",
    "tini-static",
    "dumb-init",
    "catatonit",
    "env",
    "nice",
    "ionice",
    "timeout",
    "stdbuf",
    "taskset",
    "numactl",
    "setpriv",
    "su-exec",
    "gosu",
    "chpst",
]);

const basename = (word: string) => word.trim().split("/").pop() ?? "";

/** What a wrapper's argument list runs: the index of the wrapped program or shell, or an unknown argument. */
type Wrapped =
    | { readonly kind: "program"; readonly program: Program; readonly at: number }
    | { readonly kind: "shell"; readonly at: number }
    | { readonly kind: "unknown"; readonly at: number };

/**
 * The command a wrapper runs, from the wrapper's arguments: its options (`-x`, `--opt=v`, `--opt value`),
 * `NAME=value` assignments (env) and operands (timeout's duration, gosu's user) come first; the first
 * word that is one of the programs (or a shell, or another wrapper) is the command; after `--` the next
 * word must be. A path that is no option's value and no program we look for is another command: its
 * arguments are not read.
 */
function wrappedCommand(tokens: readonly Token[], programs: readonly Program[]): Wrapped | undefined {
    for (let i = 0; i < tokens.length; i++) {
        const value = tokens[i].value;
        if (value === UNKNOWN) {
            return { kind: "unknown", at: i };
        }
        if (typeof value !== "string") {
            continue;
        }
        if (value === "--") {
            const next = tokens[i + 1]?.value;
            if (next === UNKNOWN) {
                return { kind: "unknown", at: i + 1 };
            }
            return typeof next === "string" ? commandWord(next, i + 1, tokens, programs) : undefined;
        }
        if (value.startsWith("-") || /^[A-Za-z_][A-Za-z0-9_]*=/.test(value)) {
            continue;
        }
        const found = commandWord(value, i, tokens, programs);
        if (found) {
            return found;
        }
        const previous = tokens[i - 1]?.value;
        const optionValue = typeof previous === "string" && previous.startsWith("-") && !previous.includes("=");
        if (value.includes("/") && !optionValue) {
            return undefined;
        }
    }
    return undefined;
}

function commandWord(
    word: string,
    at: number,
    tokens: readonly Token[],
    programs: readonly Program[],
): Wrapped | undefined {
    const program = executableProgram(word, programs);
    if (program) {
        return { kind: "program", program, at };
    }
    if (SHELLS.has(basename(word))) {
        return { kind: "shell", at };
    }
    if (WRAPPERS.has(basename(word))) {
        const inner = wrappedCommand(tokens.slice(at + 1), programs);
        return inner && { ...inner, at: inner.at + at + 1 };
    }
    return undefined;
}

/**
 * Decides whether a container runs one of `programs`, and where its flags are:
 * - command[0] is the binary (any path): flags are command[1..] + args;
 * - command is a shell with `-c <script>`: the script's simple commands that start with the binary
 *   (or a wrapper that runs it);
 * - command[0] is a wrapper (WRAPPERS): the program it runs, flags after it;
 * - no command: args[0] is the binary (flags args[1..]), args hold an entrypoint wrapper's options and
 *   then the binary (Kubernetes' images: go-runner), or the image is the program's image (its
 *   entrypoint runs with args as flags).
 */
export function containerCommandLines(
    container: Record<string | number, unknown>,
    containerPath: FieldPath,
    programs: readonly Program[],
): ContainerScan {
    const at = (...rest: (string | number)[]): FieldPath => [...containerPath, ...rest];
    const tokensOf = (field: "command" | "args", from: number): Token[] => {
        const list = container[field];
        if (list === UNKNOWN) {
            return [{ value: UNKNOWN, path: at(field) }];
        }
        return Array.isArray(list)
            ? list.slice(from).map((value: unknown, k) => ({ value, path: at(field, from + k) }))
            : [];
    };
    const none: ContainerScan = { commandLines: [], unknowns: [] };
    const unknownProgram = (path: FieldPath): ContainerScan => ({ commandLines: [], unknowns: [formatPath(path)] });
    const line = (program: Program, identifiedBy: string, tokens: Token[]): ContainerScan => ({
        commandLines: [
            { program, container, containerPath, identifiedBy, tokens, env: containerEnv(container, at("env")) },
        ],
        unknowns: [],
    });
    /** The command line a wrapper (command[0], or the image's entrypoint) runs, from its arguments. */
    const unwrap = (wrapper: string, tokens: Token[]): ContainerScan | undefined => {
        const wrapped = wrappedCommand(tokens, programs);
        if (!wrapped) {
            return undefined;
        }
        if (wrapped.kind === "unknown") {
            return unknownProgram(tokens[wrapped.at].path);
        }
        if (wrapped.kind === "shell") {
            return shellCommandLines(container, containerPath, tokens.slice(wrapped.at), programs);
        }
        const word = tokens[wrapped.at];
        return line(
            wrapped.program,
            `${wrapper} runs ${JSON.stringify(word.value)} (${formatPath(word.path)})`,
            tokens.slice(wrapped.at + 1),
        );
    };
    const { command, args, image } = container;

    if (command === UNKNOWN) {
        return unknownProgram(at("command"));
    }
    if (Array.isArray(command) && command.length > 0) {
        const first: unknown = command[0];
        if (first === UNKNOWN) {
            return unknownProgram(at("command", 0));
        }
        if (typeof first !== "string") {
            return none;
        }
        const program = executableProgram(first, programs);
        if (program) {
            return line(program, `command[0] ${JSON.stringify(first)}`, [
                ...tokensOf("command", 1),
                ...tokensOf("args", 0),
            ]);
        }
        if (SHELLS.has(basename(first))) {
            return shellCommandLines(
                container,
                containerPath,
                [...tokensOf("command", 0), ...tokensOf("args", 0)],
                programs,
            );
        }
        if (WRAPPERS.has(basename(first))) {
            return (
                unwrap(`command[0] ${JSON.stringify(first)}`, [...tokensOf("command", 1), ...tokensOf("args", 0)]) ??
                none
            );
        }
        return none;
    }

    // No command: the image's entrypoint runs with args.
    if (Array.isArray(args) && typeof args[0] === "string") {
        const program = executableProgram(args[0], programs);
        if (program) {
            return line(program, `args[0] ${JSON.stringify(args[0])}`, tokensOf("args", 1));
        }
        // The entrypoint is a wrapper (go-runner in Kubernetes' images) given its options, then the program.
        if (args[0].startsWith("-") || WRAPPERS.has(basename(args[0]))) {
            const wrapped = unwrap("the image's entrypoint", tokensOf("args", 0));
            if (wrapped && (wrapped.commandLines.length > 0 || wrapped.unknowns.length > 0)) {
                return wrapped;
            }
        }
    }
    if (image === UNKNOWN) {
        return unknownProgram(at("image"));
    }
    const program = typeof image === "string" ? imageProgram(image, programs) : undefined;
    return program
        ? line(program, `image ${JSON.stringify(image)} (its entrypoint, no command)`, tokensOf("args", 0))
        : none;
}

/** `sh -c "<script>"`: the script's simple commands that run one of the programs. */
function shellCommandLines(
    container: Record<string | number, unknown>,
    containerPath: FieldPath,
    tokens: readonly Token[],
    programs: readonly Program[],
): ContainerScan {
    let script: Token | undefined;
    for (let i = 1; i < tokens.length; i++) {
        const value = tokens[i].value;
        if (value === UNKNOWN) {
            return { commandLines: [], unknowns: [formatPath(tokens[i].path)] };
        }
        if (typeof value !== "string" || !value.startsWith("-")) {
            return { commandLines: [], unknowns: [] }; // a script file or something else we do not read
        }
        if (/^-[a-z]*c[a-z]*$/i.test(value)) {
            script = tokens[i + 1];
            break;
        }
    }
    if (!script) {
        return { commandLines: [], unknowns: [] };
    }
    if (script.value === UNKNOWN) {
        return { commandLines: [], unknowns: [formatPath(script.path)] };
    }
    if (typeof script.value !== "string") {
        return { commandLines: [], unknowns: [] };
    }
    const scriptPath = script.path;
    const env = containerEnv(container, [...containerPath, "env"]);
    const commandLines: CommandLine[] = [];
    for (const words of shellSimpleCommands(script.value)) {
        const tokens = words.map((value): Token => ({ value, path: scriptPath, inScript: true }));
        let program = executableProgram(words[0], programs);
        let rest = tokens.slice(1);
        let runs = JSON.stringify(words[0]);
        if (!program && WRAPPERS.has(basename(words[0]))) {
            const wrapped = wrappedCommand(rest, programs);
            if (wrapped?.kind === "program") {
                program = wrapped.program;
                runs = `${JSON.stringify(words[0])} running ${JSON.stringify(words[wrapped.at + 1])}`;
                rest = rest.slice(wrapped.at + 1);
            }
        }
        if (program) {
            commandLines.push({
                program,
                container,
                containerPath,
                identifiedBy: `${formatPath(scriptPath)} runs ${runs}`,
                tokens: rest,
                env,
            });
        }
    }
    return { commandLines, unknowns: [] };
}

/**
 * Splits a shell script into simple commands and their words (rough quote removal; no
 * expansion), dropping leading `VAR=value` assignments and `exec`, subshell parentheses and
 * redirections (`> /tmp/pipe`, `2>&1`: kOps runs etcd-manager as `exec /etcd-manager ... > /tmp/pipe 2>&1`).
 */
function shellSimpleCommands(script: string): string[][] {
    return script
        .replace(/\\\n/g, " ")
        .split(/\n|;|&&|\|\||\||(?<![<>&])&(?![>&])/)
        .map((command) =>
            withoutRedirections(
                (command.match(/(?:"[^"]*"|'[^']*'|[^\s"']+)+/g) ?? [])
                    .map((word) => word.replace(/["']/g, "").replace(/^\(+|\)+$/g, ""))
                    .filter((word) => word !== ""),
            ),
        )
        .map((words) => {
            let start = 0;
            while (start < words.length && (words[start] === "exec" || /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[start]))) {
                start++;
            }
            return words.slice(start);
        })
        .filter((words) => words.length > 0);
}

/** Drops redirections: `>file`, `2>&1`, and `>` / `<` / `2>>` followed by their target word. */
function withoutRedirections(words: string[]): string[] {
    const out: string[] = [];
    for (let i = 0; i < words.length; i++) {
        const operator = /^\d*(?:>>?|<<?|&>>?|>&|<&)(.*)$/.exec(words[i]);
        if (!operator) {
            out.push(words[i]);
        } else if (operator[1] === "") {
            i++; // the target is the next word
        }
    }
    return out;
}

function containerEnv(container: Record<string | number, unknown>, envPath: FieldPath): ContainerEnv {
    const list = container.env;
    if (list === UNKNOWN) {
        return { unknownAt: envPath };
    }
    const known = new Map<string, { entry: Record<string | number, unknown>; path: FieldPath }>();
    if (Array.isArray(list)) {
        list.forEach((entry: unknown, i) => {
            if (isObject(entry) && typeof entry.name === "string") {
                known.set(entry.name, { entry, path: [...envPath, i] });
            }
        });
    }
    return { known };
}

/** A flag's value on a command line, after `$(VAR)` expansion, or an unknown field. */
export type FlagValue =
    | {
          readonly state: "set";
          /** The field that holds the value, e.g. `spec.containers[0].command[3]`. */
          readonly path: string;
          readonly value: string;
          /** The field's whole text when it holds more than the value, e.g. `--bind-address=0.0.0.0`. */
          readonly written?: string;
          /** How the value was obtained, when that is not obvious from the field. */
          readonly note?: string;
          /** Set when the whole value is a downward-API pod field (status.podIP / status.hostIP): one address. */
          readonly downwardApi?: string;
          /** Set when the flag is the last argument, nothing after it (pflag: "flag needs an argument"). */
          readonly noValue?: true;
      }
    | { readonly state: "unknown"; readonly path: string };

/**
 * Every value of `--<flag>` on a command line (empty when the flag is absent). A flag without a
 * value (`--flag` last) is the empty string, noted. For boolean flags use boolFlagValues.
 */
export function flagValues(line: CommandLine, flag: string): FlagValue[] {
    const argv = line.tokens.map((t) =>
        t.value === UNKNOWN || typeof t.value === "string" ? t.value : String(t.value),
    );
    return scanForFlag(argv, flag).map((hit: FlagScanHit): FlagValue => {
        if (hit.kind === "opaque") {
            // An unknown argument could itself be --flag=...
            return { state: "unknown", path: formatPath(line.tokens[hit.index].path) };
        }
        if (hit.kind === "no-value") {
            const token = line.tokens[hit.flagIndex];
            const note = joinNotes(
                token.inScript ? "a word of the shell script" : undefined,
                "no value follows the flag",
            );
            return {
                state: "set",
                path: formatPath(token.path),
                value: "",
                written: String(token.value),
                note,
                noValue: true,
            };
        }
        const token = line.tokens[hit.valueIndex];
        if (hit.value === UNKNOWN) {
            return { state: "unknown", path: formatPath(token.path) };
        }
        const value = String(hit.value);
        const written = String(token.value) !== value ? String(token.value) : undefined;
        const expanded = expand(formatPath(token.path), value, written, line.env);
        return token.inScript && expanded.state === "set"
            ? { ...expanded, note: joinNotes("a word of the shell script", expanded.note) }
            : expanded;
    });
}

/** The effective value of a boolean flag (pflag: the last occurrence wins), or undefined when absent. */
export function boolFlagValue(line: CommandLine, flag: string): FlagValue | undefined {
    const argv = line.tokens.map((t) => t.value);
    const hits = scanForBoolFlag(argv, flag);
    const last = hits[hits.length - 1];
    if (!last) {
        return undefined;
    }
    const token = line.tokens[last.index];
    if ("opaque" in last) {
        return { state: "unknown", path: formatPath(token.path) };
    }
    return { state: "set", path: formatPath(token.path), value: last.value, written: String(token.value) };
}

const POD_ADDRESS_FIELDS = new Set(["status.podIP", "status.hostIP"]);

/**
 * Applies the kubelet's `$(VAR)` expansion of command and args (`$$` escapes `$`; undefined
 * variables stay as written). A literal env value is substituted; a whole value that is
 * `$(VAR)` with VAR from status.podIP / status.hostIP is one specific address.
 */
function expand(path: string, value: string, written: string | undefined, env: ContainerEnv): FlagValue {
    if (!value.includes("$(")) {
        return { state: "set", path, value, written };
    }
    if ("unknownAt" in env) {
        return { state: "unknown", path: formatPath(env.unknownAt) };
    }
    const whole = /^\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)$/.exec(value);
    if (whole) {
        const definition = env.known.get(whole[1]);
        const valueFrom = definition?.entry.valueFrom;
        if (valueFrom === UNKNOWN) {
            return { state: "unknown", path: formatPath([...definition!.path, "valueFrom"]) };
        }
        const fieldPath =
            isObject(valueFrom) && isObject(valueFrom.fieldRef) ? valueFrom.fieldRef.fieldPath : undefined;
        if (fieldPath === UNKNOWN) {
            return { state: "unknown", path: formatPath([...definition!.path, "valueFrom", "fieldRef", "fieldPath"]) };
        }
        if (typeof fieldPath === "string" && POD_ADDRESS_FIELDS.has(fieldPath)) {
            return {
                state: "set",
                path,
                value,
                written,
                downwardApi: fieldPath,
                note: `${whole[1]} comes from the downward API field ${fieldPath}`,
            };
        }
    }
    const notes: string[] = [];
    let unknownAt: FieldPath | undefined;
    const expanded = value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
        if (name === undefined) {
            return "$";
        }
        const definition = env.known.get(name);
        const literal = definition?.entry.value;
        if (literal === UNKNOWN) {
            unknownAt = [...definition!.path, "value"];
            return match;
        }
        if (typeof literal === "string") {
            notes.push(`$(${name}) is env ${name} = ${JSON.stringify(literal)}`);
            return literal;
        }
        notes.push(`$(${name}) is not resolved by this policy (no literal env value)`);
        return match;
    });
    if (unknownAt) {
        return { state: "unknown", path: formatPath(unknownAt) };
    }
    return { state: "set", path, value: expanded, written: written ?? value, note: joinNotes(...notes) };
}

function joinNotes(...notes: (string | undefined)[]): string | undefined {
    return notes.filter((n) => n).join("; ") || undefined;
}
