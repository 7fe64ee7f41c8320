import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { CONFIG_KEYS } from "../../config/stackConfig";
import { FleetContext, FleetFileError, parseFleet } from "../../fleet/fleetFile";
import { kubeconfigFor } from "./kubeconfigs";

const VALID_KUBECONFIG = kubeconfigFor("mgmt");

const PROJECT = "/repo";
const HOME = "/home/ops";

/** A fake file system: kubeconfigs by absolute path, policy packs by directory. */
function context(files: Record<string, string> = {}, packs: string[] = ["/repo/policy"]): FleetContext {
    return {
        fleetFile: "/fleets/prod.yaml",
        projectDir: PROJECT,
        homeDir: HOME,
        readFile: (file) =>
            files[file] ??
            Object.assign(new Error(`ENOENT: no such file or directory, open '${file}'`), { code: "ENOENT" }),
        isPolicyPack: (dir) => packs.includes(dir),
    };
}

const KUBECONFIGS = {
    "/home/ops/.kube/west.kubeconfig": VALID_KUBECONFIG,
    "/fleets/east.kubeconfig": VALID_KUBECONFIG,
};

function problemsOf(text: string, ctx = context(KUBECONFIGS)): string[] {
    try {
        parseFleet(text, ctx);
    } catch (err) {
        assert.ok(err instanceof FleetFileError, `unexpected ${err}`);
        assert.match(err.message, /^invalid fleet file \/fleets\/prod\.yaml:\n  - /);
        return err.problems;
    }
    assert.fail("expected a FleetFileError");
}

