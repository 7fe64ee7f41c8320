import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    BODY_LIMIT,
    parsePodLog,
    podManifest,
    podProgress,
    podRuns,
    podScript,
    RESULT_MARKER,
} from "../../verify/clusterPods";
import { Answer, Check, judge, planChecks, VerificationPlan } from "../../verify/plan";
import { curlArguments } from "../../verify/probe";
import { runRounds } from "../../verify/run";
import { PLAN } from "./plan.spec";
import { ClusterNode, ControllerPod } from "../../core/kubernetes";

const cp: ClusterNode = {
    name: "cp-1",
    internalIP: "10.0.0.2",
    labels: { "node-role.kubernetes.io/control-plane": "" },
    taints: [],
};
const CONTROLLER_PLAN: VerificationPlan = {
    ...PLAN,
    controllers: [{ name: "capi", namespace: "capi-system", selector: { app: "capi" }, port: 8443 }],
};
const capiPod: ControllerPod = { controller: "capi", namespace: "capi-system", name: "capi-0", podIP: "192.168.0.7" };
const checks = planChecks(CONTROLLER_PLAN, [cp], [capiPod]).checks;

/** Answers as the proxy and the components do, by port, from the header file curl was given. */
const FAKE_CURL = `#!/bin/sh
printf '%s\\n' "$*" >> "$ARGV_LOG"
dump= auth= url=
while [ $# -gt 0 ]; do
  case $1 in
    --dump-header) dump=$2; shift 2 ;;
    --header) auth=$(cat "\${2#@}"); shift 2 ;;
    --cacert|--resolve|--max-time|--output|--write-out) shift 2 ;;
    https://*) url=$1; shift ;;
    *) shift ;;
  esac
done
case $url in
  *:2381/*) echo "curl: (7) Failed to connect to 10.0.0.2 port 2381: Connection refused" >&2; printf '\\n000'; exit 7 ;;
esac
case $auth in
  "Authorization: Bearer reader-token") code=200 ;;
  "Authorization: Bearer unbound-token") code=403 ;;
  "") code=401 ;;
  *) code=400 ;;
esac
case $url in */debug/pprof/) code=403 ;; esac
printf 'HTTP/1.1 %s X\\r\\nX-Eksa-Metrics-Proxy: refused\\r\\n\\r\\n' "$code" > "$dump"
if [ "$code" = 200 ]; then
  case $url in
    *:10249/*) i=0; while [ $i -lt 4000 ]; do printf 'rest_client_requests_total{code="200",n="%s"} 42\\n' $i; i=$((i+1)); done ;;
    *) printf '# TYPE up gauge\\nup 1\\n' ;;
  esac
fi
printf '\\n%s' "$code"
`;

