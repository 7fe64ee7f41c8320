/**
 * The verification's cluster mode end to end: `pulumi up` of the project's program against the local
 * control plane, whose process kubelet runs the verification's pods on the pod network (each with its
 * own IP, curlimages/curl as the host's curl), then verify/main.ts run directly with the stack's plan:
 * a killed run's leftover deleted, a pod that cannot run named, SIGTERM cleaning up, the local mode.
 */
import { strict as assert } from "assert";
import { spawn } from "child_process";
import { LocalCluster, ProgramStack, REPO, Result, run } from "../../dev/localcluster/driver";
import { plannedCheckCount, verifiedPattern } from "../support/plannedChecks";
import { VERIFICATION_POD_LABEL, VERIFICATION_POD_NAME } from "../../verify/clusterPods";

const LABEL = `${VERIFICATION_POD_LABEL}=${VERIFICATION_POD_NAME}`;
const JWT = /eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/;

describe("the verification's cluster mode, end to end", function () {
    this.timeout(900_000);
    const cluster = new LocalCluster();
    const stack = new ProgramStack("cluster-mode");
    let plan: Record<string, unknown>;

    const verificationPods = async () =>
        (
            await cluster.mustKubectl(["get", "pods", "--all-namespaces", "--selector", LABEL, "--output", "name"])
        ).trim();
    /** Deletion is asked for without waiting: the kubelet confirms it within seconds. */
    const assertNoVerificationPods = async () => {
        for (let i = 0; i < 30 && (await verificationPods()) !== ""; i++) {
            await new Promise((resolve) => setTimeout(resolve, 500));
        }
        assert.equal(await verificationPods(), "", "every verification pod is gone");
    };
    const mainEnv = (overrides: Record<string, unknown> = {}, env: Record<string, string> = {}) => ({
        ...process.env,
        EKSA_METRICS_VERIFY_PLAN: JSON.stringify({ ...plan, ...overrides }),
        EKSA_METRICS_KUBECONFIG: cluster.kubeconfig(),
        ...env,
    });
    const verifyDirectly = (
        overrides: Record<string, unknown> = {},
        env: Record<string, string> = {},
    ): Promise<Result> =>
        run(["node", "--require", "ts-node/register/transpile-only", "verify/main.ts"], {
            cwd: REPO,
            env: mainEnv(overrides, env),
        });

    before(async () => {
        await cluster.up();
        await cluster.createDefaultReaders();
        // The reader's pod must pass Pod Security restricted, as in a namespace that enforces it.
        await cluster.mustKubectl([
            "label",
            "namespace",
            "observability",
            "pod-security.kubernetes.io/enforce=restricted",
        ]);
        await stack.init(cluster.kubeconfig());
    });

    after(async () => {
        await stack.destroy().catch(() => undefined);
        await cluster.down();
    });

    it("pulumi up verifies from pods in the cluster: 200 with the reader's token, 401/403 without, 403 unbound, on every node", async () => {
        const started = Date.now();
        const up = await stack.up();
        assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);
        const report: string = await stack.output("verificationReport");
        process.stdout.write(
            `      pulumi up ${((Date.now() - started) / 1000).toFixed(1)} s; the verification's report:\n${report.replace(/^/gm, "      | ")}\n`,
        );
        assert.match(report, verifiedPattern(await plannedCheckCount(stack, cluster), true));
        for (const component of ["kube-controller-manager", "kube-scheduler", "kube-proxy", "etcd"]) {
            assert.match(
                report,
                new RegExp(`^eksa-cp-1 +127\\.0\\.0\\.2 +${component} +authorised +ok +200 \\+ metrics$`, "m"),
            );
            assert.match(report, new RegExp(`^eksa-cp-1 +127\\.0\\.0\\.2 +${component} +unbound +ok +403$`, "m"));
        }
        assert.match(report, /^eksa-cp-1 +127\.0\.0\.2 +etcd +anonymous +ok +401$/m);
        assert.match(report, /^eksa-worker-1 +127\.0\.0\.3 +kube-proxy +unbound +ok +403$/m);
        assert.match(
            report,
            /from pods in the cluster \(cluster mode\): observability\/eksa-metrics-verify-\w+ \(token of observability\/prometheus-server\), eksa-metrics\/eksa-metrics-verify-unbound-\w+ \(token of eksa-metrics\/eksa-metrics-unbound\)\)$/m,
        );
        assert.doesNotMatch(report, JWT);
        await assertNoVerificationPods();
        plan = await stack.output("verificationPlan");
    });

    it("verify/main.ts deletes a killed run's leftover pod first, and prints no token", async () => {
        await cluster.mustKubectl([
            "run",
            "leftover",
            "--namespace",
            "eksa-metrics",
            "--image",
            "curlimages/curl:8.11.1",
            "--restart",
            "Never",
            "--labels",
            `${LABEL},eksa-metrics/verification-of=eksa-metrics`,
            "--command",
            "--",
            "sleep",
            "3600",
        ]);
        const started = Date.now();
        const result = await verifyDirectly();
        process.stdout.write(
            `      verify/main.ts (cluster mode) ${((Date.now() - started) / 1000).toFixed(1)} s: ${result.stdout.trim().split("\n").slice(-2).join(" / ")}\n`,
        );
        assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
        assert.match(result.stdout, verifiedPattern(await plannedCheckCount(stack, cluster), true));
        assert.doesNotMatch(`${result.stdout}${result.stderr}`, JWT);
        await assertNoVerificationPods();
    });

    it("runs the failing checks again in new rounds of pods until the deadline, then fails naming them", async () => {
        // A controller's pod that listens on nothing: its three checks fail, round after round (a connection
        // the local pod network drops now and then costs a round curl's 8 s --max-time: 20 s for two rounds at least).
        await cluster.mustKubectl([
            "run",
            "refuses",
            "--namespace",
            "default",
            "--image",
            "curlimages/curl:8.11.1",
            "--labels",
            "app=refuses",
            "--restart",
            "Never",
            "--command",
            "--",
            "sleep",
            "3600",
        ]);
        await cluster.mustKubectl([
            "wait",
            "pod/refuses",
            "--namespace",
            "default",
            "--for=jsonpath={.status.phase}=Running",
            "--timeout=60s",
        ]);
        const result = await verifyDirectly(
            { controllers: [{ name: "refuses", namespace: "default", selector: { app: "refuses" }, port: 8443 }] },
            { EKSA_METRICS_VERIFY_TIMEOUT_SECONDS: "20" },
        );
        await cluster.mustKubectl(["delete", "pod", "refuses", "--namespace", "default", "--wait=false"]);
        assert.equal(result.code, 1, `${result.stdout}\n${result.stderr}`);
        const failures =
            result.stdout.match(
                /^FAIL refuses on pod default\/refuses \(\S+\): (authorised|anonymous|unbound) https:\/\/\S+:8443\/metrics .*: no answer: .*\(after (\d+) attempts\)$/gm,
            ) ?? [];
        assert.equal(failures.length, 3, result.stdout);
        const rounds = Number(/after (\d+) attempts/.exec(failures[0])![1]);
        assert.ok(rounds >= 2, result.stdout);
        assert.match(result.stdout, /^verification failed: 3 of 23 checks failed$/m);
        const trailer = result.stdout.trim().split("\n").at(-1)!;
        assert.equal(
            trailer.match(/eksa-metrics-verify-/g)?.length,
            2 * rounds,
            `a reader's and an unbound pod per round: ${trailer}`,
        );
        await assertNoVerificationPods();
    });

    it("names a pod that cannot run, and deletes it", async () => {
        const result = await verifyDirectly({ image: "registry.example/no-such/curl:1" });
        assert.equal(result.code, 2, `${result.stdout}\n${result.stderr}`);
        assert.match(
            result.stderr,
            /^verification failed: verification pod (observability\/eksa-metrics-verify|eksa-metrics\/eksa-metrics-verify-unbound)-\w+ cannot run: ErrImageNeverPull/m,
        );
        await assertNoVerificationPods();
    });

    it("deletes its pods when it is stopped with SIGTERM", async () => {
        // A controller that accepts connections and never answers holds the pods until curl's --max-time.
        await cluster.mustKubectl([
            "run",
            "hangs",
            "--namespace",
            "default",
            "--image",
            "curlimages/curl:8.11.1",
            "--labels",
            "app=hangs",
            "--restart",
            "Never",
            "--command",
            "--",
            "python3",
            "-c",
            "import socket, time; s = socket.socket(); s.bind(('0.0.0.0', 8443)); s.listen(); time.sleep(3600)",
        ]);
        await cluster.mustKubectl([
            "wait",
            "pod/hangs",
            "--namespace",
            "default",
            "--for=jsonpath={.status.phase}=Running",
            "--timeout=60s",
        ]);
        const child = spawn("node", ["--require", "ts-node/register/transpile-only", "verify/main.ts"], {
            cwd: REPO,
            env: mainEnv({
                controllers: [{ name: "hangs", namespace: "default", selector: { app: "hangs" }, port: 8443 }],
            }),
            stdio: "ignore",
        });
        const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
        for (let i = 0; i < 60 && (await verificationPods()) === ""; i++) {
            await new Promise((resolve) => setTimeout(resolve, 250));
        }
        assert.notEqual(await verificationPods(), "", "a verification pod was made");
        const pods = JSON.parse(
            await cluster.mustKubectl(["get", "pods", "--all-namespaces", "--selector", LABEL, "--output", "json"]),
        ).items;
        for (const pod of pods) {
            assert.ok(
                !pod.spec.hostNetwork && pod.status.podIP && !cluster.nodeIPs.includes(pod.status.podIP),
                `${pod.metadata.name} runs on the pod network: ${pod.status.podIP}`,
            );
        }
        child.kill("SIGTERM");
        assert.equal(await exited, 143);
        await assertNoVerificationPods();
        await cluster.mustKubectl(["delete", "pod", "hangs", "--namespace", "default", "--wait=false"]);
    });

    it("still runs from this machine in local mode", async () => {
        const result = await verifyDirectly({}, { EKSA_METRICS_VERIFY_MODE: "local" });
        assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
        assert.match(result.stdout, verifiedPattern(await plannedCheckCount(stack, cluster), true));
        assert.match(result.stdout, /from this machine \(local mode\), token of observability\/prometheus-server\)$/m);
        assert.equal(await verificationPods(), "");
    });
});
