/**
 * The thin Automation API layer of the fleet runner. The decisions (fleet file, arguments, error
 * lines, summary) are pure functions in the other files; this one only drives the Pulumi CLI:
 *
 *  1. one LocalWorkspace on the project directory;
 *  2. each stack created or selected and configured ONE AT A TIME (createOrSelect changes the
 *     workspace's current stack, and `pulumi config` writes Pulumi.<stack>.yaml);
 *  3. then, at most `concurrency` stacks at once: `preview` with the policy packs (`up` runs with
 *     --skip-preview, so this preview is the gate), and only when it succeeds, and not
 *     --preview-only, `up` with the same packs. Every operation names its stack (--stack), so
 *     they never depend on the current stack.
 *
 * Each stack's output goes to its own log file; a stack's failure is recorded in its result and
 * never stops the others.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { CONFIG_NAMESPACE } from "../config/stackConfig";
import { FleetStack } from "./fleetFile";
import { runBounded } from "./pool";
import { firstErrorLine, formatChanges, StackResult } from "./summary";

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
    /** One short line per step (the console); the stacks' output goes to their logs only. */
    progress?: (line: string) => void;
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

/** The value `pulumi config set-all --json` stores: structured values as YAML maps/lists in Pulumi.<stack>.yaml. */
function configJson(config: Record<string, unknown>): string {
    const json: Record<string, { value: string; objectValue?: unknown; secret: boolean }> = {};
    for (const [key, value] of Object.entries(config)) {
        json[`${CONFIG_NAMESPACE}:${key}`] =
            typeof value === "object" && value !== null
                ? { value: JSON.stringify(value), objectValue: value, secret: false }
                : { value: String(value), secret: false };
    }
    return JSON.stringify(json);
}

/**
 * Stores the kubeconfig as the stack's secret `eksa-metrics:kubeconfig`. Its content goes through
 * the CLI's standard input (`pulumi config set --secret` reads a missing value from it), not
 * through argv as `setAllConfig` would: a command line is readable by every local user.
 */
function setKubeconfig(
    ws: LocalWorkspace,
    stackName: string,
    kubeconfig: string,
    envVars: Record<string, string>,
): Promise<void> {
    return new Promise((resolve, reject) => {
        const child = spawn(
            ws.pulumiCommand.command,
            [
                "config",
                "set",
                "--secret",
                "--raw",
                "--stack",
                stackName,
                "--non-interactive",
                `${CONFIG_NAMESPACE}:kubeconfig`,
            ],
            {
                cwd: ws.workDir,
                env: {
                    ...process.env,
                    ...(ws.pulumiHome ? { PULUMI_HOME: ws.pulumiHome } : {}),
                    ...envVars,
                    PULUMI_AUTOMATION_API: "true",
                },
                stdio: ["pipe", "pipe", "pipe"],
            },
        );
        let output = "";
        child.stdout.on("data", (d) => (output += d));
        child.stderr.on("data", (d) => (output += d));
        child.on("error", reject);
        child.on("close", (code) =>
            code === 0
                ? resolve()
                : reject(
                      new Error(
                          `pulumi config set --secret ${CONFIG_NAMESPACE}:kubeconfig exited with ${code}: ${output.trim()}`,
                      ),
                  ),
        );
        child.stdin.end(kubeconfig);
    });
}

/**
 * Makes the stack's `eksa-metrics:*` config exactly the fleet file's: its keys set, the kubeconfig
 * as a secret, and keys the fleet file no longer lists removed (other namespaces are left alone).
 */
async function configure(
    ws: LocalWorkspace,
    entry: FleetStack,
    envVars: Record<string, string>,
    log: StackLog,
): Promise<void> {
    const prefix = `${CONFIG_NAMESPACE}:`;
    const wanted = new Set([`${prefix}kubeconfig`, ...Object.keys(entry.config).map((k) => `${prefix}${k}`)]);
    const stale = Object.keys(await ws.getAllConfig(entry.name)).filter((k) => k.startsWith(prefix) && !wanted.has(k));
    if (Object.keys(entry.config).length > 0) {
        await ws.setAllConfigJson(entry.name, configJson(entry.config));
    }
    await setKubeconfig(ws, entry.name, entry.kubeconfig, envVars);
    if (stale.length > 0) {
        await ws.removeAllConfig(entry.name, stale);
    }
    const keys = Object.keys(entry.config);
    log.line(
        `config: ${keys.length > 0 ? keys.join(", ") : "(no other keys)"}; kubeconfig (secret) from ${entry.kubeconfigPath}${stale.length > 0 ? `; removed keys no longer in the fleet file: ${stale.join(", ")}` : ""}`,
    );
}

