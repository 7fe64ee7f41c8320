/**
 * The thin CLI layer of the fleet runner. The decisions (fleet file, arguments, error lines,
 * summary) are pure functions in the other files; this one only drives the Pulumi CLI:
 *
 *  1. one LocalWorkspace on the project directory, and one list of its stacks;
 *  2. at most `concurrency` stacks at once, each: created when the project has no such stack (ONE
 *     AT A TIME: `stack init` changes the workspace's current stack), configured (`pulumi config
 *     --stack` writes its own Pulumi.<stack>.yaml; keys already as the fleet file says are not set
 *     again), then ONE `pulumi up --yes` with the policy packs, as a user runs it: the CLI previews
 *     with the packs first and changes nothing when that preview fails (a mandatory violation, an
 *     error), so its preview is the gate; then it updates. With --preview-only, `pulumi preview`
 *     with the packs. The runner reads the preview's and the update's results and the stack's
 *     outputs from the CLI's engine events (engineEvents.ts), not from more CLI calls. Every
 *     operation names its stack (--stack), so none depends on the current stack;
 *  3. with --prune, each gone stack: a preview of its destroy, the destroy, the stack removed.
 *
 * Each stack's output goes to its own log file; a stack's failure is recorded in its result and
 * never stops the others; its steps (setup, preview, up) are events for the overview.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { EngineEvent, foldEngineEvents, listenForEngineEvents } from "./engineEvents";
import { CONFIG_NAMESPACE } from "../config/stackConfig";
import { CLUSTER_KEY, FLEET_CONFIG_NAMESPACE, GoneStack, MANAGEMENT_KEY } from "./discovery";
import { FleetStack } from "./fleetFile";
import { runBounded } from "./pool";
import {
    firstErrorLine,
    formatChanges,
    renewalDays,
    StackEvent,
    StackPhase,
    StackResult,
    verificationVerdict,
} from "./summary";

export interface RunnerOptions {
    /** The Pulumi project directory (the repository root; tests pass a program of their own). */
    projectDir: string;
    /** Absolute policy pack directories: both preview and up run with them. */
    policyPacks: string[];
    concurrency: number;
    previewOnly: boolean;
    /** Where `<stack>.log` files are written (created if missing). */
    logDir: string;
    /** Extra environment for every pulumi command (backend, passphrase, PULUMI_HOME...). */
    envVars?: Record<string, string>;
    /** Once aborted, no further stack is set up or started and no further up runs. */
    signal?: AbortSignal;
    /** Each stack's steps as they happen (the overview); the stacks' output goes to their logs only. */
    onEvent?: (event: StackEvent) => void;
    /** Gone stacks to destroy (--prune), after the others. */
    prune?: GoneStack[];
}

/** A stack's log file: timestamped `[fleet]` lines of the runner, and the pulumi output as it comes. */
export class StackLog {
    private readonly fd: number;
    constructor(readonly file: string) {
        this.fd = fs.openSync(file, "a", 0o600);
    }
    line(text: string): void {
        fs.writeSync(this.fd, `${new Date().toISOString()} [fleet] ${text}\n`);
    }
    raw = (chunk: string): void => {
        fs.writeSync(this.fd, chunk);
    };
    close(): void {
        fs.closeSync(this.fd);
    }
}

/**
 * Problems that would fail every stack, found before any is touched: a policy pack whose
 * node_modules cannot provide the SDK's policy runner (the language host resolves
 * `@pulumi/pulumi/cmd/run-policy-pack` from the pack's directory).
 */
export function preflight(policyPacks: string[]): string[] {
    const problems: string[] = [];
    for (const pack of policyPacks) {
        try {
            require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [pack] });
        } catch {
            problems.push(
                `policy pack ${pack}: @pulumi/pulumi is not installed there. Install its node_modules (bash dev/toolchain/setup.sh, or npm ci in ${pack})`,
            );
        }
    }
    return problems;
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * The value `pulumi config set-all --json` stores (keys with their namespace): structured values as
 * YAML maps/lists in Pulumi.<stack>.yaml.
 */
function configJson(config: Record<string, unknown>): string {
    const json: Record<string, { value: string; objectValue?: unknown; secret: boolean }> = {};
    for (const [key, value] of Object.entries(config)) {
        json[key] =
            typeof value === "object" && value !== null
                ? { value: JSON.stringify(value), objectValue: value, secret: false }
                : { value: String(value), secret: false };
    }
    return JSON.stringify(json);
}

