import { strict as assert } from "assert";
import { parseArgs, selectStacks, UsageError } from "../../fleet/args";
import { Fleet } from "../../fleet/fleetFile";

function usageError(argv: string[]): string {
    try {
        parseArgs(argv);
    } catch (err) {
        assert.ok(err instanceof UsageError, `unexpected ${err}`);
        return err.message;
    }
    assert.fail("expected a UsageError");
}

describe("fleet arguments", () => {
    it("a fleet file alone: preview then up, the fleet file's concurrency, every stack", () => {
        assert.deepEqual(parseArgs(["fleet.yaml"]), {
            help: false,
            previewOnly: false,
            prune: false,
            fleetFile: "fleet.yaml",
        });
    });

    it("flags in both --flag value and --flag=value forms, before or after the file", () => {
        assert.deepEqual(
            parseArgs([
                "--preview-only",
                "fleet.yaml",
                "--concurrency",
                "4",
                "--stacks",
                "a, b",
                "--log-dir=/tmp/logs",
            ]),
            {
                help: false,
                previewOnly: true,
                prune: false,
                fleetFile: "fleet.yaml",
                concurrency: 4,
                stacks: ["a", "b"],
                logDir: "/tmp/logs",
            },
        );
        assert.deepEqual(parseArgs(["fleet.yaml", "--concurrency=1", "--stacks=a", "--stacks", "b,a"]), {
            help: false,
            previewOnly: false,
            prune: false,
            fleetFile: "fleet.yaml",
            concurrency: 1,
            stacks: ["a", "b"],
        });
    });

    it("--prune and --json FILE", () => {
        assert.deepEqual(parseArgs(["fleet.yaml", "--prune", "--json", "out.json"]), {
            help: false,
            previewOnly: false,
            prune: true,
            fleetFile: "fleet.yaml",
            json: "out.json",
        });
        assert.equal(parseArgs(["fleet.yaml", "--json=s.json"]).json, "s.json");
        assert.equal(usageError(["fleet.yaml", "--prune=yes"]), "--prune takes no value");
        assert.equal(usageError(["fleet.yaml", "--json"]), "--json needs a value");
    });

    it("help needs no fleet file", () => {
        assert.equal(parseArgs(["--help"]).help, true);
        assert.equal(parseArgs(["-h", "fleet.yaml"]).help, true);
    });

    it("names each bad argument, all at once", () => {
        assert.equal(usageError([]), "no fleet file given");
        assert.equal(
            usageError(["fleet.yaml", "--concurrency", "0"]),
            '--concurrency "0" is not a whole number from 1 to 32',
        );
        assert.equal(
            usageError(["fleet.yaml", "--concurrency=two"]),
            '--concurrency "two" is not a whole number from 1 to 32',
        );
        assert.equal(
            usageError(["fleet.yaml", "--concurrency", "1.5"]),
            '--concurrency "1.5" is not a whole number from 1 to 32',
        );
        assert.equal(usageError(["fleet.yaml", "--concurrency"]), "--concurrency needs a value");
        assert.equal(usageError(["fleet.yaml", "--stacks", "--preview-only"]), "--stacks needs a value");
        assert.equal(
            usageError(["fleet.yaml", "--stacks", "a,,b"]),
            '--stacks "a,,b" has an empty name: write --stacks a,b',
        );
        assert.equal(usageError(["fleet.yaml", "--preview-only=yes"]), "--preview-only takes no value");
        assert.equal(usageError(["fleet.yaml", "--up-only", "-x"]), "unknown option --up-only; unknown option -x");
        assert.equal(usageError(["a.yaml", "b.yaml"]), "one fleet file at a time (got a.yaml and b.yaml)");
    });

    it("--stacks picks stacks of the fleet file, in its order, and names the unknown ones", () => {
        const stack = (name: string) => ({ name, kubeconfigSource: `/k/${name}`, kubeconfig: "", config: {} });
        const fleet: Fleet = { concurrency: 2, policyPacks: [], stacks: [stack("a"), stack("b"), stack("c")] };
        assert.deepEqual(
            selectStacks(fleet, undefined).map((s) => s.name),
            ["a", "b", "c"],
        );
        assert.deepEqual(
            selectStacks(fleet, ["c", "a"]).map((s) => s.name),
            ["a", "c"],
        );
        assert.throws(() => selectStacks(fleet, ["a", "x"]), {
            name: "UsageError",
            message: "--stacks: x is not in the fleet file. Its stacks: a, b, c",
        });
        assert.throws(() => selectStacks(fleet, ["x", "y"]), {
            message: "--stacks: x, y are not in the fleet file. Its stacks: a, b, c",
        });
    });

    it("--stacks may name a discovered cluster's skipped or gone stack, which runs nothing", () => {
        const stack = (name: string) => ({
            name,
            kubeconfigSource: `Secret eksa-system/${name}`,
            kubeconfig: "",
            config: {},
        });
        const discover = {} as Fleet["discover"];
        const fleet: Fleet = { concurrency: 2, policyPacks: [], stacks: [stack("a"), stack("b")], discover };
        assert.deepEqual(
            selectStacks(fleet, ["gone", "b"], ["skipped", "gone"]).map((s) => s.name),
            ["b"],
        );
        assert.throws(() => selectStacks(fleet, ["x"], ["gone"]), {
            message: "--stacks: x is not in the fleet (listed, discovered, skipped or gone). Its stacks: a, b, gone",
        });
    });
});
