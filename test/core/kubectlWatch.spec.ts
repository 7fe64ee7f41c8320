import { strict as assert } from "assert";
import { splitWatchedObjects } from "../../core/kubectl";

// `kubectl get pod NAME --watch --output json` prints each state as an indented object, as kubectl v1.3x does.
const state = (phase: string) =>
    JSON.stringify({ kind: "Pod", metadata: { name: "v", labels: { a: "}" } }, status: { phase } }, null, 4);

describe("splitWatchedObjects", () => {
    it("splits the states kubectl printed, however the output was cut into chunks", () => {
        const text = `${state("Pending")}\n${state("Running")}\n${state("Succeeded")}\n`;
        for (let cut = 1; cut < text.length; cut += 7) {
            const first = splitWatchedObjects(text.slice(0, cut));
            const second = splitWatchedObjects(first.rest + text.slice(cut));
            const phases = [...first.objects, ...second.objects].map((o) => JSON.parse(o).status.phase);
            assert.deepEqual(phases, ["Pending", "Running", "Succeeded"], `cut at ${cut}`);
            assert.equal(second.rest.trim(), "");
        }
    });

    it("keeps an object whose end has not arrived, braces inside it included", () => {
        const partial = state("Running").split("\n").slice(0, -1).join("\n");
        assert.deepEqual(splitWatchedObjects(partial), { objects: [], rest: partial });
    });
});