describe("cluster mode: pods, script, logs", () => {
    it("runs the reader's and no-token checks as the reader, the unbound ones as the unbound account, each in its namespace", () => {
        const runs = podRuns(PLAN, checks);
        assert.deepEqual(
            runs.map((r) => [r.namespace, r.serviceAccount, r.credential]),
            [
                ["observability", "prometheus-server", "reader"],
                ["eksa-metrics", "eksa-metrics-unbound", "unbound"],
            ],
        );
        assert.ok(runs[0].checks.every((i) => checks[i].credential !== "unbound"));
        assert.ok(runs[1].checks.every((i) => checks[i].credential === "unbound"));
        assert.equal(runs[0].checks.length + runs[1].checks.length, checks.length);
        assert.deepEqual(
            podRuns(
                PLAN,
                checks.filter((c) => c.credential === "none"),
            ).map((r) => r.credential),
            ["reader"],
            "no pod without a check",
        );
    });

    it("makes a pod Pod Security restricted admits, with only its own short-lived token mounted", () => {
        const run = podRuns(PLAN, checks)[0];
        const pod = podManifest({
            plan: { ...CONTROLLER_PLAN, tolerations: [{ key: "gpu", operator: "Exists" }] },
            checks,
            run,
            activeDeadlineSeconds: 90,
            runId: "0a1b2c3d",
        }) as any;
        assert.equal(pod.metadata.namespace, "observability");
        assert.equal(pod.metadata.generateName, "eksa-metrics-verify-");
        assert.deepEqual(pod.metadata.labels, {
            "app.kubernetes.io/name": "eksa-metrics-verification",
            "app.kubernetes.io/managed-by": "eksa-metrics",
            "eksa-metrics/verification-of": "eksa-metrics",
            "eksa-metrics/verification-run": "0a1b2c3d",
        });
        const spec = pod.spec;
        assert.equal(spec.serviceAccountName, "prometheus-server");
        assert.equal(spec.automountServiceAccountToken, false);
        assert.equal(spec.restartPolicy, "Never");
        assert.equal(spec.activeDeadlineSeconds, 90);
        assert.deepEqual(spec.securityContext, {
            runAsNonRoot: true,
            runAsUser: 65534,
            runAsGroup: 65534,
            fsGroup: 65534,
            seccompProfile: { type: "RuntimeDefault" },
        });
        assert.deepEqual(
            spec.tolerations.map((t: { key: string }) => t.key),
            ["node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master", "gpu"],
        );
        const [container] = spec.containers;
        assert.equal(container.image, "curlimages/curl:8.11.1");
        assert.deepEqual(container.command.slice(0, 2), ["/bin/sh", "-c"]);
        assert.deepEqual(container.securityContext, {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
        });
        assert.deepEqual(
            container.env.map((e: { name: string }) => e.name),
            ["EKSA_METRICS_CA"],
        );
        assert.deepEqual(spec.volumes, [
            { name: "tmp", emptyDir: {} },
            {
                name: "token",
                projected: { sources: [{ serviceAccountToken: { path: "token", expirationSeconds: 600 } }] },
            },
        ]);
        assert.deepEqual(
            container.volumeMounts.map((m: { mountPath: string }) => m.mountPath),
            ["/tmp", "/var/run/secrets/eksa-metrics"],
        );
        const unbound = podManifest({
            plan: PLAN,
            checks,
            run: podRuns(PLAN, checks)[1],
            activeDeadlineSeconds: 90,
            runId: "0a1b2c3d",
        }) as any;
        assert.equal(unbound.metadata.namespace, "eksa-metrics");
        assert.equal(unbound.spec.serviceAccountName, "eksa-metrics-unbound");
        assert.equal(unbound.metadata.generateName, "eksa-metrics-verify-unbound-");
    });

    it("passes curl the local mode's arguments, with the pod's files", () => {
        const run = podRuns(PLAN, checks)[0];
        const script = podScript(CONTROLLER_PLAN, checks, run, "/tmp", "/token");
        const args = curlArguments(
            CONTROLLER_PLAN,
            checks[0],
            { dir: "/tmp", caFile: "/tmp/ca.crt", authHeaderFiles: { reader: "/tmp/authorization" } },
            "/tmp/0.h",
        );
        assert.ok(script.includes(`check 0 ${args.map((a) => `'${a}'`).join(" ")} &`), script);
        assert.ok(!/Bearer \$|TOKEN=/.test(script), "the header is built from the file, never from a variable");
    });

    describe("the script, run by sh against a stand-in curl", () => {
        let dir: string;
        const answersOf = (credential: "reader" | "unbound", token: string) => {
            const run = podRuns(CONTROLLER_PLAN, checks).find((r) => r.credential === credential)!;
            const work = fs.mkdtempSync(path.join(dir, "tmp-"));
            fs.writeFileSync(path.join(dir, "token"), `${token}\n`);
            const log = execFileSync(
                "sh",
                ["-c", podScript({ ...CONTROLLER_PLAN, concurrency: 3 }, checks, run, work, path.join(dir, "token"))],
                {
                    encoding: "utf8",
                    env: {
                        ...process.env,
                        PATH: `${path.join(dir, "bin")}:${process.env.PATH}`,
                        EKSA_METRICS_CA: "-----BEGIN CERTIFICATE-----\nCA\n",
                        ARGV_LOG: path.join(dir, "argv"),
                    },
                },
            );
            return { run, work, log, answers: parsePodLog(log, run, "pod ended") };
        };

        before(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "cluster-mode-"));
            fs.mkdirSync(path.join(dir, "bin"));
            fs.writeFileSync(path.join(dir, "bin", "curl"), FAKE_CURL, { mode: 0o755 });
        });
        after(() => fs.rmSync(dir, { recursive: true, force: true }));

        it("answers every check in order, judged as the local mode would", () => {
            const { run, work, log, answers } = answersOf("reader", "reader-token");
            const lines = log.trim().split("\n");
            assert.deepEqual(
                lines.map((l) => Number(l.split(" ")[1])),
                run.checks,
            );
            assert.ok(lines.every((l) => l.startsWith(`${RESULT_MARKER} `) && l.split(" ").length === 8));
            assert.equal(fs.readFileSync(path.join(work, "ca.crt"), "utf8"), "-----BEGIN CERTIFICATE-----\nCA\n\n");
            assert.equal(fs.statSync(path.join(work, "authorization")).mode & 0o777, 0o600);
            const verdict = (component: string, kind: Check["kind"]) => {
                const index = checks.findIndex((c) => c.component === component && c.kind === kind);
                return judge(checks[index], answers.get(index)!);
            };
            assert.deepEqual(verdict("kube-scheduler", "authorised"), { pass: true, detail: "200 + metrics" });
            assert.deepEqual(verdict("capi", "authorised"), { pass: true, detail: "200 + metrics" });
            assert.deepEqual(verdict("capi", "anonymous"), { pass: true, detail: "401" });
            assert.deepEqual(verdict("kube-scheduler", "off-path"), { pass: true, detail: "403" }, "headers come back");
            assert.deepEqual(verdict("etcd", "authorised"), {
                pass: false,
                detail: "no answer: curl: (7) Failed to connect to 10.0.0.2 port 2381: Connection refused",
            });
            const proxyBody = answers.get(
                checks.findIndex((c) => c.component === "kube-proxy" && c.kind === "authorised"),
            )!;
            assert.ok(
                proxyBody.body.length <= BODY_LIMIT && proxyBody.body.length > BODY_LIMIT - 100,
                "a long body is cut at a line",
            );
            assert.deepEqual(verdict("kube-proxy", "authorised"), { pass: true, detail: "200 + metrics" });
        });

        it("presents the unbound account's token in its own pod", () => {
            const { answers, run } = answersOf("unbound", "unbound-token");
            assert.ok(
                run.checks.every((i) => judge(checks[i], answers.get(i)!).pass || checks[i].component === "etcd"),
            );
        });

        it("never puts the token on a command line or in the log", () => {
            const { log } = answersOf("reader", "reader-token");
            assert.ok(
                !log.includes("reader-token") &&
                    !Buffer.from(log).toString().includes(Buffer.from("reader-token").toString("base64")),
            );
            assert.ok(!fs.readFileSync(path.join(dir, "argv"), "utf8").includes("reader-token"));
        });
    });

    it("gives a check with no result line the pod's end as its error", () => {
        const run = { namespace: "n", serviceAccount: "s", credential: "reader" as const, checks: [0, 1] };
        const answers = parsePodLog(
            `noise\n${RESULT_MARKER} 0 0 200 6 - ${Buffer.from("up 1\n\n200").toString("base64")} -\n`,
            run,
            "pod n/p ended (Failed: DeadlineExceeded) before answering",
        );
        assert.deepEqual(answers.get(0), { status: 200, headers: {}, body: "up 1\n" });
        assert.deepEqual(answers.get(1), {
            status: 0,
            headers: {},
            body: "",
            error: "pod n/p ended (Failed: DeadlineExceeded) before answering",
        });
    });

    it("tells a pod that ended, one that waits and one that cannot run", () => {
        const pod = (status: object) => JSON.stringify({ status });
        assert.deepEqual(podProgress(pod({ phase: "Succeeded" })), {
            state: "ended",
            phase: "Succeeded",
            reason: undefined,
        });
        assert.deepEqual(
            podProgress(pod({ phase: "Failed", reason: "DeadlineExceeded", message: "Pod was active too long" })),
            { state: "ended", phase: "Failed", reason: "DeadlineExceeded: Pod was active too long" },
        );
        assert.deepEqual(
            podProgress(
                pod({
                    phase: "Pending",
                    containerStatuses: [{ state: { waiting: { reason: "ErrImagePull", message: "not found" } } }],
                }),
            ),
            { state: "cannot-run", why: "ErrImagePull: not found" },
        );
        // With the pod's spec, as `kubectl get pod -o json` gives it: the image and the mirror key.
        assert.deepEqual(
            podProgress(
                JSON.stringify({
                    spec: { containers: [{ name: "curl", image: "curlimages/curl:8.11.1" }] },
                    status: {
                        phase: "Pending",
                        containerStatuses: [
                            { state: { waiting: { reason: "ImagePullBackOff", message: "Back-off" } } },
                        ],
                    },
                }),
            ),
            {
                state: "cannot-run",
                why: "ImagePullBackOff: Back-off; the nodes cannot pull image curlimages/curl:8.11.1 from docker.io. Without internet access (an air-gapped cluster), set eksa-metrics:imageRegistry to your registry mirror, which must hold the image: every default image is then pulled from it; for a registry that asks for credentials, name a pull secret in eksa-metrics:imagePullSecrets",
            },
        );
        assert.deepEqual(
            podProgress(
                pod({
                    phase: "Pending",
                    conditions: [
                        {
                            type: "PodScheduled",
                            status: "False",
                            reason: "Unschedulable",
                            message: "0/1 nodes are available",
                        },
                    ],
                }),
            ),
            { state: "waiting", why: "Unschedulable: 0/1 nodes are available", unschedulable: true },
        );
        assert.deepEqual(
            podProgress(
                pod({ phase: "Pending", containerStatuses: [{ state: { waiting: { reason: "ContainerCreating" } } }] }),
            ),
            { state: "waiting", why: "ContainerCreating", unschedulable: false },
        );
        assert.deepEqual(podProgress(pod({ phase: "Running" })), {
            state: "waiting",
            why: "Running",
            unschedulable: false,
        });
    });
});

