import { strict as assert } from "assert";
import { Answer, Check, planChecks } from "../../verify/plan";
import { runChecks } from "../../verify/run";
import { PLAN } from "./plan.spec";

const cp = {
    name: "cp-1",
    internalIP: "10.0.0.2",
    labels: { "node-role.kubernetes.io/control-plane": "" },
    taints: [],
};
const METRICS = "# TYPE up gauge\nup 1\n";
const ok = (check: Check): Answer => ({
    status: check.expectStatus[0],
    body: check.expectMetricsBody ? METRICS : "",
    headers: check.expectHeader ? { [check.expectHeader]: "refused" } : {},
});

describe("verification runner", () => {
    const checks = planChecks(PLAN, [cp]).checks;

    it("runs every check with bounded concurrency and keeps the order", async () => {
        let inFlight = 0;
        let peak = 0;
        const verdicts = await runChecks(
            checks,
            async (check) => {
                peak = Math.max(peak, ++inFlight);
                await new Promise((r) => setTimeout(r, 5));
                inFlight--;
                return ok(check);
            },
            { concurrency: 3, deadline: Date.now() + 10_000 },
        );
        assert.equal(peak, 3);
        assert.deepEqual(
            verdicts.map((v) => v.check),
            checks,
        );
        assert.ok(verdicts.every((v) => v.pass && v.attempts === 1));
    });

    it("retries while a fresh proxy settles, then passes", async () => {
        const calls = new Map<Check, number>();
        const verdicts = await runChecks(
            checks.slice(0, 1),
            async (check) => {
                const n = (calls.get(check) ?? 0) + 1;
                calls.set(check, n);
                return n < 3 ? { status: 0, headers: {}, body: "", error: "Connection refused" } : ok(check);
            },
            { concurrency: 1, deadline: Date.now() + 10_000, backoffMs: () => 1 },
        );
        assert.equal(verdicts[0].pass, true);
        assert.equal(verdicts[0].attempts, 3);
    });

    it("gives up at the deadline with the last answer", async () => {
        const budgetMs = 500;
        const backoffMs = 20;
        const verdicts = await runChecks(checks.slice(0, 2), async () => ({ status: 503, headers: {}, body: "" }), {
            concurrency: 2,
            deadline: Date.now() + budgetMs,
            backoffMs: () => backoffMs,
        });
        // Relative to the deadline, not a wall-clock limit a loaded machine may exceed: it retried, and never
        // more often than the deadline leaves room for (a slow machine only makes fewer attempts).
        for (const v of verdicts) {
            assert.ok(v.attempts > 1 && v.attempts <= budgetMs / backoffMs + 1, `${v.attempts} attempts`);
            assert.ok(!v.pass && /, got 503$/.test(v.detail), v.detail);
        }
    });
});
