/**
 * The overview while a fleet runs. On a terminal: one line per stack, redrawn in place every second
 * (log-update: it rewrites the lines it printed last and wraps nothing it cannot erase) with its
 * state (queued, setup, preview, up, destroy, then verified / up / previewed / destroyed / failed),
 * its elapsed time and the preview's changes. Elsewhere (CI, a log file): a timestamped line per
 * step. The lines themselves are pure functions.
 */
import { createLogUpdate } from "log-update";
import { formatChanges, StackEvent, StackPhase, StackResult, statusWord } from "./summary";

interface Row {
    stack: string;
    kind: "deploy" | "destroy";
    phase: StackPhase;
    /** When its first step started (undefined while queued). */
    startedAt?: number;
    changes?: Record<string, number>;
    result?: StackResult;
}

/** The stacks' states, in the run's order; fed with the runner's events. */
export class OverviewState {
    readonly rows: Row[] = [];
    private readonly byName = new Map<string, Row>();

    apply(event: StackEvent, now: number): Row {
        let row = this.byName.get(event.stack);
        if (!row) {
            row = { stack: event.stack, kind: event.kind ?? "deploy", phase: "queued" };
            this.byName.set(event.stack, row);
            this.rows.push(row);
        }
        if (event.phase !== "queued" && row.startedAt === undefined) {
            row.startedAt = now;
        }
        row.phase = event.phase;
        row.changes = event.changes ?? event.result?.changes ?? row.changes;
        row.result = event.result ?? row.result;
        return row;
    }
}

const WORDS: Record<Exclude<StackPhase, "done">, string> = {
    queued: "queued",
    setup: "setup",
    preview: "preview",
    up: "up",
    destroy: "destroy",
};

function clock(ms: number): string {
    const s = Math.floor(ms / 1000);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** A row's state word: the running step, or the outcome. */
export function rowState(row: Row): string {
    if (row.phase !== "done") {
        return row.kind === "destroy" && row.phase === "preview" ? "destroy preview" : WORDS[row.phase];
    }
    return statusWord(row.result!);
}

/** The terminal's lines: stack, state, elapsed, changes, and the error or verdict once done. */
export function overviewLines(state: OverviewState, now: number): string[] {
    const width = Math.max(5, ...state.rows.map((r) => r.stack.length));
    const states = state.rows.map(rowState);
    const stateWidth = Math.max(...states.map((s) => s.length), 7);
    return state.rows.map((row, i) => {
        const elapsed =
            row.startedAt === undefined
                ? "    -"
                : clock(row.result ? row.result.durationMs : now - row.startedAt).padStart(5);
        const changes = row.changes ? formatChanges(row.changes) : "";
        const tail = row.result?.error ?? row.result?.verification ?? "";
        return [row.stack.padEnd(width), states[i].padEnd(stateWidth), elapsed, changes.padEnd(10), tail]
            .join("  ")
            .trimEnd();
    });
}

/** A timestamped line for one step, for a log (not a terminal); undefined for steps not worth a line. */
export function plainLine(row: Row, event: StackEvent, now: Date): string | undefined {
    const time = now.toISOString().slice(11, 19);
    const what = (() => {
        switch (event.phase) {
            case "queued":
            case "setup":
                return undefined;
            case "preview":
                return row.kind === "destroy" ? "gone: destroy preview started" : "preview started";
            case "up":
                return `preview ok (${formatChanges(event.changes)}), up started`;
            case "destroy":
                return `destroy preview ok (${formatChanges(row.changes)}), destroy started`;
            case "done": {
                const r = event.result!;
                const parts = [statusWord(r)];
                if (r.changes && r.preview === "ok") parts.push(`(${formatChanges(r.changes)})`);
                if (r.verification) parts.push(`- ${r.verification}`);
                if (r.error) parts.push(`- ${r.preview === "ok" ? r.up : "preview"} failed: ${r.error}`);
                return `${parts.join(" ")} in ${(r.durationMs / 1000).toFixed(1)}s`;
            }
        }
    })();
    return what === undefined ? undefined : `${time} ${row.stack}: ${what}`;
}

export interface Overview {
    onEvent(event: StackEvent): void;
    /** Leaves the last frame on the terminal, and stops redrawing. */
    done(): void;
}

/** Timestamped lines, one per step. */
export function plainOverview(out: (line: string) => void): Overview {
    const state = new OverviewState();
    return {
        onEvent(event) {
            const line = plainLine(state.apply(event, Date.now()), event, new Date());
            if (line !== undefined) out(line);
        },
        done() {},
    };
}

/** One line per stack, redrawn in place on `stream` (a TTY) every second and at each step. */
export function terminalOverview(stream: NodeJS.WriteStream): Overview {
    const state = new OverviewState();
    const draw = createLogUpdate(stream, { showCursor: true });
    const render = () => draw(overviewLines(state, Date.now()).join("\n"));
    const timer = setInterval(render, 1000);
    timer.unref();
    return {
        onEvent(event) {
            state.apply(event, Date.now());
            render();
        },
        done() {
            clearInterval(timer);
            render();
            draw.done();
        },
    };
}
