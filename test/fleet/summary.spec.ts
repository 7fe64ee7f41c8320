import { strict as assert } from "assert";
import {
    exitCode,
    firstErrorLine,
    formatChanges,
    jsonSummary,
    renderSummary,
    renewalDays,
    StackResult,
    statusWord,
    succeeded,
    verificationVerdict,
} from "../../fleet/summary";

// Output of the real CLI (pulumi v3.259.0, --color never), trimmed to the lines that matter.
const POLICY_VIOLATION = `Command failed with exit code 1: pulumi preview --policy-pack /tmp/pack --color never --exec-kind auto.local --stack east --non-interactive
Previewing update (east):
 +  pulumi-nodejs:dynamic:Resource namespace create
 +  pulumi:pulumi:Stack eksa-metrics-fleet-test-east create error: preview failed
Policies:
    ❌ fleet-test-pack@v0.0.1 (local: /tmp/pack)
        - [mandatory]  no-kube-system  (pulumi-nodejs:dynamic:Resource: namespace)
          Nothing of the metrics stack goes into kube-system.
          namespace 'kube-system' is reserved for the cluster's own components

Diagnostics:
  pulumi:pulumi:Stack (eksa-metrics-fleet-test-east):
    error: preview failed
`;

const BAD_CONFIG = `Previewing update (t):
 +  pulumi:pulumi:Stack eksa-metrics-t create error: invalid eksa-metrics configuration:
Diagnostics:
  pulumi:pulumi:Stack (eksa-metrics-t):
    error: invalid eksa-metrics configuration:
      - eksa-metrics:healthPort: 10257 is the metrics port of kube-controller-manager. Choose a free port, e.g. the default 10263
`;

const NO_PLUGIN = `Previewing update (t):
    pulumi:providers:kubernetes cluster  error: no resource plugin 'pulumi-resource-kubernetes' found in the workspace at version v4.34.2 or on your $PATH
Policies:
    ✅ eksa-metrics@v0.1.0 (local: policy)

Diagnostics:
  pulumi:providers:kubernetes (cluster):
    error: no resource plugin 'pulumi-resource-kubernetes' found in the workspace at version v4.34.2 or on your $PATH
`;

// The real engine with the kubernetes provider v4.25.0: a violation with its severity, and the
// provider's error wrapped in "1 error occurred:" (as a rollout that never finishes ends).
const POLICY_VIOLATION_WITH_SEVERITY = `Policies:
    ❌ eksa-metrics@v0.1.0 (local: /work/main/policy)
        - [mandatory] [severity: high]  control-plane-metrics-not-on-all-interfaces  (kubernetes:core/v1:Pod: definitions:kube-system/scheduler-pod)
          kube-scheduler and kube-controller-manager must not bind all interfaces.
          kube-scheduler would listen on all interfaces: kubernetes:core/v1:Pod kube-system/scheduler-pod sets spec.containers[0].command[1] = "--bind-address=0.0.0.0"
`;
const WRAPPED = `Updating (west):
Diagnostics:
  kubernetes:apps/v1:DaemonSet (eksa-metrics-control-plane):
    error: 1 error occurred:
    	* the Kubernetes API server reported that "eksa-metrics/eksa-metrics-control-plane-1a2b" failed to fully initialize or become live: timed out waiting for the condition
  pulumi:pulumi:Stack (eksa-metrics-west):
    error: update failed
`;

