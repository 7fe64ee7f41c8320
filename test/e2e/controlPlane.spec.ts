/**
 * End to end through the real engine, as users run it: `pulumi up --policy-pack policy` of the
 * project's own program (index.ts) with the real kubernetes provider, against a real control plane
 * (dev/localcluster/: etcd, kube-apiserver, kube-controller-manager and kube-scheduler with
 * delegated authn/authz, real kube-proxy, a process kubelet running the proxy pods' real haproxy
 * and kube-rbac-proxy). The verification is the stack's own command, run by the command provider
 * (dev/command-standin/ where the real plugin is absent: the suite says which).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import { commandProvider, LocalCluster, mustRun, ProgramStack, REPO, Result, run } from "../../dev/localcluster/driver";
import { plannedCheckCount, verifiedPattern } from "../support/plannedChecks";
import { availableProxyDaemonSets } from "../support/daemonSets";

const CP = "eksa-cp-1 +127\\.0\\.0\\.2";
const WORKER = "eksa-worker-1 +127\\.0\\.0\\.3";
const COMPONENTS = ["kube-controller-manager", "kube-scheduler", "kube-proxy", "etcd"];
const READER = "system:serviceaccount:observability:prometheus-server";

/** Every JWT in `text` whose subject is the reader's service account (the verification's token). */
function readerTokens(text: string): string[] {
    return (text.match(/eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g) ?? []).filter((jwt) => {
        try {
            return JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString()).sub === READER;
        } catch {
            return false;
        }
    });
}

/** Collects every process's command line while `during` runs (the token must never be an argument). */
async function commandLinesDuring<T>(during: Promise<T>): Promise<{ result: T; lines: string }> {
    const seen = new Set<string>();
    let done = false;
    const poll = (async () => {
        while (!done) {
            for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
                try {
                    seen.add(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " "));
                } catch {
                    // gone already
                }
            }
            await new Promise((resolve) => setTimeout(resolve, 50));
        }
    })();
    const result = await during;
    done = true;
    await poll;
    return { result, lines: [...seen].join("\n") };
}

const text = (r: Result) => `${r.stdout}\n${r.stderr}`;

