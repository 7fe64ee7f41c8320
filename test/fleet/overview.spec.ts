import { strict as assert } from "assert";
import { PassThrough } from "stream";
import { OverviewState, overviewLines, plainLine, plainOverview, terminalOverview } from "../../fleet/overview";
import { StackResult } from "../../fleet/summary";

const T0 = Date.parse("2026-12-07T12:00:00Z");

const done = (stack: string, fields: Partial<StackResult>): StackResult => ({
    stack,
    kind: "deploy",
    preview: "ok",
    up: "ok",
    durationMs: 0,
    logFile: `/logs/${stack}.log`,
    ...fields,
});

/** Three stacks: one verified, one failing at preview, one queued, and a gone stack being destroyed. */
function state(): OverviewState {
    const s = new OverviewState();
    for (const stack of ["west", "edge-01", "east"]) s.apply({ stack, phase: "queued", kind: "deploy" }, T0);
    s.apply({ stack: "old", phase: "queued", kind: "destroy" }, T0);
    s.apply({ stack: "west", phase: "setup" }, T0);
    s.apply({ stack: "west", phase: "preview" }, T0 + 1_000);
    s.apply({ stack: "west", phase: "up", changes: { create: 12 } }, T0 + 9_000);
    s.apply(
        {
            stack: "west",
            phase: "done",
            result: done("west", {
                changes: { create: 12 },
                durationMs: 48_200,
                verification: "verified: 20 checks passed",
            }),
        },
        T0 + 48_200,
    );
    s.apply({ stack: "edge-01", phase: "preview" }, T0 + 2_000);
    s.apply(
        {
            stack: "edge-01",
            phase: "done",
            result: done("edge-01", { preview: "failed", up: "skipped", durationMs: 9_700, error: "policy p (r): m" }),
        },
        T0 + 11_700,
    );
    s.apply({ stack: "old", phase: "preview" }, T0 + 50_000);
    return s;
}

describe("fleet overview", () => {
    it("a line per stack: state, elapsed, changes, then the error or the verdict", () => {
        assert.deepEqual(overviewLines(state(), T0 + 61_000), [
            "west     verified          0:48  +12         verified: 20 checks passed",
            "edge-01  failed            0:09              policy p (r): m",
            "east     queued               -",
            "old      destroy preview   0:11",
        ]);
    });

    it("plain timestamped lines for the steps worth one, when not a terminal", () => {
        const lines: string[] = [];
        const overview = plainOverview((l) => lines.push(l));
        overview.onEvent({ stack: "w", phase: "queued", kind: "deploy" });
        overview.onEvent({ stack: "w", phase: "setup" });
        overview.onEvent({ stack: "w", phase: "preview" });
        overview.onEvent({ stack: "w", phase: "up", changes: { create: 2, update: 1 } });
        overview.onEvent({
            stack: "w",
            phase: "done",
            result: done("w", {
                changes: { create: 2, update: 1 },
                durationMs: 31_000,
                verification: "verified: 4 checks passed",
            }),
        });
        overview.done();
        assert.equal(lines.length, 3, lines.join("\n"));
        assert.match(lines[0], /^\d\d:\d\d:\d\d w: preview started$/);
        assert.match(lines[1], /^\d\d:\d\d:\d\d w: preview ok \(\+2 ~1\), up started$/);
        assert.match(lines[2], /^\d\d:\d\d:\d\d w: verified \(\+2 ~1\) - verified: 4 checks passed in 31\.0s$/);
        const row = new OverviewState().apply(
            { stack: "x", phase: "done", result: done("x", { preview: "failed", up: "skipped", error: "boom" }) },
            T0,
        );
        assert.match(
            plainLine(row, { stack: "x", phase: "done", result: row.result }, new Date(T0))!,
            /^12:00:00 x: failed - preview failed: boom in 0\.0s$/,
        );
    });

    it("on a terminal, redraws its lines in place through log-update", () => {
        const tty = Object.assign(new PassThrough(), { isTTY: true, columns: 120, rows: 40 });
        let written = "";
        tty.on("data", (d) => (written += d));
        const overview = terminalOverview(tty as unknown as NodeJS.WriteStream);
        overview.onEvent({ stack: "w", phase: "queued", kind: "deploy" });
        overview.onEvent({ stack: "w", phase: "preview" });
        overview.done();
        assert.match(written, /w +queued/);
        assert.match(written, /w +preview/);
        assert.match(written, /\u001b\[2K/, "erases the previous frame's lines");
    });
});