describe("fleet file", () => {
    it("reads stacks, kubeconfig paths (~/ and relative to the fleet file) and config, with defaults", () => {
        const fleet = parseFleet(
            `
stacks:
  - name: mgmt-west
    kubeconfig: ~/.kube/west.kubeconfig
    config:
      components: { etcd: false }
      healthPort: 10300
      createNamespace: false
  - name: workload.east_1
    kubeconfig: east.kubeconfig
`,
            context(KUBECONFIGS),
        );
        assert.equal(fleet.concurrency, 2);
        assert.deepEqual(fleet.policyPacks, ["/repo/policy"]);
        assert.deepEqual(
            fleet.stacks.map((s) => [s.name, s.kubeconfigSource]),
            [
                ["mgmt-west", "/home/ops/.kube/west.kubeconfig"],
                ["workload.east_1", "/fleets/east.kubeconfig"],
            ],
        );
        assert.equal(fleet.stacks[0].kubeconfig, VALID_KUBECONFIG);
        assert.deepEqual(fleet.stacks[0].config, {
            components: { etcd: false },
            healthPort: 10300,
            createNamespace: false,
        });
        assert.deepEqual(fleet.stacks[1].config, {});
    });

    it("takes concurrency and policy packs (relative to the project, or absolute)", () => {
        const fleet = parseFleet(
            `
concurrency: 5
policyPacks: [policy, /opt/packs/org]
stacks: [{ name: a, kubeconfig: east.kubeconfig }]
`,
            context(KUBECONFIGS, ["/repo/policy", "/opt/packs/org"]),
        );
        assert.equal(fleet.concurrency, 5);
        assert.deepEqual(fleet.policyPacks, ["/repo/policy", "/opt/packs/org"]);
        assert.deepEqual(
            parseFleet("policyPacks: []\nstacks: [{name: a, kubeconfig: east.kubeconfig}]", context(KUBECONFIGS))
                .policyPacks,
            [],
        );
    });

    it("the documented example is valid, given its kubeconfig files", () => {
        const example = path.join(__dirname, "../../fleet/fleet.example.yaml");
        const files = Object.fromEntries(
            ["mgmt-west", "workload-east", "edge-01"].map((n) => [`/home/ops/.kube/${n}.kubeconfig`, VALID_KUBECONFIG]),
        );
        const fleet = parseFleet(fs.readFileSync(example, "utf8"), { ...context(files), fleetFile: example });
        assert.deepEqual(
            fleet.stacks.map((s) => s.name),
            ["mgmt-west", "workload-east", "edge-01"],
        );
    });

    it("is not YAML, or not a map", () => {
        const problems = problemsOf("stacks: [unclosed");
        assert.equal(problems.length, 1);
        assert.match(problems[0], /^is not YAML: .*\. Fix the syntax \(see fleet\/fleet\.example\.yaml\)$/);
        assert.deepEqual(problemsOf("- a\n- b"), [
            'is not a map with a "stacks" list or a "discover" section. Start from fleet/fleet.example.yaml',
        ]);
        assert.deepEqual(problemsOf(""), [
            'is not a map with a "stacks" list or a "discover" section. Start from fleet/fleet.example.yaml',
        ]);
    });

    it("names every problem of the whole file at once, each with its key and the fix", () => {
        const problems = problemsOf(`
concurrency: 0
policyPacks: [policy, missing-pack, policy]
colour: blue
stacks:
  - name: mgmt-west
    kubeconfig: ~/.kube/west.kubeconfig
    region: us-west
  - name: "mgmt west"
    kubeconfig: ~/.kube/west.kubeconfig
  - name: mgmt-west
    kubeconfig: ~/.kube/west.kubeconfig
  - name: edge
    kubeconfig: ~/.kube/edge.kubeconfig
  - name: shop
    kubeconfig: east.kubeconfig
    config:
      colour: blue
      eksa-metrics:namespace: metrics
      kubeconfig: "kind: Config"
      healthPort: "10300"
      components: true
      createNamespace: "no"
      namespace: 7
  - kubeconfig: east.kubeconfig
  - just-a-name
`);
        assert.deepEqual(problems, [
            "colour: is not a fleet file key. Known keys: concurrency, policyPacks, discover, stacks",
            "concurrency: 0 is not a whole number from 1 to 32. Set how many stacks run at once, e.g. concurrency: 2",
            "policyPacks[1]: /repo/missing-pack is not a policy pack (no PulumiPolicy.yaml). Paths are relative to the project directory /repo",
            "policyPacks[2]: policy is listed twice. Remove one",
            "stacks[0].region: is not a stack key. Known keys: name, kubeconfig, config",
            `stacks[1].name: "mgmt west" is not a valid stack name. Use up to 100 letters, digits, '-', '_' and '.', starting with a letter or digit`,
            `stacks[2].name: "mgmt-west" is also the name of stacks[0]. Each stack appears once: merge or rename them`,
            "stacks[3] (edge).kubeconfig: /home/ops/.kube/edge.kubeconfig does not exist. Give the path of the cluster's kubeconfig (relative to the fleet file's directory, or ~/...)",
            "stacks[4] (shop).config.colour: is not a setting of the program. Known keys: " +
                Object.keys(CONFIG_KEYS)
                    .filter((k) => k !== "kubeconfig")
                    .join(", "),
            'stacks[4] (shop).config.eksa-metrics:namespace: is not a setting of the program. Write it without the "eksa-metrics:" prefix: namespace',
            "stacks[4] (shop).config.kubeconfig: the kubeconfig is not given as config. Set stacks[4].kubeconfig to the file's path; its content is stored as the secret eksa-metrics:kubeconfig",
            `stacks[4] (shop).config.healthPort: "10300" is not a whole number. See the healthPort row of README.md's configuration table`,
            "stacks[4] (shop).config.components: true is not a map or a list. See the components row of README.md's configuration table",
            `stacks[4] (shop).config.createNamespace: "no" is not true or false. See the createNamespace row of README.md's configuration table`,
            "stacks[4] (shop).config.namespace: 7 is not a string. See the namespace row of README.md's configuration table",
            "stacks[5].name: missing is not a valid stack name. Use up to 100 letters, digits, '-', '_' and '.', starting with a letter or digit",
            `stacks[6]: "just-a-name" is not a map. Write {name: <stack>, kubeconfig: <file>, config: {...}}`,
        ]);
    });

    it("rejects a concurrency that is not a whole number in range", () => {
        for (const [bad, shown] of [
            ["2.5", "2.5"],
            ["-1", "-1"],
            ["33", "33"],
            ['"2"', '"2"'],
            ["two", '"two"'],
        ]) {
            assert.deepEqual(problemsOf(`concurrency: ${bad}\nstacks: [{name: a, kubeconfig: east.kubeconfig}]`), [
                `concurrency: ${shown} is not a whole number from 1 to 32. Set how many stacks run at once, e.g. concurrency: 2`,
            ]);
        }
    });

    it("needs a non-empty stacks list and a policyPacks list of paths", () => {
        assert.deepEqual(problemsOf("concurrency: 2"), [
            "stacks: is missing. List the cluster stacks, e.g. stacks: [{name: mgmt-west, kubeconfig: ~/.kube/mgmt-west.kubeconfig}], or discover them (discover: {kubeconfig: ...})",
        ]);
        assert.match(problemsOf("stacks: []")[0], /^stacks: \[\] is not a non-empty list\. List the cluster stacks/);
        assert.deepEqual(problemsOf("policyPacks: policy\nstacks: [{name: a, kubeconfig: east.kubeconfig}]"), [
            'policyPacks: "policy" is not a list of directories. Write e.g. policyPacks: [policy] (relative to the project directory), or [] for none',
        ]);
    });

    it("needs a readable kubeconfig file that is a kubeconfig", () => {
        const ctx = context({
            ...KUBECONFIGS,
            "/fleets/not-yaml": "kind: [",
            "/fleets/plain-http": VALID_KUBECONFIG.replace("https://", "http://"),
        });
        ctx.readFile = ((read) => (file: string) =>
            file === "/fleets/locked"
                ? Object.assign(new Error("EACCES: permission denied"), { code: "EACCES" })
                : read(file))(ctx.readFile);
        const problems = problemsOf(
            `
stacks:
  - { name: a }
  - { name: b, kubeconfig: locked }
  - { name: c, kubeconfig: not-yaml }
  - { name: d, kubeconfig: plain-http }
`,
            ctx,
        );
        assert.equal(problems.length, 4, problems.join("\n"));
        assert.equal(
            problems[0],
            "stacks[0] (a).kubeconfig: missing is not a file path. Give the path of the cluster's kubeconfig (relative to the fleet file's directory, or ~/...)",
        );
        assert.equal(
            problems[1],
            "stacks[1] (b).kubeconfig: /fleets/locked cannot be read (EACCES: permission denied). Give the path of the cluster's kubeconfig (relative to the fleet file's directory, or ~/...)",
        );
        assert.match(
            problems[2],
            /^stacks\[2\] \(c\)\.kubeconfig: \/fleets\/not-yaml is not YAML \(.*\)\. Point it at the cluster's kubeconfig$/,
        );
        assert.equal(
            problems[3],
            `stacks[3] (d).kubeconfig: /fleets/plain-http cluster "mgmt" server http://10.0.0.10:6443/ is not https. Point it at the cluster's kubeconfig`,
        );
    });

    it("puts each stack's config through the program's own validation, with the program's messages", () => {
        const problems = problemsOf(`
stacks:
  - name: a
    kubeconfig: east.kubeconfig
    config:
      healthPort: 10257
      namespace: Not_Valid
      components: { etcd: maybe }
  - name: b
    kubeconfig: east.kubeconfig
    config: { namespace: kube-system }
`);
        assert.equal(problems.length, 3, problems.join("\n"));
        assert.ok(
            problems.every((p) => p.startsWith("stacks[0] (a).config: eksa-metrics:")),
            problems.join("\n"),
        );
        assert.ok(
            problems.some((p) =>
                p.startsWith(
                    "stacks[0] (a).config: eksa-metrics:healthPort: 10257 is the metrics port of kube-controller-manager. Choose a free port",
                ),
            ),
        );
        assert.ok(
            problems.some((p) =>
                p.startsWith(`stacks[0] (a).config: eksa-metrics:namespace: "Not_Valid" is not a valid namespace name`),
            ),
        );
        assert.ok(problems.some((p) => p.startsWith("stacks[0] (a).config: eksa-metrics:components")));
    });

    it("a config value that is not a map", () => {
        assert.deepEqual(problemsOf("stacks: [{name: a, kubeconfig: east.kubeconfig, config: [namespace]}]"), [
            'stacks[0] (a).config: ["namespace"] is not a map. Write config keys as in README.md, e.g. config: {components: {etcd: false}}',
        ]);
    });
});