/** The environment of the runner's own pulumi commands, as the Automation API gives its own. */
function cliEnv(ws: LocalWorkspace, envVars: Record<string, string>): NodeJS.ProcessEnv {
    return {
        ...process.env,
        ...(ws.pulumiHome ? { PULUMI_HOME: ws.pulumiHome } : {}),
        ...envVars,
        PULUMI_AUTOMATION_API: "true",
    };
}

/**
 * Runs `pulumi ARGS` in the project, `input` on its standard input, its output to `onOutput` as it
 * comes; resolves with its exit code and output. In a process group of its own, so a Ctrl-C on the
 * runner's terminal reaches it only through `signal`: once that aborts, it gets one SIGINT (the CLI
 * then cancels its operation and leaves the stack consistent; a second would kill it at once).
 */
function runCli(
    ws: LocalWorkspace,
    args: string[],
    opts: {
        env: NodeJS.ProcessEnv;
        input?: string;
        onOutput?: (chunk: string) => void;
        signal?: AbortSignal;
    },
): Promise<{ code: number; output: string }> {
    return new Promise((resolve, reject) => {
        const child = spawn(ws.pulumiCommand.command, args, {
            cwd: ws.workDir,
            env: opts.env,
            stdio: ["pipe", "pipe", "pipe"],
            detached: true,
        });
        let output = "";
        const collect = (chunk: Buffer) => {
            const text = chunk.toString();
            output += text;
            opts.onOutput?.(text);
        };
        child.stdout.on("data", collect);
        child.stderr.on("data", collect);
        const cancel = () => child.kill("SIGINT");
        if (opts.signal?.aborted) {
            cancel();
        }
        opts.signal?.addEventListener("abort", cancel, { once: true });
        child.on("error", (err) => {
            opts.signal?.removeEventListener("abort", cancel);
            reject(err);
        });
        child.on("close", (code, signal) => {
            opts.signal?.removeEventListener("abort", cancel);
            resolve({ code: code ?? (signal ? 128 : 1), output });
        });
        child.stdin.end(opts.input ?? "");
    });
}

/**
 * Stores the kubeconfig as the stack's secret `eksa-metrics:kubeconfig`. Its content goes through
 * the CLI's standard input (`pulumi config set --secret` reads a missing value from it), not
 * through argv as `setAllConfig` would: a command line is readable by every local user.
 */
async function setKubeconfig(
    ws: LocalWorkspace,
    stackName: string,
    kubeconfig: string,
    envVars: Record<string, string>,
): Promise<void> {
    const key = `${CONFIG_NAMESPACE}:kubeconfig`;
    const { code, output } = await runCli(
        ws,
        ["config", "set", "--secret", "--raw", "--stack", stackName, "--non-interactive", key],
        { env: cliEnv(ws, envVars), input: kubeconfig },
    );
    if (code !== 0) {
        throw new Error(`pulumi config set --secret ${key} exited with ${code}: ${output.trim()}`);
    }
}

/** JSON with object keys sorted: two values that are equal as config compare equal as text. */
function canonical(value: unknown): string {
    return JSON.stringify(value, (_key, v: unknown) =>
        typeof v === "object" && v !== null && !Array.isArray(v)
            ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
            : v,
    );
}

/**
 * The wanted config values the stack file does not already hold (as `config set-all --json` would
 * store them: scalars as strings, structured values as YAML maps/lists), so a run whose fleet file
 * did not change sets none. `stored`: the stack file's config as read from its YAML.
 */
export function configToSet(stored: Record<string, unknown>, wanted: Record<string, unknown>): Record<string, unknown> {
    return Object.fromEntries(
        Object.entries(wanted).filter(([key, value]) => {
            const current = stored[key];
            if (current === undefined) {
                return true;
            }
            return typeof value === "object" && value !== null
                ? canonical(current) !== canonical(value)
                : typeof current === "object" || String(current) !== String(value);
        }),
    );
}

/** One at a time: creating a stack (`stack init`) changes the workspace's current stack. */
class Mutex {
    private tail: Promise<void> = Promise.resolve();
    /** Whether any task ran (so the current stack may have changed). */
    used = false;
    run<T>(task: () => Promise<T>): Promise<T> {
        this.used = true;
        const result = this.tail.then(task);
        this.tail = result.then(
            () => undefined,
            () => undefined,
        );
        return result;
    }
}

/**
 * Makes the stack's `eksa-metrics:*` config exactly the fleet file's: its keys set, the kubeconfig
 * as a secret, and keys the fleet file no longer lists removed (other namespaces are left alone).
 * A discovered stack also gets its marks (eksa-metrics-fleet:*: its Cluster, its management
 * cluster), by which a later run knows the stack is gone when its Cluster is.
 */
