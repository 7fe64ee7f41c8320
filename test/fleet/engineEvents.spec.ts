import { strict as assert } from "assert";
import { EngineEvent, foldEngineEvents } from "../../fleet/engineEvents";
import { configToSet } from "../../fleet/runner";

// Events as pulumi v3.259.0 sends them for `up --yes` (trimmed to the fields read): a stream per engine operation.
const stackOutputs = (outputs: Record<string, unknown>): EngineEvent => ({
    resOutputsEvent: { metadata: { type: "pulumi:pulumi:Stack", new: { outputs } } },
});
const summary = (isPreview: boolean, result: string, resourceChanges: Record<string, number>): EngineEvent => ({
    summaryEvent: { isPreview, result, resourceChanges },
});
const SECRET = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "[secret]" };

describe("foldEngineEvents", () => {
    it("an up that previewed then updated: the preview's planned changes, the update's result, the outputs it registered", () => {
        const outcome = foldEngineEvents([
            [
                { preludeEvent: { config: {} } },
                stackOutputs({ verificationReport: undefined }),
                summary(true, "succeeded", { create: 2 }),
            ],
            [
                stackOutputs({}),
                { resourcePreEvent: { metadata: { type: "pulumi-nodejs:dynamic:Resource" } } },
                stackOutputs({ verificationReport: "verified: 4 checks passed", kubeconfigLength: SECRET }),
                summary(false, "succeeded", { create: 2 }),
                { cancelEvent: {} },
            ],
        ]);
        assert.deepEqual(outcome, {
            preview: { ok: true, result: "succeeded", changes: { create: 2 } },
            update: { ok: true, result: "succeeded", changes: { create: 2 } },
            outputs: { verificationReport: "verified: 4 checks passed", kubeconfigLength: SECRET },
        });
    });

    it("a preview the pack refused: a failed preview, no update and no outputs", () => {
        const outcome = foldEngineEvents([
            [
                { policyEvent: { policyName: "no-kube-system", enforcementLevel: "mandatory" } },
                stackOutputs({}),
                summary(true, "failed", { create: 2 }),
            ],
        ]);
        assert.deepEqual(outcome, { preview: { ok: false, result: "failed", changes: { create: 2 } } });
    });

    it("an update that failed keeps its result; a command that sent nothing has neither summary", () => {
        const outcome = foldEngineEvents([
            [summary(true, "succeeded", { create: 5, same: 1 })],
            [summary(false, "failed", { create: 3 })],
        ]);
        assert.equal(outcome.preview?.ok, true);
        assert.deepEqual(outcome.update, { ok: false, result: "failed", changes: { create: 3 } });
        assert.equal(outcome.outputs, undefined);
        assert.deepEqual(foldEngineEvents([]), {});
    });
});

describe("configToSet", () => {
    const stored = {
        "eksa-metrics:namespace": "metrics-west",
        "eksa-metrics:healthPort": "10257",
        "eksa-metrics:components": { etcd: false, "kube-proxy": true },
        "eksa-metrics:kubeconfig": { secure: "v1:abc" },
    };

    it("sets nothing when the stack file already holds every value (numbers stored as strings, maps in any key order)", () => {
        assert.deepEqual(
            configToSet(stored, {
                "eksa-metrics:namespace": "metrics-west",
                "eksa-metrics:healthPort": 10257,
                "eksa-metrics:components": { "kube-proxy": true, etcd: false },
            }),
            {},
        );
    });

    it("sets the values that are new or differ, a secret's key given a plain value too", () => {
        assert.deepEqual(
            configToSet(stored, {
                "eksa-metrics:namespace": "metrics-east",
                "eksa-metrics:components": { etcd: true, "kube-proxy": true },
                "eksa-metrics:kubeconfig": "plain",
                "eksa-metrics-fleet:cluster": "eksa-system/west",
            }),
            {
                "eksa-metrics:namespace": "metrics-east",
                "eksa-metrics:components": { etcd: true, "kube-proxy": true },
                "eksa-metrics:kubeconfig": "plain",
                "eksa-metrics-fleet:cluster": "eksa-system/west",
            },
        );
    });
});