describe("cluster mode: rounds", () => {
    const METRICS = "# TYPE up gauge\nup 1\n";
    const ok = (check: Check): Answer => ({
        status: check.expectStatus[0],
        body: check.expectMetricsBody ? METRICS : "",
        headers: check.expectHeader ? { [check.expectHeader]: "x" } : {},
    });

    it("sends only the checks that failed again, and counts a check's rounds as its attempts", async () => {
        const sent: number[] = [];
        let round = 0;
        const verdicts = await runRounds(
            checks,
            async (batch) => {
                round++;
                sent.push(batch.length);
                return batch.map((c) =>
                    c.component === "etcd" && round < 3
                        ? { status: 0, headers: {}, body: "", error: "refused" }
                        : ok(c),
                );
            },
            { deadline: Date.now() + 10_000, backoffMs: () => 1 },
        );
        const etcd = checks.filter((c) => c.component === "etcd").length;
        assert.deepEqual(sent, [checks.length, etcd, etcd]);
        assert.ok(verdicts.every((v) => v.pass));
        assert.deepEqual([...new Set(verdicts.map((v) => `${v.check.component === "etcd"}:${v.attempts}`))].sort(), [
            "false:1",
            "true:3",
        ]);
    });

    it("stops at the deadline with each check's last answer", async () => {
        let rounds = 0;
        const verdicts = await runRounds(
            checks.slice(0, 2),
            async (batch) => {
                rounds++;
                return batch.map(() => ({ status: 503, headers: {}, body: "" }));
            },
            { deadline: Date.now() + 100, backoffMs: () => 30 },
        );
        assert.ok(rounds >= 2 && rounds <= 5, `${rounds} rounds`);
        assert.ok(verdicts.every((v) => !v.pass && v.attempts === rounds && /got 503$/.test(v.detail)));
    });
});
