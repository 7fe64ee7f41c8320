import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { clusterApiModuleDir } from "../../dev/localcluster/capi";
import {
    CLUSTER_FIELDS,
    ClusterObject,
    clusterNotReady,
    DiscoverSpec,
    goneStacks,
    ListedCluster,
    mergeConfig,
    planDiscovery,
    stackNameFor,
} from "../../fleet/discovery";
import { FleetContext, FleetFileError, parseFleet, readFleet } from "../../fleet/fleetFile";
import { kubeconfigFor } from "./kubeconfigs";

const MGMT_SERVER = "https://10.0.0.1:6443";
const FILES: Record<string, string> = {
    "/fleets/mgmt.kubeconfig": kubeconfigFor("mgmt", MGMT_SERVER),
    "/fleets/edge.kubeconfig": kubeconfigFor("edge", "https://10.0.9.1:6443"),
};

function context(): FleetContext {
    return {
        fleetFile: "/fleets/prod.yaml",
        projectDir: "/repo",
        homeDir: "/home/ops",
        readFile: (file) =>
            FILES[file] ??
            Object.assign(new Error(`ENOENT: no such file or directory, open '${file}'`), { code: "ENOENT" }),
        isPolicyPack: (dir) => dir === "/repo/policy",
    };
}

function spec(discover: object, stacks?: object[]): DiscoverSpec {
    const fleet = parseFleet(yaml.dump({ discover, ...(stacks ? { stacks } : {}) }), context());
    return fleet.discover!;
}

function problemsOf(doc: object): string[] {
    try {
        parseFleet(yaml.dump(doc), context());
    } catch (err) {
        assert.ok(err instanceof FleetFileError, `unexpected ${err}`);
        return err.problems;
    }
    assert.fail("expected a FleetFileError");
}

/** A provisioned v1beta2 Cluster, with `fields` over it. */
function cluster(
    name: string,
    fields: Partial<ClusterObject> & { labels?: Record<string, string> } = {},
): ClusterObject {
    const { labels, ...rest } = fields;
    return {
        apiVersion: "cluster.x-k8s.io/v1beta2",
        metadata: { name, namespace: "eksa-system", labels: labels ?? {} },
        spec: {},
        status: { phase: "Provisioned", initialization: { controlPlaneInitialized: true } },
        ...rest,
    };
}

const withSecret = (
    object: ClusterObject,
    server = `https://10.1.${object.metadata.name.length}.1:6443`,
): ListedCluster => ({
    object,
    namespace: object.metadata.namespace!,
    secret: { kind: "found", value: kubeconfigFor(object.metadata.name, server) },
});

