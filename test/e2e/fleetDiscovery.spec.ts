/**
 * Discovery from a management cluster, end to end: one local control plane is the management
 * cluster (the module's real Cluster API CRDs, Cluster objects and their kubeconfig Secrets in
 * eksa-system) and, split by component, every cluster of the fleet too: the management cluster's
 * own Cluster points at it as https://127.0.0.1:6443 (the management kubeconfig's server), the
 * workload Clusters' Secrets as https://localhost:6443, so each is a cluster of its own to the
 * discovery while sharing one control plane (one `up.sh`, as CI's time is counted).
 *
 * Run 1 deploys and verifies the management cluster's stack and one workload's, skips a Cluster
 * without its Secret and a paused one with their reasons, and leaves an unselected one alone; a
 * Cluster added before run 2 gets its stack there, and one deleted is reported gone; run 3 with
 * --prune destroys it (a preview first). Each run's --json summary is parsed and checked.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { applyCapiCrds } from "../../dev/localcluster/capi";
import {
    LocalCluster,
    ONLY_KUBE_PROXY,
    ProgramStack,
    run,
    STACK_PASSPHRASE,
    writeProjectMirror,
} from "../../dev/localcluster/driver";
import { main } from "../../fleet/main";

const NS = "eksa-system";
const DISCOVERY_ACCOUNT = "eksa-metrics-fleet-discovery";

describe("fleet discovery from a management cluster (Cluster API CRDs, kubeconfig Secrets)", function () {
    this.timeout(1_500_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eksa-fleet-discovery-"));
    const project = path.join(dir, "project");
    const state = path.join(dir, "state");
    const cluster = new LocalCluster(path.join(dir, "cluster"));
    const envVars = { PULUMI_BACKEND_URL: `file://${state}`, PULUMI_CONFIG_PASSPHRASE: STACK_PASSPHRASE };
    const fleetFile = path.join(dir, "fleet.yaml");
    const discoveryKubeconfig = path.join(dir, "discovery.kubeconfig");
    const stack = (name: string) => new ProgramStack(name, { dir: project, backendDir: state });

    /** A provisioned Cluster with labels, and its Secret when `server` is given. */
    async function addCluster(name: string, labels: Record<string, string>, server?: string, paused = false) {
        await cluster.mustKubectl(
            ["apply", "-f", "-"],
            JSON.stringify({
                apiVersion: "cluster.x-k8s.io/v1beta2",
                kind: "Cluster",
                metadata: { name, namespace: NS, labels },
                spec: { paused },
            }),
        );
        await cluster.mustKubectl([
            "patch",
            "clusters.cluster.x-k8s.io",
            name,
            "-n",
            NS,
            "--subresource=status",
            "--type=merge",
            "-p",
            JSON.stringify({ status: { phase: "Provisioned", initialization: { controlPlaneInitialized: true } } }),
        ]);
        if (server !== undefined) {
            const kubeconfig = cluster.kubeconfig().replace(/server: https:\/\/\S+/, `server: ${server}`);
            await cluster.mustKubectl(
                ["apply", "-f", "-"],
                JSON.stringify({
                    apiVersion: "v1",
                    kind: "Secret",
                    type: "cluster.x-k8s.io/secret",
                    metadata: {
                        name: `${name}-kubeconfig`,
                        namespace: NS,
                        labels: { "cluster.x-k8s.io/cluster-name": name },
                    },
                    data: { value: Buffer.from(kubeconfig).toString("base64") },
                }),
            );
        }
    }

    async function fleetRun(extra: string[], name: string) {
        const lines: string[] = [];
        const json = path.join(dir, `${name}.json`);
        const code = await main([fleetFile, "--log-dir", path.join(dir, `logs-${name}`), "--json", json, ...extra], {
            projectDir: project,
            envVars,
            out: (t) => lines.push(t),
            err: (t) => lines.push(t),
        });
        const output = lines.join("\n");
        console.log(
            output
                .split("\n")
                .filter((l) => /^(fleet:|stack|mgmt|w-|skipped|gone|  )/.test(l))
                .map((l) => `      ${l}`)
                .join("\n"),
        );
        const summary = fs.existsSync(json) ? JSON.parse(fs.readFileSync(json, "utf8")) : undefined;
        // A stack that did not come out right: the end of its log, to read in the test's output.
        for (const s of summary?.stacks ?? []) {
            if (!["verified", "destroyed"].includes(s.status)) {
                const tail = fs.readFileSync(s.logFile, "utf8").split("\n").slice(-40);
                console.log(`      ${s.stack}.log:\n${tail.map((l) => `        ${l}`).join("\n")}`);
            }
        }
        return { code, output, summary };
    }
    const byStack = (summary: any, name: string) => summary.stacks.find((s: any) => s.stack === name);

    let first: Awaited<ReturnType<typeof fleetRun>>;
    let second: Awaited<ReturnType<typeof fleetRun>>;

    before(async () => {
        await cluster.up();
        await cluster.createDefaultReaders();
        await applyCapiCrds(cluster);
        await cluster.mustKubectl(["create", "namespace", NS]);
        // The discovery reads the management cluster with the shipped RBAC's account only.
        await cluster.mustKubectl(["apply", "-f", path.join(__dirname, "..", "..", "fleet", "rbac", "discovery.yaml")]);
        const token = (
            await cluster.mustKubectl(["-n", NS, "create", "token", DISCOVERY_ACCOUNT, "--duration=2h"])
        ).trim();
        const admin = yaml.load(cluster.kubeconfig()) as any;
        admin.users = [{ name: DISCOVERY_ACCOUNT, user: { token } }];
        admin.contexts[0].context.user = DISCOVERY_ACCOUNT;
        fs.writeFileSync(discoveryKubeconfig, yaml.dump(admin), { mode: 0o600 });
        const on = { "eksa-metrics": "on" };
        await addCluster("mgmt", { ...on, part: "controllers" }, cluster.apiServer);
        await addCluster("w-proxy", { ...on, part: "proxy" }, "https://localhost:6443");
        await addCluster("w-nosecret", on);
        await addCluster("w-paused", on, "https://localhost:6443", true);
        await addCluster("unselected", {}, "https://localhost:6443");
        fs.mkdirSync(project);
        fs.mkdirSync(state);
        writeProjectMirror(project);
        fs.writeFileSync(
            fleetFile,
            yaml.dump({
                concurrency: 2,
                discover: {
                    kubeconfig: discoveryKubeconfig,
                    namespaces: [NS],
                    selector: "eksa-metrics=on",
                    stackName: "{name}",
                    managementCluster: true,
                    config: { components: { "kube-proxy": false, etcd: false } },
                    overrides: [
                        {
                            selector: "part=proxy",
                            config: {
                                components: { ...ONLY_KUBE_PROXY, "kube-proxy": true },
                                namespace: "eksa-metrics-proxy",
                                // Every stack's haproxy answers health on its own port: these
                                // "clusters" share nodes, and the preflight refuses a port held.
                                healthPort: 10264,
                            },
                        },
                        {
                            selector: "part=etcd",
                            config: {
                                components: { "kube-controller-manager": false, "kube-scheduler": false, etcd: true },
                                namespace: "eksa-metrics-etcd",
                                healthPort: 10265,
                            },
                        },
                    ],
                },
            }),
        );
        first = await fleetRun([], "first");
    });

    after(async () => {
        for (const name of ["mgmt", "w-proxy", "w-etcd"]) {
            await stack(name)
                .destroy()
                .catch(() => undefined);
        }
        await cluster.down();
    });

    it("run 1: deploys and verifies each discovered cluster's stack, the kubeconfig from its Secret", async () => {
        assert.equal(first.code, 0, first.output);
        for (const name of ["mgmt", "w-proxy"]) {
            const s = byStack(first.summary, name);
            assert.equal(s.status, "verified", JSON.stringify(s));
            assert.equal(s.cluster, `${NS}/${name}`);
            assert.ok(s.changes.create > 0, JSON.stringify(s.changes));
            assert.match(s.verification.verdict, /^verified: \d+ checks passed$/);
            // From the tlsRenewal output the runner read in the CLI's engine events: a new certificate, renewed in days.
            assert.ok(
                Number.isInteger(s.certificateRenewalDays) && s.certificateRenewalDays > 0,
                JSON.stringify(s.certificateRenewalDays),
            );
            assert.equal(s.error, null);
            const config = fs.readFileSync(path.join(project, `Pulumi.${name}.yaml`), "utf8");
            assert.match(config, /eksa-metrics:kubeconfig:\n\s+secure: v1:/);
            assert.match(config, new RegExp(`eksa-metrics-fleet:cluster: ${NS}/${name}`));
            assert.doesNotMatch(config, /client-key-data/);
        }
        assert.equal(first.summary.stacks.length, 2, "the unselected Cluster is no stack");
        const proxy = await cluster.mustKubectl(["get", "daemonsets", "-n", "eksa-metrics-proxy", "-o", "name"]);
        assert.match(proxy, /daemonset/);
    });

    it("the shipped RBAC lets the discovery read Clusters and get Secrets in eksa-system, nothing else", async () => {
        const can = async (...args: string[]) =>
            (await run(["kubectl", "--kubeconfig", discoveryKubeconfig, "auth", "can-i", ...args])).stdout.trim();
        assert.equal(await can("list", "clusters.cluster.x-k8s.io", "-n", NS), "yes");
        assert.equal(await can("get", "secrets", "-n", NS), "yes");
        for (const denied of [
            ["list", "secrets", "-n", NS],
            ["watch", "secrets", "-n", NS],
            ["update", "clusters.cluster.x-k8s.io", "-n", NS],
            ["get", "secrets", "-n", "kube-system"],
            ["get", "configmaps", "-n", NS],
        ]) {
            assert.equal(await can(...denied), "no", denied.join(" "));
        }
    });

    it("run 1: a Cluster without its Secret and a paused one are skipped with their reasons", () => {
        assert.deepEqual(
            first.summary.skipped.map((s: any) => [s.stack, s.reason]),
            [
                ["w-nosecret", `no kubeconfig Secret ${NS}/w-nosecret-kubeconfig`],
                ["w-paused", "paused (spec.paused: true)"],
            ],
        );
        assert.match(first.output, /^ {2}eksa-system\/w-nosecret \(stack w-nosecret\): no kubeconfig Secret/m);
        assert.equal(first.summary.exitCode, 0);
    });

    it("run 2: a Cluster added gets its stack; a deleted one is reported gone and left standing", async () => {
        await addCluster("w-etcd", { "eksa-metrics": "on", part: "etcd" }, "https://localhost:6443");
        await cluster.mustKubectl(["delete", "clusters.cluster.x-k8s.io", "w-proxy", "-n", NS]);
        await cluster.mustKubectl(["delete", "secret", "w-proxy-kubeconfig", "-n", NS]);
        second = await fleetRun([], "second");
        assert.equal(second.code, 0, second.output);
        assert.deepEqual(second.summary.stacks.map((s: any) => [s.stack, s.status]).sort(), [
            ["mgmt", "verified"],
            ["w-etcd", "verified"],
        ]);
        assert.ok(byStack(second.summary, "w-etcd").changes.create > 0);
        assert.deepEqual(second.summary.gone, [
            { stack: "w-proxy", cluster: `${NS}/w-proxy`, reason: `Cluster ${NS}/w-proxy no longer exists` },
        ]);
        assert.match(second.output, /^gone \(run with --prune/m);
        assert.match(
            await cluster.mustKubectl(["get", "daemonsets", "-n", "eksa-metrics-proxy", "-o", "name"]),
            /daemonset/,
        );
    });

    it("run 3, --prune: the gone stack is previewed, destroyed and removed", async () => {
        const third = await fleetRun(["--prune", "--stacks", "w-proxy"], "third");
        assert.equal(third.code, 0, third.output);
        const s = byStack(third.summary, "w-proxy");
        assert.deepEqual([s.kind, s.status, s.preview, s.up], ["destroy", "destroyed", "ok", "ok"], JSON.stringify(s));
        assert.ok(s.changes.delete > 0, JSON.stringify(s.changes));
        const log = fs.readFileSync(s.logFile, "utf8");
        assert.match(log, /\[fleet\] destroy preview succeeded: -\d+\n[\s\S]*\[fleet\] destroy started/);
        const left = await cluster.mustKubectl([
            "get",
            "daemonsets,roles,rolebindings",
            "-n",
            "eksa-metrics-proxy",
            "-o",
            "name",
        ]);
        assert.equal(left.trim(), "", "the gone stack's objects are deleted");
        const ws = await LocalWorkspace.create({ workDir: project, envVars });
        assert.deepEqual(
            (await ws.listStacks()).map((x) => x.name).sort(),
            ["mgmt", "w-etcd"],
            "the gone stack is removed",
        );
        assert.equal(third.summary.gone.length, 0);
    });
});
