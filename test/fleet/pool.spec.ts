import { strict as assert } from "assert";
import { runBounded } from "../../fleet/pool";

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe("fleet bounded concurrency", () => {
    it("never more than the limit in flight, all of it used, results in the items' order", async () => {
        let inFlight = 0;
        let most = 0;
        const started: number[] = [];
        const results = await runBounded(
            [5, 1, 3, 1, 2, 1],
            2,
            async (n) => {
                started.push(n);
                inFlight++;
                most = Math.max(most, inFlight);
                for (let i = 0; i < n; i++) {
                    await tick();
                }
                inFlight--;
                return n * 10;
            },
            () => -1,
        );
        assert.equal(most, 2);
        assert.deepEqual(started, [5, 1, 3, 1, 2, 1], "started in order");
        assert.deepEqual(results, [50, 10, 30, 10, 20, 10]);
    });

    it("a limit above the number of items, and no items", async () => {
        assert.deepEqual(
            await runBounded(
                [1, 2],
                8,
                async (n) => n,
                () => 0,
            ),
            [1, 2],
        );
        assert.deepEqual(
            await runBounded(
                [],
                2,
                async (n: number) => n,
                () => 0,
            ),
            [],
        );
        await assert.rejects(
            runBounded(
                [1],
                0,
                async (n) => n,
                () => 0,
            ),
            /concurrency limit 0 is not a positive whole number/,
        );
    });

    it("after an abort, running tasks finish and no further task starts", async () => {
        const controller = new AbortController();
        const ran: string[] = [];
        const results = await runBounded(
            ["a", "b", "c", "d"],
            2,
            async (item) => {
                ran.push(item);
                await tick();
                if (item === "a") {
                    controller.abort();
                }
                return `${item} done`;
            },
            (item) => `${item} not started`,
            controller.signal,
        );
        assert.deepEqual(ran, ["a", "b"]);
        assert.deepEqual(results, ["a done", "b done", "c not started", "d not started"]);
    });
});