async function configure(
    ws: LocalWorkspace,
    entry: FleetStack,
    envVars: Record<string, string>,
    log: StackLog,
): Promise<void> {
    const prefixes = [`${CONFIG_NAMESPACE}:`, `${FLEET_CONFIG_NAMESPACE}:`];
    const marks: Record<string, unknown> = entry.discovered
        ? { [CLUSTER_KEY]: entry.discovered.cluster, [MANAGEMENT_KEY]: entry.discovered.management }
        : {};
    const values = {
        ...Object.fromEntries(Object.entries(entry.config).map(([k, v]) => [`${CONFIG_NAMESPACE}:${k}`, v])),
        ...marks,
    };
    const wanted = new Set([`${CONFIG_NAMESPACE}:kubeconfig`, ...Object.keys(values)]);
    // The stack's file, read in process: no CLI call, and no secret decrypted.
    const stored = (await ws.stackSettings(entry.name).catch(() => undefined))?.config ?? {};
    const stale = Object.keys(stored).filter((k) => prefixes.some((p) => k.startsWith(p)) && !wanted.has(k));
    const changed = configToSet(stored, values);
    if (Object.keys(changed).length > 0) {
        await ws.setAllConfigJson(entry.name, configJson(changed));
    }
    await setKubeconfig(ws, entry.name, entry.kubeconfig, envVars);
    if (stale.length > 0) {
        await ws.removeAllConfig(entry.name, stale);
    }
    const keys = Object.keys(entry.config);
    log.line(
        `config: ${keys.length > 0 ? keys.join(", ") : "(no other keys)"}; kubeconfig (secret) from ${entry.kubeconfigSource}${entry.discovered ? `; discovered: Cluster ${entry.discovered.cluster}` : ""}${stale.length > 0 ? `; removed keys no longer in the fleet file: ${stale.join(", ")}` : ""}`,
    );
}

/** What a stack reports of itself in its outputs: the verification's verdict and, where it has one, the certificate renewal. */
function readOutputs(outputs: Record<string, unknown>): Pick<StackResult, "verification" | "renewalDays"> {
    const report = outputs.verificationReport;
    return {
        verification: typeof report === "string" ? verificationVerdict(report) : undefined,
        renewalDays: renewalDays(outputs),
    };
}

