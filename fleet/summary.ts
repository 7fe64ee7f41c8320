/**
 * What each stack's run came to, the one error line worth reading in the summary, the summary
 * table and the JSON summary. Pure.
 */
import { GoneStack, SkippedCluster } from "./discovery";

export type PreviewStatus = "ok" | "failed" | "not run";
export type UpStatus = "ok" | "failed" | "skipped" | "preview only";

export interface StackResult {
    stack: string;
    /** deploy: preview then up; destroy: a gone stack pruned (preview of the destroy, then the destroy). */
    kind: "deploy" | "destroy";
    /** A discovered stack's Cluster, `<namespace>/<name>`. */
    cluster?: string;
    preview: PreviewStatus;
    up: UpStatus;
    /** The preview's planned operations (`changeSummary`: create, update, delete, replace, same...). */
    changes?: Record<string, number>;
    durationMs: number;
    /** The first error line, when the stack failed. */
    error?: string;
    logFile: string;
    /** The verification's verdict (the last line of the verificationReport output), after an up. */
    verification?: string;
    /** Days until the serving certificate is renewed, where the stack's outputs say it (see renewalDays). */
    renewalDays?: number;
}

/** A stack's steps, as the overview shows them. */
export type StackPhase = "queued" | "setup" | "preview" | "up" | "destroy" | "done";

export interface StackEvent {
    stack: string;
    phase: StackPhase;
    kind?: "deploy" | "destroy";
    /** The preview's planned changes, from "up" on. */
    changes?: Record<string, number>;
    /** With "done". */
    result?: StackResult;
}

/** The verification's verdict in its report: "verified: N checks passed" or "verification failed: ...". */
export function verificationVerdict(report: string): string | undefined {
    return report
        .split("\n")
        .reverse()
        .find((l) => /^(verified|verification failed):/.test(l.trim()))
        ?.trim();
}

/**
 * Days until the stack's serving certificate is renewed, from its `tlsRenewal` output (the first `up` from
 * `nextRenewal.at` renews it; components/tlsSchedule.ts), counted from `now`: 0 or less once it is due.
 * Undefined when the stack does not say (a stack of an earlier version).
 */
export function renewalDays(outputs: Record<string, unknown>, now = Date.now()): number | undefined {
    const renewal = outputs.tlsRenewal as { nextRenewal?: { at?: unknown } } | undefined;
    const at = typeof renewal?.nextRenewal?.at === "string" ? Date.parse(renewal.nextRenewal.at) : NaN;
    return Number.isNaN(at) ? undefined : Math.floor((at - now) / 86_400_000);
}

/** A stack's state in a word: what the overview's line and the JSON summary's status say. */
export function statusWord(r: StackResult): string {
    if (r.kind === "destroy") {
        return r.up === "ok" ? "destroyed" : r.up === "preview only" ? "destroy previewed" : "failed";
    }
    if (!succeeded(r)) {
        return r.error === "cancelled before it started" ? "cancelled" : "failed";
    }
    if (r.up === "preview only") {
        return "previewed";
    }
    return r.verification?.startsWith("verified") ? "verified" : "up";
}

export function succeeded(r: StackResult): boolean {
    return r.preview === "ok" && (r.up === "ok" || r.up === "preview only");
}

/**
 * 0 when every stack succeeded, 1 otherwise (2 is for a bad command line or fleet file, before any
 * stack). No stack at all is a failure, unless discovery found clusters and skipped them all
 * (skipped clusters and gone stacks are reported, not failures).
 */
export function exitCode(results: StackResult[], findings?: FleetFindings): number {
    if (results.length === 0) {
        return findings !== undefined && findings.skipped.length + findings.gone.length > 0 ? 0 : 1;
    }
    return results.every(succeeded) ? 0 : 1;
}

const CHANGE_SIGNS: [string, string][] = [
    ["create", "+"],
    ["update", "~"],
    ["replace", "+-"],
    ["delete", "-"],
];

/** "+2 ~1" for a preview's change summary, "no changes" when nothing would change. */
export function formatChanges(changes: Record<string, number> | undefined): string {
    const parts = CHANGE_SIGNS.filter(([op]) => (changes?.[op] ?? 0) > 0).map(([op, sign]) => `${sign}${changes![op]}`);
    return parts.length > 0 ? parts.join(" ") : "no changes";
}

const GENERIC = /^error: (preview failed|update failed|an unhandled error occurred:?)$/i;

/**
 * The line that says why a pulumi command failed, from its output (or an error's message):
 * a mandatory policy violation (policy, resource and message), else the first specific `error:`
 * line (with its first item when it introduces a list), else the first non-empty line.
 */
