import { strict as assert } from "assert";
import { podProblems } from "../../cluster/rolloutWatch";

const pod = (name: string, status: object) => ({ metadata: { name, namespace: "eksa-metrics" }, status });

describe("rollout watch", () => {
    it("gives the scheduler's reason for a Pending pod, word for word", () => {
        const message =
            "0/2 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.";
        const list = {
            items: [
                pod("eksa-metrics-control-plane-x", {
                    phase: "Pending",
                    conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message }],
                }),
            ],
        };
        assert.deepEqual(podProblems(JSON.stringify(list)), [
            `pod eksa-metrics/eksa-metrics-control-plane-x is not scheduled: ${message}`,
        ]);
    });

    it("names a container stuck waiting, with its reason and message", () => {
        const list = {
            items: [
                pod("w", {
                    conditions: [{ type: "PodScheduled", status: "True" }],
                    containerStatuses: [
                        {
                            name: "haproxy",
                            state: {
                                waiting: {
                                    reason: "ImagePullBackOff",
                                    message: 'Back-off pulling image "mirror/haproxy:1"',
                                },
                            },
                        },
                    ],
                }),
            ],
        };
        assert.deepEqual(podProblems(JSON.stringify(list)), [
            'pod eksa-metrics/w, container haproxy: ImagePullBackOff: Back-off pulling image "mirror/haproxy:1"',
        ]);
    });

    it("says which image a container cannot pull, from where, and that a mirror key exists", () => {
        const waiting = (reason: string) => ({
            metadata: { name: "eksa-metrics-workers-x", namespace: "eksa-metrics" },
            spec: { containers: [{ name: "kube-proxy-gate", image: "quay.io/brancz/kube-rbac-proxy:v0.19.1" }] },
            status: {
                conditions: [{ type: "PodScheduled", status: "True" }],
                containerStatuses: [
                    {
                        name: "kube-proxy-gate",
                        image: "quay.io/brancz/kube-rbac-proxy:v0.19.1",
                        state: { waiting: { reason, message: "lookup quay.io: no such host" } },
                    },
                ],
            },
        });
        const hint =
            "the nodes cannot pull image quay.io/brancz/kube-rbac-proxy:v0.19.1 from quay.io. Without internet access (an air-gapped cluster), set eksa-metrics:imageRegistry to your registry mirror, which must hold the image: every default image is then pulled from it; for a registry that asks for credentials, name a pull secret in eksa-metrics:imagePullSecrets";
        const list = { items: ["ErrImagePull", "ImagePullBackOff", "CrashLoopBackOff"].map(waiting) };
        assert.deepEqual(
            podProblems(JSON.stringify(list), (k) => `eksa-metrics:${k}`),
            [
                `pod eksa-metrics/eksa-metrics-workers-x, container kube-proxy-gate: ErrImagePull: lookup quay.io: no such host; ${hint}`,
                `pod eksa-metrics/eksa-metrics-workers-x, container kube-proxy-gate: ImagePullBackOff: lookup quay.io: no such host; ${hint}`,
                // Not a pull failure: no hint.
                "pod eksa-metrics/eksa-metrics-workers-x, container kube-proxy-gate: CrashLoopBackOff: lookup quay.io: no such host",
            ],
        );
    });

    it("is silent on running and starting pods", () => {
        const list = {
            items: [
                pod("a", {
                    phase: "Running",
                    conditions: [{ type: "PodScheduled", status: "True" }],
                    containerStatuses: [{ name: "haproxy", state: { running: {} } }],
                }),
                pod("b", {
                    phase: "Pending",
                    conditions: [{ type: "PodScheduled", status: "True" }],
                    containerStatuses: [{ name: "haproxy", state: { waiting: { reason: "ContainerCreating" } } }],
                }),
            ],
        };
        assert.deepEqual(podProblems(JSON.stringify(list)), []);
    });
});