describe("fleet summary", () => {
    describe("first error line", () => {
        it("a mandatory policy violation: policy, resource and message", () => {
            assert.equal(
                firstErrorLine(POLICY_VIOLATION),
                "policy no-kube-system (pulumi-nodejs:dynamic:Resource: namespace): namespace 'kube-system' is reserved for the cluster's own components",
            );
        });

        it("a mandatory violation printed with its severity", () => {
            assert.equal(
                firstErrorLine(POLICY_VIOLATION_WITH_SEVERITY),
                'policy control-plane-metrics-not-on-all-interfaces (kubernetes:core/v1:Pod: definitions:kube-system/scheduler-pod): kube-scheduler would listen on all interfaces: kubernetes:core/v1:Pod kube-system/scheduler-pod sets spec.containers[0].command[1] = "--bind-address=0.0.0.0"',
            );
        });

        it('the error behind "1 error occurred:", not the wrapper', () => {
            assert.equal(
                firstErrorLine(WRAPPED),
                'the Kubernetes API server reported that "eksa-metrics/eksa-metrics-control-plane-1a2b" failed to fully initialize or become live: timed out waiting for the condition',
            );
        });

        it("the program's error, with the first item of the list it introduces", () => {
            assert.equal(
                firstErrorLine(BAD_CONFIG),
                "invalid eksa-metrics configuration: eksa-metrics:healthPort: 10257 is the metrics port of kube-controller-manager. Choose a free port, e.g. the default 10263",
            );
        });

        it("an engine error (this machine has no kubernetes plugin)", () => {
            assert.equal(
                firstErrorLine(NO_PLUGIN),
                "no resource plugin 'pulumi-resource-kubernetes' found in the workspace at version v4.34.2 or on your $PATH",
            );
        });

        it("a generic error line only when there is nothing better, else the first line", () => {
            assert.equal(firstErrorLine("Updating (a):\n    error: update failed\n"), "update failed");
            assert.equal(
                firstErrorLine("\n  the stack is locked by another update\n"),
                "the stack is locked by another update",
            );
            assert.equal(firstErrorLine(""), "failed (no output)");
        });
    });

    it("change summaries", () => {
        assert.equal(formatChanges({ create: 2, same: 1 }), "+2");
        assert.equal(formatChanges({ update: 1, replace: 2, delete: 3, create: 0 }), "~1 +-2 -3");
        assert.equal(formatChanges({ same: 4 }), "no changes");
        assert.equal(formatChanges(undefined), "no changes");
    });

    const result = (fields: Partial<StackResult> & Pick<StackResult, "stack">): StackResult => ({
        kind: "deploy",
        preview: "ok",
        up: "ok",
        durationMs: 12_345,
        logFile: `/logs/${fields.stack}.log`,
        ...fields,
    });

    it("success and the exit status", () => {
        const ok = result({ stack: "a", changes: { create: 2 } });
        const previewOnly = result({ stack: "b", up: "preview only" });
        const gated = result({ stack: "c", preview: "failed", up: "skipped", error: "policy x" });
        const upFailed = result({ stack: "d", up: "failed", error: "boom" });
        const notRun = result({ stack: "e", preview: "not run", up: "skipped", error: "setup: locked" });
        assert.deepEqual([ok, previewOnly, gated, upFailed, notRun].map(succeeded), [true, true, false, false, false]);
        assert.equal(exitCode([ok, previewOnly]), 0);
        for (const failed of [gated, upFailed, notRun]) {
            assert.equal(exitCode([ok, failed]), 1);
        }
        assert.equal(exitCode([]), 1, "no stack run is no success");
    });

    it("renders a table: stack, preview (with changes), up, duration, first error line", () => {
        const table = renderSummary(
            [
                result({ stack: "mgmt-west", changes: { create: 3, same: 1 }, durationMs: 9_812 }),
                result({
                    stack: "kube-sys",
                    preview: "failed",
                    up: "skipped",
                    durationMs: 4_000,
                    error: "policy no-kube-system (pulumi-nodejs:dynamic:Resource: namespace): reserved",
                }),
                result({ stack: "edge-01", changes: {}, durationMs: 75_400 }),
            ],
            "/logs",
        );
        assert.equal(
            table,
            [
                "stack      preview          up       duration  error",
                "mgmt-west  ok (+3)          ok           9.8s",
                "kube-sys   failed           skipped      4.0s  policy no-kube-system (pulumi-nodejs:dynamic:Resource: namespace): reserved",
                "edge-01    ok (no changes)  ok          1m15s",
                "",
                "2 of 3 stacks succeeded, 1 failed. Logs: /logs/<stack>.log",
            ].join("\n"),
        );
        assert.match(
            renderSummary([result({ stack: "a" })], "/l"),
            /\n1 of 1 stacks succeeded\. Logs: \/l\/<stack>\.log$/,
        );
    });

    it("the verification's verdict and the days until the certificate renewal, from a stack's outputs", () => {
        assert.equal(
            verificationVerdict("eksa-cp-1  kube-scheduler  ok\n\nverified: 20 checks passed\n"),
            "verified: 20 checks passed",
        );
        assert.equal(
            verificationVerdict("x\nverification failed: 2 of 20 checks failed"),
            "verification failed: 2 of 20 checks failed",
        );
        assert.equal(verificationVerdict("no verdict"), undefined);
        const now = Date.parse("2026-12-07T12:00:00Z");
        assert.equal(renewalDays({ tlsRenewal: { nextRenewal: { at: "2026-12-17T13:00:00Z", inDays: 3 } } }, now), 10);
        assert.equal(renewalDays({ tlsRenewal: { nextRenewal: { at: "2026-12-01T00:00:00Z" } } }, now)! <= 0, true);
        assert.equal(renewalDays({ tlsRenewal: { nextRenewal: { at: "soon" } } }, now), undefined);
        assert.equal(renewalDays({}, now), undefined);
    });

    it("a stack's status word, and skipped clusters or gone stacks alone are no failure", () => {
        assert.deepEqual(
            [
                result({ stack: "a", verification: "verified: 20 checks passed" }),
                result({ stack: "b" }),
                result({ stack: "c", up: "preview only" }),
                result({ stack: "d", up: "failed", error: "x" }),
                result({ stack: "e", preview: "not run", up: "skipped", error: "cancelled before it started" }),
                result({ stack: "f", kind: "destroy" }),
                result({ stack: "g", kind: "destroy", up: "preview only" }),
            ].map(statusWord),
            ["verified", "up", "previewed", "failed", "cancelled", "destroyed", "destroy previewed"],
        );
        const skipped = [
            { cluster: "eksa-system/w", stack: "w", reason: "paused (spec.paused: true)", transient: true },
        ];
        assert.equal(exitCode([], { skipped, gone: [] }), 0);
        assert.equal(exitCode([], { skipped: [], gone: [] }), 1);
    });

    it("the table gains verification and renewal columns when a stack reports them, and lists what was skipped or is gone", () => {
        const table = renderSummary(
            [
                result({
                    stack: "w1",
                    changes: { create: 3 },
                    durationMs: 9_812,
                    verification: "verified: 20 checks passed",
                    renewalDays: 30,
                }),
                result({ stack: "old", kind: "destroy", changes: { delete: 12 }, durationMs: 4_000 }),
            ],
            "/logs",
            {
                skipped: [
                    {
                        cluster: "eksa-system/w2",
                        stack: "w2",
                        reason: "no kubeconfig Secret eksa-system/w2-kubeconfig",
                        transient: true,
                    },
                ],
                gone: [
                    {
                        stack: "w3",
                        cluster: "eksa-system/w3",
                        reason: "Cluster eksa-system/w3 no longer exists",
                        clusterDeleted: true,
                    },
                ],
            },
        );
        assert.equal(
            table,
            [
                "stack  preview   up         duration  verification                renewal  error",
                "w1     ok (+3)   ok             9.8s  verified: 20 checks passed  in 30 d",
                "old    ok (-12)  destroyed      4.0s",
                "",
                "skipped (discovered, no stack run):",
                "  eksa-system/w2 (stack w2): no kubeconfig Secret eksa-system/w2-kubeconfig",
                "",
                "gone (run with --prune to destroy them, after a preview):",
                "  w3: Cluster eksa-system/w3 no longer exists",
                "",
                "2 of 2 stacks succeeded. Logs: /logs/<stack>.log",
            ].join("\n"),
        );
    });

    it("the JSON summary: per stack its status, changes, error line, verification and renewal", () => {
        const summary = JSON.parse(
            JSON.stringify(
                jsonSummary(
                    [
                        result({
                            stack: "w1",
                            cluster: "eksa-system/w1",
                            changes: { create: 3 },
                            verification: "verified: 20 checks passed",
                            renewalDays: 30,
                        }),
                        result({ stack: "w2", preview: "failed", up: "skipped", error: "policy p (r): m" }),
                    ],
                    {
                        skipped: [
                            {
                                cluster: "eksa-system/w3",
                                stack: "w3",
                                reason: "paused (spec.paused: true)",
                                transient: true,
                            },
                        ],
                        gone: [],
                    },
                    {
                        fleetFile: "/f.yaml",
                        startedAt: new Date("2026-12-07T12:00:00Z"),
                        finishedAt: new Date("2026-12-07T12:01:00Z"),
                        previewOnly: false,
                        prune: false,
                        logDir: "/logs",
                    },
                ),
            ),
        );
        assert.equal(summary.exitCode, 1);
        assert.deepEqual(summary.stacks[0], {
            stack: "w1",
            cluster: "eksa-system/w1",
            kind: "deploy",
            status: "verified",
            preview: "ok",
            up: "ok",
            changes: { create: 3 },
            durationSeconds: 12.3,
            error: null,
            verification: { ok: true, verdict: "verified: 20 checks passed" },
            certificateRenewalDays: 30,
            logFile: "/logs/w1.log",
        });
        assert.deepEqual(
            [summary.stacks[1].status, summary.stacks[1].error, summary.stacks[1].verification],
            ["failed", "policy p (r): m", null],
        );
        assert.deepEqual(summary.skipped, [
            { cluster: "eksa-system/w3", stack: "w3", reason: "paused (spec.paused: true)" },
        ]);
        assert.deepEqual(summary.gone, []);
    });
});
