/**
 * End to end on a real control plane (localcluster/: etcd, kube-apiserver, kube-controller-manager
 * and kube-scheduler with delegated authn/authz, real kube-proxy, and a process kubelet running the
 * proxy pods' real haproxy and kube-rbac-proxy). The stack's objects are those the component
 * registers, applied with kubectl (the kubernetes provider plugin cannot be built here), and the
 * verification is the stack's own command, run as @pulumi/command runs it.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalCluster, Rendered, REPO, run } from "./cluster";

const JWT = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}/;
const CP = "eksa-cp-1 +127\\.0\\.0\\.2";
const WORKER = "eksa-worker-1 +127\\.0\\.0\\.3";

describe("end to end on a local control plane", function () {
    this.timeout(600_000);
    const cluster = new LocalCluster();
    let deployed: Rendered | undefined;

    before(async () => {
        await cluster.up();
        // The reader the design binds: Prometheus' service account.
        await cluster.mustKubectl(["create", "namespace", "observability"]);
        await cluster.mustKubectl(["create", "serviceaccount", "prometheus-server", "-n", "observability"]);
    });

    after(async () => {
        if (deployed) {
            await cluster.prune(deployed, undefined).catch(() => undefined);
        }
        await cluster.down();
    });

    it("rolls out and passes the verification against the real components on every node", async () => {
        deployed = await cluster.render({});
        await cluster.apply(deployed);
        const result = await cluster.verify(deployed);
        assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
        const text = result.stdout;
        assert.match(text, /verified: 15 checks passed/);
        for (const component of ["kube-controller-manager", "kube-scheduler", "kube-proxy", "etcd"]) {
            assert.match(text, new RegExp(`^${CP} +${component} +authorised +ok +200 \\+ metrics$`, "m"));
        }
        assert.match(text, new RegExp(`^${WORKER} +kube-proxy +authorised +ok +200 \\+ metrics$`, "m"));
        // kube-controller-manager / kube-scheduler refuse anonymous scrapes themselves (403); kube-rbac-proxy with 401.
        assert.match(text, new RegExp(`^${CP} +kube-controller-manager +anonymous +ok +403$`, "m"));
        assert.match(text, new RegExp(`^${CP} +etcd +anonymous +ok +401$`, "m"));
        assert.match(text, new RegExp(`^${CP} +kube-scheduler +off-path +ok +403$`, "m"));
        assert.match(text, new RegExp(`^${WORKER} +kube-proxy +off-path +ok +404$`, "m"));
        assert.doesNotMatch(text, new RegExp(`^${WORKER} +(kube-controller-manager|kube-scheduler|etcd)`, "m"));
    });

    it("never lets the reader's token reach the output, the objects or the command's inputs", async () => {
        const result = await cluster.verify(deployed!);
        assert.doesNotMatch(result.stdout + result.stderr, JWT);
        assert.doesNotMatch(JSON.stringify(deployed), JWT);
    });

    it("renders the same objects and verification inputs again, so a second up changes and re-runs nothing", async () => {
        const again = await cluster.render({});
        assert.deepEqual(again, deployed);
        const diff = await cluster.kubectl(["diff", "--server-side", "--field-manager=eksa-metrics-e2e", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: again.manifests }));
        assert.equal(diff.code, 0, `the cluster differs from the stack:\n${diff.stdout}${diff.stderr}`);
    });

    it("runs the same verification on demand (npm run verify), from the stack's outputs and config", async () => {
        // A stack whose state holds the outputs a `pulumi up` would have exported (imported, since
        // the provider plugins cannot run here), and whose config holds the kubeconfig as a secret.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eksa-on-demand-"));
        const env = { ...process.env, PULUMI_BACKEND_URL: `file://${dir}`, PULUMI_CONFIG_PASSPHRASE: "e2e-test-passphrase" };
        // The stack is made from a copy of Pulumi.yaml, so its config file lands there, not in the repo.
        fs.copyFileSync(path.join(REPO, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
        const configFile = path.join(dir, "Pulumi.on-demand.yaml");
        const plan = JSON.parse(deployed!.verification.environment.EKSA_METRICS_VERIFY_PLAN);
        const state = {
            version: 3,
            deployment: {
                manifest: { time: new Date().toISOString(), magic: "", version: "" },
                resources: [{ urn: "urn:pulumi:on-demand::eksa-metrics::pulumi:pulumi:Stack::eksa-metrics-on-demand", custom: false, type: "pulumi:pulumi:Stack", outputs: { verificationPlan: plan } }],
            },
        };
        fs.writeFileSync(path.join(dir, "state.json"), JSON.stringify(state));
        for (const [argv, input] of [
            [["stack", "init", "on-demand"]],
            [["stack", "import", "--file", path.join(dir, "state.json")]],
            [["config", "set", "--secret", "eksa-metrics:kubeconfig"], cluster.kubeconfig()],
        ] as [string[], string?][]) {
            const step = await run(["pulumi", ...argv, "--non-interactive"], { env, cwd: dir, input });
            assert.equal(step.code, 0, `pulumi ${argv.join(" ")}: ${step.stderr}`);
        }
        const verify = await run(["npm", "run", "--silent", "verify", "--", "--stack", "on-demand", "--config-file", configFile], { env });
        assert.equal(verify.code, 0, verify.stdout + verify.stderr);
        assert.match(verify.stdout, /verified: 15 checks passed/);
        assert.doesNotMatch(verify.stdout + verify.stderr, JWT);
    });

    it("fails naming 403 and every component when the reader binding is deleted out of band, and passes once restored", async () => {
        const binding = deployed!.manifests.find((m) => m.kind === "ClusterRoleBinding" && m.roleRef.name.includes("metrics-reader"));
        await cluster.mustKubectl(["delete", "clusterrolebinding", binding.metadata.name]);
        const broken = await cluster.verify({ ...deployed!, verification: { ...deployed!.verification, environment: withTimeout(deployed!, 15) } });
        assert.equal(broken.code, 1, broken.stdout + broken.stderr);
        for (const component of ["kube-controller-manager", "kube-scheduler", "kube-proxy", "etcd"]) {
            assert.match(broken.stdout, new RegExp(`^FAIL ${component} on node eksa-cp-1 \\(127\\.0\\.0\\.2\\): authorised https://eksa-metrics-metrics-proxy:\\d+/metrics with token: expected 200, got 403`, "m"));
        }
        assert.match(broken.stdout, /^FAIL kube-proxy on node eksa-worker-1 .*expected 200, got 403/m);
        await cluster.apply(deployed!);
        const restored = await cluster.verify(deployed!);
        assert.equal(restored.code, 0, restored.stdout + restored.stderr);
    });

    it("fails naming kube-controller-manager on the control-plane node when it stops, and passes once it is back", async () => {
        await cluster.stopComponent("kube-controller-manager");
        const broken = await cluster.verify({ ...deployed!, verification: { ...deployed!.verification, environment: withTimeout(deployed!, 15) } });
        assert.equal(broken.code, 1, broken.stdout + broken.stderr);
        assert.match(broken.stdout, /^FAIL kube-controller-manager on node eksa-cp-1 \(127\.0\.0\.2\): authorised .*: expected 200, got 503/m);
        assert.doesNotMatch(broken.stdout, /^FAIL (kube-scheduler|kube-proxy|etcd)/m);
        await cluster.up();
        const restored = await cluster.verify(deployed!);
        assert.equal(restored.code, 0, restored.stdout + restored.stderr);
    });

    it("rolls out a config change (etcd off, one more reader) and verifies it", async () => {
        const changed = await cluster.render({
            components: { etcd: false },
            readers: [{ kind: "ServiceAccount", name: "prometheus-server", namespace: "observability" }, { kind: "User", name: "alice" }],
        });
        assert.notDeepEqual(changed.verification.environment.EKSA_METRICS_VERIFY_PLAN, deployed!.verification.environment.EKSA_METRICS_VERIFY_PLAN, "the verification re-runs");
        await cluster.apply(changed);
        await cluster.prune(deployed!, changed);
        deployed = changed;
        const result = await cluster.verify(changed);
        assert.equal(result.code, 0, result.stdout + result.stderr);
        assert.match(result.stdout, /verified: 12 checks passed/);
        assert.doesNotMatch(result.stdout, / etcd /);
        const binding = changed.manifests.find((m) => m.kind === "ClusterRoleBinding" && m.roleRef.name.includes("metrics-reader"));
        const subjects = JSON.parse(await cluster.mustKubectl(["get", "clusterrolebinding", binding.metadata.name, "-o", "jsonpath={.subjects}"]));
        assert.deepEqual(subjects.map((s: any) => `${s.kind}/${s.name}`), ["ServiceAccount/prometheus-server", "User/alice"]);
        const pods = JSON.parse(await cluster.mustKubectl(["get", "pods", "-n", "eksa-metrics", "-o", "json"]));
        const containers = pods.items.flatMap((p: any) => p.spec.containers.map((c: any) => c.name));
        assert.ok(!containers.includes("rbac-proxy-etcd"), `etcd's gate still runs: ${containers}`);
    });

    it("leaves none of its objects behind when destroyed", async () => {
        await cluster.prune(deployed!, undefined);
        const left = deployed!;
        deployed = undefined;
        for (const m of left.manifests) {
            const got = await cluster.kubectl(["get", m.kind, m.metadata.name, ...(m.metadata.namespace ? ["-n", m.metadata.namespace] : []), "-o", "name"]);
            assert.notEqual(got.code, 0, `${m.kind} ${m.metadata.name} is still there`);
        }
        const pods = await cluster.mustKubectl(["get", "pods", "--all-namespaces", "-l", "app.kubernetes.io/name=eksa-metrics-proxy", "-o", "name"]);
        assert.equal(pods.trim(), "");
    });
});

/** The verification's environment with a shorter deadline, for the checks that are meant to fail. */
function withTimeout(rendered: Rendered, seconds: number): Record<string, string> {
    const plan = JSON.parse(rendered.verification.environment.EKSA_METRICS_VERIFY_PLAN);
    return { ...rendered.verification.environment, EKSA_METRICS_VERIFY_PLAN: JSON.stringify({ ...plan, timeoutSeconds: seconds }) };
}