/** preview (the gate), then up: a stack's whole run, as a result; never throws. */
async function deploy(stack: Stack, log: StackLog, opts: RunnerOptions, setupMs: number): Promise<StackResult> {
    const started = Date.now() - setupMs; // the stack's own time: setup and operations, not its wait in the queue
    const say = (text: string) => opts.progress?.(`${stack.name}: ${text}`);
    const result = (fields: Omit<StackResult, "stack" | "durationMs" | "logFile">): StackResult => ({
        stack: stack.name,
        durationMs: Date.now() - started,
        logFile: log.file,
        ...fields,
    });
    const streams = {
        color: "never" as const,
        suppressProgress: true,
        policyPacks: opts.policyPacks,
        onOutput: log.raw,
        onError: log.raw,
    };

    log.line(`preview started (policy packs: ${opts.policyPacks.join(", ") || "none"})`);
    say("preview started");
    let changes: Record<string, number> | undefined;
    try {
        const preview = await stack.preview(streams);
        changes = preview.changeSummary as Record<string, number>;
    } catch (err) {
        const error = firstErrorLine(errorText(err));
        log.line(`preview failed: ${error}`);
        say(`preview failed: ${error}`);
        return result({ preview: "failed", up: "skipped", error });
    }
    log.line(`preview succeeded: ${formatChanges(changes)}`);
    say(`preview ok (${formatChanges(changes)})`);
    if (opts.previewOnly) {
        return result({ preview: "ok", up: "preview only", changes });
    }
    if (opts.signal?.aborted) {
        log.line("up skipped: the run was cancelled");
        return result({ preview: "ok", up: "skipped", changes, error: "cancelled before up" });
    }

    log.line("up started");
    say("up started");
    try {
        const up = await stack.up(streams);
        log.line(`up succeeded: ${up.summary.result}`);
        say("up ok");
        return result({ preview: "ok", up: "ok", changes });
    } catch (err) {
        const error = firstErrorLine(errorText(err));
        log.line(`up failed: ${error}`);
        say(`up failed: ${error}`);
        return result({ preview: "ok", up: "failed", changes, error });
    }
}

/** Runs the stacks (in the given order); one result per stack, in that order. */
export async function runFleet(stacks: FleetStack[], opts: RunnerOptions): Promise<StackResult[]> {
    fs.mkdirSync(opts.logDir, { recursive: true, mode: 0o700 });
    const envVars = opts.envVars ?? {};
    const ws = await LocalWorkspace.create({ workDir: opts.projectDir, envVars });
    const previouslySelected = await ws.stack();

    const logs = new Map(stacks.map((s) => [s.name, new StackLog(path.join(opts.logDir, `${s.name}.log`))]));
    const results = new Map<string, StackResult>();
    const ready: { stack: Stack; setupMs: number }[] = [];
    try {
        // One at a time: createOrSelect changes the workspace's current stack.
        for (const entry of stacks) {
            const log = logs.get(entry.name)!;
            const started = Date.now();
            if (opts.signal?.aborted) {
                results.set(entry.name, {
                    stack: entry.name,
                    preview: "not run",
                    up: "skipped",
                    durationMs: 0,
                    error: "cancelled before it started",
                    logFile: log.file,
                });
                continue;
            }
            try {
                log.line(`stack ${entry.name}: create or select (project ${opts.projectDir})`);
                const stack = await Stack.createOrSelect(entry.name, ws);
                await configure(ws, entry, envVars, log);
                ready.push({ stack, setupMs: Date.now() - started });
            } catch (err) {
                const error = firstErrorLine(errorText(err));
                log.line(`setup failed: ${errorText(err)}`);
                opts.progress?.(`${entry.name}: setup failed: ${error}`);
                results.set(entry.name, {
                    stack: entry.name,
                    preview: "not run",
                    up: "skipped",
                    durationMs: Date.now() - started,
                    error: `setup: ${error}`,
                    logFile: log.file,
                });
            }
        }
        if (previouslySelected !== undefined && stacks.length > 0) {
            // Leave the user's current stack as it was (the operations below name their stack).
            await ws.selectStack(previouslySelected.name).catch(() => undefined);
        }

        const done = await runBounded(
            ready,
            opts.concurrency,
            ({ stack, setupMs }) => deploy(stack, logs.get(stack.name)!, opts, setupMs),
            ({ stack, setupMs }): StackResult => {
                logs.get(stack.name)!.line("not started: the run was cancelled");
                return {
                    stack: stack.name,
                    preview: "not run",
                    up: "skipped",
                    durationMs: setupMs,
                    error: "cancelled before it started",
                    logFile: logs.get(stack.name)!.file,
                };
            },
            opts.signal,
        );
        for (const r of done) {
            results.set(r.stack, r);
        }
    } finally {
        for (const log of logs.values()) {
            log.close();
        }
    }
    return stacks.map((s) => results.get(s.name)!);
}