describe("fleet discovery", () => {
    describe("the discover: section", () => {
        it("alone is a fleet: defaults eksa-system, every cluster, {name}, the management cluster not a stack", () => {
            const s = spec({ kubeconfig: "mgmt.kubeconfig" });
            assert.equal(s.kubeconfigPath, "/fleets/mgmt.kubeconfig");
            assert.equal(s.server, MGMT_SERVER);
            assert.deepEqual(s.namespaces, ["eksa-system"]);
            assert.deepEqual(s.selector.requirements, []);
            assert.equal(s.stackName, "{name}");
            assert.equal(s.managementCluster, false);
            assert.deepEqual([s.config, s.overrides], [{}, []]);
        });

        it("reads namespaces, selector, template, config and overrides", () => {
            const s = spec({
                kubeconfig: "/fleets/mgmt.kubeconfig",
                namespaces: ["eksa-system", "tenants"],
                selector: "metrics=on,tier in (edge,core)",
                stackName: "{namespace}-{name}",
                managementCluster: true,
                config: { components: { etcd: false }, namespace: "metrics" },
                overrides: [{ selector: "tier=edge", config: { components: { "kube-proxy": false } } }],
            });
            assert.deepEqual(s.namespaces, ["eksa-system", "tenants"]);
            assert.equal(s.selector.requirements.length, 2);
            assert.equal(s.overrides[0].selector.text, "tier=edge");
            assert.deepEqual(s.overrides[0].config, { components: { "kube-proxy": false } });
        });

        it("names every problem of the section with the rest of the file's, at once", () => {
            assert.deepEqual(
                problemsOf({
                    concurrency: 0,
                    discover: {
                        kubeconfig: "missing.kubeconfig",
                        namespaces: ["eksa-system", "Bad_NS"],
                        selector: "tier in edge",
                        stackName: "fleet-{cluster}",
                        managementCluster: "yes",
                        config: { kubeconfig: "x", colour: "red", healthPort: "high" },
                        overrides: [{ selector: "", config: {} }, { selector: "tier=edge" }, { config: {}, when: 1 }],
                        region: "eu",
                    },
                }),
                [
                    "concurrency: 0 is not a whole number from 1 to 32. Set how many stacks run at once, e.g. concurrency: 2",
                    "discover.region: is not a discover key. Known keys: kubeconfig, namespaces, selector, stackName, managementCluster, config, overrides",
                    "discover.kubeconfig: /fleets/missing.kubeconfig does not exist. Give the management cluster's kubeconfig (relative to the fleet file's directory, or ~/...)",
                    'discover.namespaces: ["eksa-system","Bad_NS"] is not a non-empty list of namespace names. EKS Anywhere keeps its Cluster objects in eksa-system (the default)',
                    'discover.selector: "tier in edge" is not a requirement: write key=value, key!=value, key in (a,b), key notin (a,b), key or !key',
                    'discover.stackName: "fleet-{cluster}" {cluster} is not a field: use {name} and {namespace}',
                    'discover.stackName: "fleet-{cluster}" has no {name}: every cluster would get the same stack',
                    'discover.managementCluster: "yes" is not true or false. Say whether the management cluster\'s own Cluster object is a stack too (default false)',
                    "discover.config.kubeconfig: the kubeconfig is not given as config. Discovered stacks get their cluster's kubeconfig Secret; its content is stored as the secret eksa-metrics:kubeconfig",
                    ...problemsOf({ discover: { kubeconfig: "mgmt.kubeconfig", config: { colour: "red" } } }),
                    'discover.config.healthPort: "high" is not a whole number. See the healthPort row of README.md\'s configuration table',
                    "discover.overrides[0].selector: is empty, so it matches every cluster. Put that config in discover.config",
                    "discover.overrides[1].config: is missing. Give the config the matching clusters get",
                    "discover.overrides[2].when: is not an override key. Known keys: selector, config",
                    'discover.overrides[2].selector: missing is not a label selector. Write e.g. "tier=edge,env in (prod,stage)"',
                ],
            );
        });

        it("the documented example is valid, given its kubeconfig files", () => {
            const example = path.join(__dirname, "../../fleet/fleet.discover.example.yaml");
            FILES["/home/ops/.kube/mgmt.kubeconfig"] = FILES["/fleets/mgmt.kubeconfig"];
            FILES["/home/ops/.kube/lab-01.kubeconfig"] = FILES["/fleets/edge.kubeconfig"];
            const fleet = parseFleet(fs.readFileSync(example, "utf8"), { ...context(), fleetFile: example });
            assert.equal(fleet.discover!.overrides.length, 2);
            assert.deepEqual(
                fleet.stacks.map((s) => s.name),
                ["lab-01"],
            );
        });

        it("stacks may be listed beside it", () => {
            const { fleet, problems } = readFleet(
                yaml.dump({
                    discover: { kubeconfig: "mgmt.kubeconfig" },
                    stacks: [{ name: "edge", kubeconfig: "edge.kubeconfig" }],
                }),
                context(),
            );
            assert.deepEqual(problems, []);
            assert.deepEqual(
                fleet!.stacks.map((s) => s.name),
                ["edge"],
            );
        });
    });

    it("stack names from the template", () => {
        assert.equal(stackNameFor("{namespace}-{name}", { namespace: "eksa-system", name: "w1" }), "eksa-system-w1");
        assert.equal(stackNameFor("metrics-{name}-{name}", { namespace: "n", name: "w" }), "metrics-w-w");
    });

    it("overrides merge maps key by key and replace the rest", () => {
        assert.deepEqual(
            mergeConfig(
                { components: { etcd: false, "kube-proxy": true }, readers: [{ a: 1 }], namespace: "m" },
                { components: { "kube-proxy": false }, readers: [], healthPort: 10300 },
            ),
            { components: { etcd: false, "kube-proxy": false }, readers: [], namespace: "m", healthPort: 10300 },
        );
    });

    describe("a Cluster's state", () => {
        it("provisioned (v1beta2 and v1beta1), or a control plane that is up without a phase", () => {
            assert.equal(clusterNotReady(cluster("a")), undefined);
            assert.equal(
                clusterNotReady({
                    apiVersion: "cluster.x-k8s.io/v1beta1",
                    metadata: { name: "b" },
                    status: { controlPlaneReady: true },
                }),
                undefined,
            );
        });

        it("paused, not provisioned or being deleted, with the reason", () => {
            assert.equal(clusterNotReady(cluster("a", { spec: { paused: true } })), "paused (spec.paused: true)");
            assert.equal(
                clusterNotReady({
                    ...cluster("a"),
                    metadata: { name: "a", annotations: { "cluster.x-k8s.io/paused": "" } },
                }),
                "paused (annotation cluster.x-k8s.io/paused)",
            );
            assert.equal(
                clusterNotReady(cluster("a", { status: { phase: "Provisioning" } })),
                "not provisioned (phase Provisioning)",
            );
            assert.equal(
                clusterNotReady(
                    cluster("a", {
                        status: {
                            phase: "Failed",
                            conditions: [{ type: "Available", status: "False", message: "no control plane" }],
                        },
                    }),
                ),
                "not provisioned (phase Failed: no control plane)",
            );
            assert.equal(
                clusterNotReady(cluster("a", { status: {} })),
                "not provisioned (no status.phase, status.initialization.controlPlaneInitialized not true)",
            );
            assert.match(
                clusterNotReady({
                    ...cluster("a"),
                    metadata: { name: "a", deletionTimestamp: "2026-12-07T10:00:00Z" },
                })!,
                /^being deleted/,
            );
        });

        it("reads fields the module's Cluster CRD has, in each version", () => {
            const crd = yaml.load(
                fs.readFileSync(
                    path.join(
                        clusterApiModuleDir(),
                        "core",
                        "config",
                        "crd",
                        "bases",
                        "cluster.x-k8s.io_clusters.yaml",
                    ),
                    "utf8",
                ),
            ) as { spec: { versions: { name: string; schema: { openAPIV3Schema: any } }[] } };
            for (const [version, fields] of Object.entries(CLUSTER_FIELDS)) {
                const schema = crd.spec.versions.find((v) => v.name === version)!.schema.openAPIV3Schema;
                for (const field of fields) {
                    const found = field.split(".").reduce((s: any, part) => s?.properties?.[part], schema);
                    assert.ok(found, `${version} ${field}`);
                }
            }
        });
    });

    describe("the plan from a listing", () => {
        const base = {
            kubeconfig: "mgmt.kubeconfig",
            selector: "metrics=on",
            config: { components: { etcd: false } },
            overrides: [{ selector: "tier=edge", config: { components: { "kube-proxy": false }, namespace: "edge" } }],
        };
        const on = { metrics: "on" };

        it("a stack per selected, ready cluster with a Secret; the others skipped with the reason", () => {
            const s = spec(base);
            const plan = planDiscovery(
                s,
                [
                    withSecret(cluster("core-1", { labels: on })),
                    withSecret(cluster("edge-1", { labels: { ...on, tier: "edge" } })),
                    withSecret(cluster("other", { labels: {} })),
                    {
                        object: cluster("no-secret", { labels: on }),
                        namespace: "eksa-system",
                        secret: { kind: "missing" },
                    },
                    {
                        object: cluster("no-value", { labels: on }),
                        namespace: "eksa-system",
                        secret: { kind: "found", value: undefined },
                    },
                    {
                        object: cluster("bad-value", { labels: on }),
                        namespace: "eksa-system",
                        secret: { kind: "found", value: "kind: Config\n" },
                    },
                    { object: cluster("paused", { labels: on, spec: { paused: true } }), namespace: "eksa-system" },
                    withSecret(cluster("mgmt", { labels: on }), MGMT_SERVER),
                ],
                [],
            );
            assert.deepEqual(plan.problems, []);
            assert.deepEqual(
                plan.stacks.map((d) => [d.name, d.cluster, d.kubeconfigSource, d.config]),
                [
                    [
                        "core-1",
                        "eksa-system/core-1",
                        "Secret eksa-system/core-1-kubeconfig",
                        { components: { etcd: false } },
                    ],
                    [
                        "edge-1",
                        "eksa-system/edge-1",
                        "Secret eksa-system/edge-1-kubeconfig",
                        { components: { etcd: false, "kube-proxy": false }, namespace: "edge" },
                    ],
                ],
            );
            assert.equal(plan.stacks[0].kubeconfig, kubeconfigFor("core-1", "https://10.1.6.1:6443"));
            assert.deepEqual(
                plan.skipped.map((k) => [k.stack, k.reason]),
                [
                    ["no-secret", "no kubeconfig Secret eksa-system/no-secret-kubeconfig"],
                    ["no-value", 'Secret eksa-system/no-value-kubeconfig has no key "value"'],
                    ["bad-value", "Secret eksa-system/bad-value-kubeconfig: its value has no usable current-context"],
                    ["paused", "paused (spec.paused: true)"],
                    [
                        "mgmt",
                        `the management cluster itself (its kubeconfig's server is ${MGMT_SERVER}; discover.managementCluster is false)`,
                    ],
                ],
            );
        });

        it("the management cluster is a stack when managementCluster is true, and must be there", () => {
            const s = spec({ ...base, managementCluster: true });
            const plan = planDiscovery(s, [withSecret(cluster("mgmt", { labels: on }), MGMT_SERVER)], []);
            assert.deepEqual(
                plan.stacks.map((d) => d.name),
                ["mgmt"],
            );
            assert.deepEqual(planDiscovery(s, [withSecret(cluster("w", { labels: on }))], []).problems, [
                `discover.managementCluster: true, but no selected Cluster's kubeconfig points at the management cluster (${MGMT_SERVER}). List it under stacks with its kubeconfig instead`,
            ]);
        });

        it("stops on a name taken twice or not a stack name, and on config the program refuses", () => {
            const s = spec({
                ...base,
                stackName: "{name}",
                overrides: [{ selector: "tier=bad", config: { healthPort: 70000 } }],
            });
            const plan = planDiscovery(
                s,
                [
                    withSecret(cluster("edge", { labels: on })),
                    withSecret(cluster("bad", { labels: { ...on, tier: "bad" } })),
                ],
                ["edge"],
            );
            assert.equal(plan.problems.length, 2, plan.problems.join("\n"));
            assert.equal(
                plan.problems[0],
                'discover: Cluster eksa-system/edge (stack edge): the stack name is also a stack of the fleet file\'s stacks list. Change discover.stackName (e.g. "{namespace}-{name}") or the stacks list',
            );
            assert.match(
                plan.problems[1],
                /^discover: Cluster eksa-system\/bad \(stack bad\): config \(discover.config and the overrides that match its labels\): .*healthPort/,
            );
        });

        it("gone: stacks this management cluster's discovery made whose Cluster is gone or no longer selected", () => {
            const s = spec(base);
            const listing = [
                withSecret(cluster("core-1", { labels: on })),
                withSecret(cluster("unselected", { labels: {} })),
                { object: cluster("paused", { labels: on, spec: { paused: true } }), namespace: "eksa-system" },
            ];
            const plan = planDiscovery(s, listing, []);
            const mark = (stack: string, cluster: string, management = MGMT_SERVER) => ({ stack, cluster, management });
            assert.deepEqual(
                goneStacks(
                    s,
                    [
                        mark("core-1", "eksa-system/core-1"),
                        mark("deleted", "eksa-system/deleted"),
                        mark("unselected", "eksa-system/unselected"),
                        mark("paused", "eksa-system/paused"),
                        mark("elsewhere", "eksa-system/x", "https://10.9.9.9:6443"),
                        mark("other-ns", "tenants/x"),
                    ],
                    listing,
                    plan,
                ),
                [
                    {
                        stack: "deleted",
                        cluster: "eksa-system/deleted",
                        clusterDeleted: true,
                        reason: "Cluster eksa-system/deleted no longer exists",
                    },
                    {
                        stack: "unselected",
                        cluster: "eksa-system/unselected",
                        clusterDeleted: false,
                        reason: "Cluster eksa-system/unselected is no longer in the fleet (discover.selector, stackName or managementCluster changed)",
                    },
                ],
            );
        });
    });
});