describe(`end to end through the real engine (command provider: ${commandProvider().kind})`, function () {
    this.timeout(900_000);
    const cluster = new LocalCluster();
    const stack = new ProgramStack("e2e");
    const seen: string[] = [];
    let kinds: { kind: string; name: string; namespace?: string }[] = [];
    /** The Kubernetes objects the stack's state holds now. */
    const recorded = async () =>
        JSON.parse(await stack.mustPulumi(["stack", "export"]))
            .deployment.resources.filter(
                (r: any) => r.type.startsWith("kubernetes:") && r.type !== "pulumi:providers:kubernetes",
            )
            .map((r: any) => ({
                kind: r.outputs.kind,
                name: r.outputs.metadata.name,
                namespace: r.outputs.metadata.namespace,
            }));

    before(async () => {
        await cluster.up();
        await cluster.createDefaultReaders();
        await stack.init(cluster.kubeconfig());
    });

    after(async () => {
        await stack.destroy().catch(() => undefined);
        await cluster.down();
    });

    it("pulumi up --policy-pack policy rolls out, awaits the DaemonSets and passes the verification on every node", async () => {
        const { result: up, lines } = await commandLinesDuring(stack.up());
        seen.push(text(up), lines);
        assert.equal(up.code, 0, text(up));
        assert.match(
            up.stdout,
            /Policies:\s+✅ \S+@v\S+ \(local: \S+\/policy\)/,
            "the pack ran in the update's preview",
        );
        assert.doesNotMatch(up.stdout, /skipAwait/);
        const report: string = await stack.output("verificationReport");
        seen.push(report);
        assert.match(report, verifiedPattern(await plannedCheckCount(stack, cluster)));
        for (const component of COMPONENTS) {
            assert.match(report, new RegExp(`^${CP} +${component} +authorised +ok +200 \\+ metrics$`, "m"));
        }
        assert.match(report, new RegExp(`^${WORKER} +kube-proxy +authorised +ok +200 \\+ metrics$`, "m"));
        // haproxy refuses anonymous scrapes as the port did before it checked: 403 as kube-controller-manager /
        // kube-scheduler, 401 as kube-rbac-proxy.
        assert.match(report, new RegExp(`^${CP} +kube-controller-manager +anonymous +ok +403$`, "m"));
        assert.match(report, new RegExp(`^${CP} +etcd +anonymous +ok +401$`, "m"));
        assert.match(report, new RegExp(`^${CP} +kube-scheduler +off-path +ok +403$`, "m"));
        assert.match(report, new RegExp(`^${WORKER} +kube-proxy +off-path +ok +403$`, "m"));
        assert.doesNotMatch(report, new RegExp(`^${WORKER} +(kube-controller-manager|kube-scheduler|etcd)`, "m"));
        // The provider awaited the rollout: every DaemonSet is fully available when up returns.
        for (const ds of await availableProxyDaemonSets(cluster, "eksa-metrics")) {
            assert.equal(ds.metadata.annotations?.["pulumi.com/skipAwait"], undefined);
        }
    });

    it("pulumi stack output caCertificate writes the PEM, as the README's quick start has users save it", async () => {
        const out = await stack.mustPulumi(["stack", "output", "caCertificate"]);
        assert.match(out, /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n+$/);
        const file = `${stack.dir}/eksa-metrics-ca.crt`;
        fs.writeFileSync(file, out);
        assert.match(await mustRun(["openssl", "x509", "-in", file, "-noout", "-subject"]), /eksa-metrics proxy CA/);
        const served = await cluster.mustKubectl([
            "get",
            "secrets",
            "-n",
            "eksa-metrics",
            "-o",
            "jsonpath={.items[*].data.ca\\.crt}",
        ]);
        assert.equal(
            Buffer.from(served.trim(), "base64").toString().trim(),
            out.trim(),
            "the CA the proxy's Secret holds",
        );
    });

    it("a second up changes nothing and preview --diff shows nothing", async () => {
        const again = await stack.up("--expect-no-changes");
        seen.push(text(again));
        assert.equal(again.code, 0, text(again));
        const preview = await stack.preview("--diff", "--expect-no-changes");
        seen.push(text(preview));
        assert.equal(preview.code, 0, text(preview));
        assert.doesNotMatch(preview.stdout, /^\s*[~+-]{1,2} /m, "no step in the diff");
    });

    it("runs the same verification on demand (npm run verify), from the stack's outputs and config", async () => {
        const verify = await run(["npm", "run", "--silent", "verify", "--", "--stack", stack.name], {
            cwd: stack.dir,
            env: stack.env,
        });
        seen.push(text(verify));
        assert.equal(verify.code, 0, text(verify));
        assert.match(verify.stdout, verifiedPattern(await plannedCheckCount(stack, cluster)));
    });

    it("never lets the reader's token reach the state, the outputs, the engine's output or process arguments", async () => {
        const exported = await stack.mustPulumi(["stack", "export", "--show-secrets"]);
        kinds = await recorded();
        const command = JSON.parse(exported).deployment.resources.find(
            (r: any) => r.type === "command:local:Command" && r.urn.endsWith("-verify"),
        );
        assert.match(
            command.outputs.stdout.plaintext ?? JSON.stringify(command.outputs.stdout),
            verifiedPattern(await plannedCheckCount(stack, cluster)),
            "the export holds the command's recorded outputs",
        );
        seen.push(
            exported,
            await stack.mustPulumi(["stack", "export"]),
            await stack.mustPulumi(["stack", "output", "--json", "--show-secrets"]),
        );
        assert.deepEqual(readerTokens(seen.join("\n")), []);
        // The check above would find one: a token of the reader printed by kubectl matches.
        const sample = (
            await cluster.mustKubectl(["create", "token", "prometheus-server", "-n", "observability", "--duration=10m"])
        ).trim();
        assert.deepEqual(readerTokens(`x ${sample} y`), [sample]);
    });

    it("fails naming 403 and the components when the reader binding is deleted out of band; up --refresh restores and verifies it", async () => {
        const binding = kinds.find((k) => k.kind === "ClusterRoleBinding" && k.name.includes("metrics-reader"))!;
        await cluster.mustKubectl(["delete", "clusterrolebinding", binding.name]);
        const broken = await run(
            ["npm", "run", "--silent", "verify", "--", "--stack", stack.name, "--timeout-seconds", "15"],
            {
                cwd: stack.dir,
                env: stack.env,
            },
        );
        assert.equal(broken.code, 1, text(broken));
        for (const component of COMPONENTS) {
            assert.match(
                broken.stdout,
                new RegExp(
                    `^FAIL ${component} on node eksa-cp-1 \\(127\\.0\\.0\\.2\\): authorised https://eksa-metrics-metrics-proxy:\\d+/metrics with the reader's token: expected 200, got 403`,
                    "m",
                ),
            );
        }
        assert.match(broken.stdout, /^FAIL kube-proxy on node eksa-worker-1 .*expected 200, got 403/m);
        const restored = await stack.up("--refresh");
        assert.equal(restored.code, 0, text(restored));
        assert.match(restored.stdout, /\+ +.*ClusterRoleBinding.*create/, "the binding is created again");
        assert.match(restored.stdout, /~ +command:local:Command +eksa-metrics-verify +update/, "and verified again");
        assert.match(
            await stack.output("verificationReport"),
            verifiedPattern(await plannedCheckCount(stack, cluster)),
        );
    });

    it("the next up that verifies fails naming kube-controller-manager and the node when it is stopped, and passes once it is back", async () => {
        await cluster.stopComponent("kube-controller-manager");
        try {
            // A config change re-runs the verification (here its deadline, kept short for the failure).
            stack.setConfig({ verify: { timeoutSeconds: 20 } });
            const broken = await stack.up();
            assert.notEqual(broken.code, 0, text(broken));
            assert.match(
                text(broken),
                /FAIL kube-controller-manager on node eksa-cp-1 \(127\.0\.0\.2\): authorised .*: expected 200, got 503/,
            );
            assert.doesNotMatch(text(broken), /FAIL (kube-scheduler|kube-proxy|etcd)/);
        } finally {
            // Without kube-controller-manager no DaemonSet rolls: a failure here must not hang the next tests.
            await cluster.up();
        }
        const restored = await stack.up();
        assert.equal(restored.code, 0, text(restored));
        assert.match(
            await stack.output("verificationReport"),
            verifiedPattern(await plannedCheckCount(stack, cluster)),
        );
    });

    it("rolls out a config change (etcd off, one more reader) and verifies it, the token nowhere in the engine's log", async () => {
        stack.setConfig({
            components: { etcd: false },
            readers: [
                { kind: "ServiceAccount", name: "prometheus-server", namespace: "observability" },
                { kind: "User", name: "alice" },
            ],
        });
        // With the engine's own log on stderr, at its most verbose: the token must not be there either.
        const up = await stack.up("--logtostderr", "-v=9");
        assert.equal(up.code, 0, text(up).slice(-5000));
        assert.match(
            up.stderr,
            /^\{"time":"[^"]+","level":"(INFO|DEBUG)"/m,
            "the engine's log (JSON lines) is in the output",
        );
        assert.deepEqual(readerTokens(text(up)), []);
        const report: string = await stack.output("verificationReport");
        assert.match(report, verifiedPattern(await plannedCheckCount(stack, cluster)));
        assert.doesNotMatch(report, / etcd /);
        const bindings = JSON.parse(
            await cluster.mustKubectl(["get", "clusterrolebindings", "-o", "json"]),
        ).items.filter((b: any) => b.roleRef.name.includes("metrics-reader"));
        assert.equal(bindings.length, 1);
        assert.deepEqual(
            bindings[0].subjects.map((s: any) => `${s.kind}/${s.name}`),
            ["ServiceAccount/prometheus-server", "User/alice"],
        );
        const pods = JSON.parse(await cluster.mustKubectl(["get", "pods", "-n", "eksa-metrics", "-o", "json"]));
        const containers = pods.items.flatMap((p: any) => p.spec.containers.map((c: any) => c.name));
        assert.ok(!containers.includes("rbac-proxy-etcd"), `etcd's kube-rbac-proxy still runs: ${containers}`);
    });

    it("pulumi destroy leaves none of its objects behind", async () => {
        kinds = await recorded();
        assert.deepEqual(
            [...new Set(kinds.map((k) => k.kind))].sort(),
            ["ClusterRole", "ClusterRoleBinding", "ConfigMap", "DaemonSet", "Namespace", "Secret", "ServiceAccount"],
            JSON.stringify(kinds),
        );
        const destroyed = await stack.destroy();
        assert.equal(destroyed.code, 0, text(destroyed));
        for (const k of kinds) {
            const got = await cluster.kubectl([
                "get",
                k.kind,
                k.name,
                ...(k.namespace ? ["-n", k.namespace] : []),
                "-o",
                "name",
            ]);
            assert.notEqual(got.code, 0, `${k.kind} ${k.name} is still there`);
        }
        const pods = await cluster.mustKubectl([
            "get",
            "pods",
            "--all-namespaces",
            "-l",
            "app.kubernetes.io/name=eksa-metrics-proxy",
            "-o",
            "name",
        ]);
        assert.equal(pods.trim(), "");
        assert.ok(!fs.existsSync(`${REPO}/Pulumi.${stack.name}.yaml`), "no stack file in the repository");
    });
});
