/**
 * What each stack's run came to, the one error line worth reading in the summary, and the summary
 * table. Pure.
 */

export type PreviewStatus = "ok" | "failed" | "not run";
export type UpStatus = "ok" | "failed" | "skipped" | "preview only";

export interface StackResult {
    stack: string;
    preview: PreviewStatus;
    up: UpStatus;
    /** The preview's planned operations (`changeSummary`: create, update, delete, replace, same...). */
    changes?: Record<string, number>;
    durationMs: number;
    /** The first error line, when the stack failed. */
    error?: string;
    logFile: string;
}

export function succeeded(r: StackResult): boolean {
    return r.preview === "ok" && (r.up === "ok" || r.up === "preview only");
}

/** 0 when every stack succeeded, 1 otherwise (2 is for a bad command line or fleet file, before any stack). */
export function exitCode(results: StackResult[]): number {
    return results.length > 0 && results.every(succeeded) ? 0 : 1;
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

/** The summary table (stack, preview, up, duration, error) and a closing line. */
export function renderSummary(results: StackResult[], logDir: string): string {
    const header = ["stack", "preview", "up", "duration", "error"];
    const rows = results.map((r) => [
        r.stack,
        r.preview === "ok" ? `ok (${formatChanges(r.changes)})` : r.preview,
        r.up,
        formatDuration(r.durationMs),
        r.error ?? "",
    ]);
    const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
    const line = (cells: string[]) =>
        cells
            .map((cell, c) => (c === 3 ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
            .join("  ")
            .trimEnd();
    const ok = results.filter(succeeded).length;
    return [
        line(header),
        ...rows.map(line),
        "",
        `${ok} of ${results.length} stacks succeeded${ok === results.length ? "" : `, ${results.length - ok} failed`}. Logs: ${logDir}/<stack>.log`,
    ].join("\n");
}