export function firstErrorLine(output: string): string {
    const lines = output.split(/\r?\n/);
    for (const [i, line] of lines.entries()) {
        const violation = /^\s*- \[mandatory\]\s+(?:\[severity: \w+\]\s+)?(\S+)\s+\((.*)\)\s*$/.exec(line);
        if (violation) {
            // The header is followed by the policy's description and then the violation's message,
            // indented deeper: the message is the block's last line.
            const indent = line.search(/\S/) + 2;
            let message = "";
            for (let j = i + 1; j < lines.length; j++) {
                const next = lines[j];
                if (next.trim() === "" || next.search(/\S/) < indent) {
                    break;
                }
                message = next.trim();
            }
            return `policy ${violation[1]} (${violation[2]})${message ? `: ${message}` : ""}`;
        }
    }
    for (const [i, line] of lines.entries()) {
        const trimmed = line.trim();
        if (/^error: /.test(trimmed) && !GENERIC.test(trimmed)) {
            const next = lines[i + 1]?.trim() ?? "";
            const text = trimmed.slice("error: ".length);
            if (!text.endsWith(":") || !/^[-*] /.test(next)) {
                return text;
            }
            // "1 error occurred:" (the provider's wrapper) says nothing: its first item does.
            return /^\d+ errors? occurred:$/.test(text) ? next.slice(2) : `${text} ${next.slice(2)}`;
        }
    }
    for (const line of lines) {
        const trimmed = line.trim();
        if (/^error: /.test(trimmed)) {
            return trimmed.slice("error: ".length);
        }
    }
    return lines.map((l) => l.trim()).find((l) => l !== "") ?? "failed (no output)";
}

function formatDuration(ms: number): string {
    const s = ms / 1000;
    return s < 60 ? `${s.toFixed(1)}s` : `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
}

/** What a run found besides its stacks: discovered clusters skipped, and gone stacks it only reports. */
export interface FleetFindings {
    skipped: SkippedCluster[];
    /** Gone stacks not pruned in this run (without --prune). */
    gone: GoneStack[];
}

function upCell(r: StackResult): string {
    if (r.kind === "destroy") {
        return r.up === "ok" ? "destroyed" : r.up === "failed" ? "destroy failed" : r.up;
    }
    return r.up;
}

/**
 * The summary table (stack, preview, up, duration, then verification and renewal when a stack
 * reports them, error), what was skipped or is gone, and a closing line.
 */
export function renderSummary(
    results: StackResult[],
    logDir: string,
    findings: FleetFindings = { skipped: [], gone: [] },
): string {
    const verification = results.some((r) => r.verification !== undefined);
    const renewal = results.some((r) => r.renewalDays !== undefined);
    const header = [
        "stack",
        "preview",
        "up",
        "duration",
        ...(verification ? ["verification"] : []),
        ...(renewal ? ["renewal"] : []),
        "error",
    ];
    const rows = results.map((r) => [
        r.stack,
        r.preview === "ok" ? `ok (${formatChanges(r.changes)})` : r.preview,
        upCell(r),
        formatDuration(r.durationMs),
        ...(verification ? [r.verification ?? ""] : []),
        ...(renewal ? [r.renewalDays === undefined ? "" : `in ${r.renewalDays} d`] : []),
        r.error ?? "",
    ]);
    const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
    const line = (cells: string[]) =>
        cells
            .map((cell, c) => (c === 3 ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
            .join("  ")
            .trimEnd();
    const ok = results.filter(succeeded).length;
    const out = [line(header), ...rows.map(line)];
    if (findings.skipped.length > 0) {
        out.push("", "skipped (discovered, no stack run):");
        out.push(...findings.skipped.map((s) => `  ${s.cluster} (stack ${s.stack}): ${s.reason}`));
    }
    if (findings.gone.length > 0) {
        out.push("", "gone (run with --prune to destroy them, after a preview):");
        out.push(...findings.gone.map((g) => `  ${g.stack}: ${g.reason}`));
    }
    out.push(
        "",
        `${ok} of ${results.length} stacks succeeded${ok === results.length ? "" : `, ${results.length - ok} failed`}. Logs: ${logDir}/<stack>.log`,
    );
    return out.join("\n");
}

/** The run as --json writes it: per stack its status, changes, error line, verification and certificate renewal. */
export function jsonSummary(
    results: StackResult[],
    findings: FleetFindings,
    run: { fleetFile: string; startedAt: Date; finishedAt: Date; previewOnly: boolean; prune: boolean; logDir: string },
): object {
    return {
        fleetFile: run.fleetFile,
        startedAt: run.startedAt.toISOString(),
        finishedAt: run.finishedAt.toISOString(),
        previewOnly: run.previewOnly,
        prune: run.prune,
        logDir: run.logDir,
        exitCode: exitCode(results, findings),
        stacks: results.map((r) => ({
            stack: r.stack,
            cluster: r.cluster ?? null,
            kind: r.kind,
            status: statusWord(r),
            preview: r.preview,
            up: r.up,
            changes: r.changes ?? null,
            durationSeconds: Math.round(r.durationMs / 100) / 10,
            error: r.error ?? null,
            verification:
                r.verification === undefined
                    ? null
                    : { ok: r.verification.startsWith("verified"), verdict: r.verification },
            certificateRenewalDays: r.renewalDays ?? null,
            logFile: r.logFile,
        })),
        skipped: findings.skipped.map(({ cluster, stack, reason }) => ({ cluster, stack, reason })),
        gone: findings.gone.map(({ stack, cluster, reason }) => ({ stack, cluster, reason })),
        notes: [
            "verification is null when no up ran or the stack exports no verificationReport (verify.enabled false)",
            "certificateRenewalDays is null when the stack exports no tlsRenewal output (an earlier version)",
        ],
    };
}