/** The part of a `pulumi up`'s output that its update wrote (from its "Updating (stack):" header on). */
function updateOutput(output: string): string {
    const start = output.search(/^Updating \(/m);
    return start < 0 ? output : output.slice(start);
}

interface Task {
    entry?: FleetStack;
    gone?: GoneStack;
    name: string;
}

/** A stack's whole run (setup, then one `pulumi up` whose preview is the gate), as a result; never throws. */
async function deploy(
    ws: LocalWorkspace,
    entry: FleetStack,
    log: StackLog,
    opts: RunnerOptions,
    create: Mutex,
    existing: Set<string>,
): Promise<StackResult> {
    const started = Date.now();
    const event = (phase: StackPhase, fields: Partial<StackEvent> = {}) =>
        opts.onEvent?.({ stack: entry.name, phase, ...fields });
    const result = (fields: Omit<StackResult, "stack" | "durationMs" | "logFile" | "kind">): StackResult => {
        const r: StackResult = {
            stack: entry.name,
            kind: "deploy",
            durationMs: Date.now() - started,
            logFile: log.file,
            ...(entry.discovered ? { cluster: entry.discovered.cluster } : {}),
            ...fields,
        };
        event("done", { result: r });
        return r;
    };

    event("setup");
    try {
        if (existing.has(entry.name)) {
            log.line(`stack ${entry.name} (project ${opts.projectDir})`);
        } else {
            log.line(`stack ${entry.name}: created (project ${opts.projectDir})`);
            await create.run(() => ws.createStack(entry.name));
        }
        await configure(ws, entry, opts.envVars ?? {}, log);
    } catch (err) {
        const error = firstErrorLine(errorText(err));
        log.line(`setup failed: ${errorText(err)}`);
        return result({ preview: "not run", up: "skipped", error: `setup: ${error}` });
    }
    if (opts.signal?.aborted) {
        log.line("preview skipped: the run was cancelled");
        return result({ preview: "not run", up: "skipped", error: "cancelled before up" });
    }

    const packs = opts.policyPacks.flatMap((pack) => ["--policy-pack", pack]);
    const common = ["--non-interactive", "--color", "never", "--suppress-progress", ...packs, "--stack", entry.name];
    let upStarted = false;
    const events = await listenForEngineEvents((e: EngineEvent) => {
        // The preview's summary arrives before the update starts: the overview's "up" phase begins here.
        const summary = e.summaryEvent;
        if (summary?.isPreview && summary.result === "succeeded" && !opts.previewOnly) {
            upStarted = true;
            log.line(`preview succeeded: ${formatChanges(summary.resourceChanges)}`);
            log.line("up started");
            event("up", { changes: summary.resourceChanges });
        }
    });
    log.line(`preview started (policy packs: ${opts.policyPacks.join(", ") || "none"})`);
    event("preview");
    let run: { code: number; output: string };
    try {
        run = await runCli(
            ws,
            [...(opts.previewOnly ? ["preview"] : ["up", "--yes"]), ...common, "--event-log", events.address],
            {
                // --event-log is taken only with PULUMI_DEBUG_COMMANDS (the Automation API sets it likewise).
                env: { ...cliEnv(ws, opts.envVars ?? {}), PULUMI_DEBUG_COMMANDS: "true" },
                onOutput: log.raw,
                signal: opts.signal,
            },
        );
    } catch (err) {
        events.close();
        const error = firstErrorLine(errorText(err));
        log.line(`preview failed: ${error}`);
        return result({ preview: "failed", up: "skipped", error });
    }
    const outcome = foldEngineEvents(events.close());
    const changes = outcome.preview?.changes;
    if (!outcome.preview?.ok || (opts.previewOnly && run.code !== 0)) {
        const error =
            opts.signal?.aborted && !outcome.preview ? "cancelled during the preview" : firstErrorLine(run.output);
        log.line(`preview failed: ${error}`);
        return result({ preview: "failed", up: "skipped", error });
    }
    if (opts.previewOnly) {
        log.line(`preview succeeded: ${formatChanges(changes)}`);
        return result({ preview: "ok", up: "preview only", changes });
    }
    if (!upStarted || !outcome.update) {
        // The preview succeeded, but the CLI stopped before its update (cancelled, or killed).
        const error = opts.signal?.aborted ? "cancelled before up" : firstErrorLine(updateOutput(run.output));
        log.line(`up skipped: ${error}`);
        return result({ preview: "ok", up: "skipped", changes, error });
    }
    if (!outcome.update.ok || run.code !== 0) {
        const error = firstErrorLine(updateOutput(run.output));
        log.line(`up failed: ${error}`);
        return result({ preview: "ok", up: "failed", changes, error });
    }
    log.line(`up succeeded: ${outcome.update.result}`);
    return result({ preview: "ok", up: "ok", changes, ...readOutputs(outcome.outputs ?? {}) });
}

/**
 * A gone stack, with --prune: a preview of its destroy, then the destroy, then the stack removed.
 * `ws`: for a stack whose Cluster object is gone, a workspace whose commands let the kubernetes
 * provider drop from the state what it cannot reach (its API server may be gone too).
 */
async function prune(
    ws: LocalWorkspace,
    gone: GoneStack,
    log: StackLog,
    opts: RunnerOptions,
    select: Mutex,
): Promise<StackResult> {
    const started = Date.now();
    const event = (phase: StackPhase) => opts.onEvent?.({ stack: gone.stack, phase });
    const result = (
        fields: Omit<StackResult, "stack" | "durationMs" | "logFile" | "kind" | "cluster">,
    ): StackResult => {
        const r: StackResult = {
            stack: gone.stack,
            kind: "destroy",
            cluster: gone.cluster,
            durationMs: Date.now() - started,
            logFile: log.file,
            ...fields,
        };
        opts.onEvent?.({ stack: gone.stack, phase: "done", result: r });
        return r;
    };
    const streams = {
        color: "never" as const,
        suppressProgress: true,
        onOutput: log.raw,
        onError: log.raw,
    };
    log.line(`gone: ${gone.reason}; pruning`);
    event("setup");
    let stack: Stack;
    try {
        stack = await select.run(() => Stack.select(gone.stack, ws));
    } catch (err) {
        return result({ preview: "not run", up: "skipped", error: `setup: ${firstErrorLine(errorText(err))}` });
    }
    log.line("destroy preview started");
    event("preview");
    let changes: Record<string, number> | undefined;
    try {
        changes = (await stack.previewDestroy(streams)).changeSummary as Record<string, number>;
    } catch (err) {
        const error = firstErrorLine(errorText(err));
        log.line(`destroy preview failed: ${error}`);
        return result({ preview: "failed", up: "skipped", error });
    }
    log.line(`destroy preview succeeded: ${formatChanges(changes)}`);
    if (opts.previewOnly || opts.signal?.aborted) {
        return result({ preview: "ok", up: opts.previewOnly ? "preview only" : "skipped", changes });
    }
    log.line("destroy started");
    event("destroy");
    try {
        await stack.destroy(streams);
        await ws.removeStack(gone.stack);
        log.line("destroy succeeded; stack removed");
        return result({ preview: "ok", up: "ok", changes });
    } catch (err) {
        const error = firstErrorLine(errorText(err));
        log.line(`destroy failed: ${error}`);
        return result({ preview: "ok", up: "failed", changes, error });
    }
}

/**
 * The stacks of the project that carry a discovery's marks (eksa-metrics-fleet:cluster and
 * :managementCluster), read from their stack files in process.
 */
export async function markedStacks(
    projectDir: string,
    envVars: Record<string, string> = {},
): Promise<{ stack: string; cluster: string; management: string }[]> {
    const ws = await LocalWorkspace.create({ workDir: projectDir, envVars });
    const marked = [];
    for (const summary of await ws.listStacks()) {
        const name = summary.name.split("/").pop()!;
        const config = (await ws.stackSettings(name).catch(() => undefined))?.config ?? {};
        const value = (key: string) => {
            const v = config[key] as unknown;
            return typeof v === "string" ? v : (v as { value?: unknown } | undefined)?.value;
        };
        const cluster = value(CLUSTER_KEY);
        const management = value(MANAGEMENT_KEY);
        if (typeof cluster === "string" && typeof management === "string") {
            marked.push({ stack: name, cluster, management });
        }
    }
    return marked;
}

/**
 * Runs the stacks (in the given order), then prunes the gone stacks given; one result per stack,
 * in that order. At most `concurrency` at once; only the creation or selection of a stack is serialized.
 */
export async function runFleet(stacks: FleetStack[], opts: RunnerOptions): Promise<StackResult[]> {
    fs.mkdirSync(opts.logDir, { recursive: true, mode: 0o700 });
    const ws = await LocalWorkspace.create({ workDir: opts.projectDir, envVars: opts.envVars ?? {} });
    // One `stack ls` for the run: the current stack (restored at the end) and the stacks that exist,
    // which are neither created nor selected again.
    const listed = stacks.length + (opts.prune ?? []).length > 0 ? await ws.listStacks() : [];
    const previouslySelected = listed.find((summary) => summary.current);
    const existing = new Set(listed.map((summary) => summary.name.split("/").pop()!));
    const tasks: Task[] = [
        ...stacks.map((entry) => ({ entry, name: entry.name })),
        ...(opts.prune ?? []).map((gone) => ({ gone, name: gone.stack })),
    ];
    for (const t of tasks) {
        opts.onEvent?.({ stack: t.name, phase: "queued", kind: t.gone ? "destroy" : "deploy" });
    }
    const logs = new Map(tasks.map((t) => [t.name, new StackLog(path.join(opts.logDir, `${t.name}.log`))]));
    const select = new Mutex();
    // PULUMI_K8S_DELETE_UNREACHABLE: the kubernetes provider's own switch, for this workspace's commands only.
    const unreachableWs = (opts.prune ?? []).some((g) => g.clusterDeleted)
        ? await LocalWorkspace.create({
              workDir: opts.projectDir,
              envVars: { ...opts.envVars, PULUMI_K8S_DELETE_UNREACHABLE: "true" },
          })
        : ws;
    try {
        return await runBounded(
            tasks,
            opts.concurrency,
            (t) =>
                t.entry
                    ? deploy(ws, t.entry, logs.get(t.name)!, opts, select, existing)
                    : prune(t.gone!.clusterDeleted ? unreachableWs : ws, t.gone!, logs.get(t.name)!, opts, select),
            (t): StackResult => {
                logs.get(t.name)!.line("not started: the run was cancelled");
                const r: StackResult = {
                    stack: t.name,
                    kind: t.gone ? "destroy" : "deploy",
                    preview: "not run",
                    up: "skipped",
                    durationMs: 0,
                    error: "cancelled before it started",
                    logFile: logs.get(t.name)!.file,
                };
                opts.onEvent?.({ stack: t.name, phase: "done", result: r });
                return r;
            },
            opts.signal,
        );
    } finally {
        if (previouslySelected !== undefined && select.used) {
            // Leave the user's current stack as it was (the operations name their stack).
            await ws.selectStack(previouslySelected.name).catch(() => undefined);
        }
        for (const log of logs.values()) {
            log.close();
        }
    }
}
