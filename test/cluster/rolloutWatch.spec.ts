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
