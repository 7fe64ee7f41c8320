import { strict as assert } from "assert";
import { only, registerUnder, valueOf } from "../support/mockEngine";
import { resolveSettings } from "../../config/settings";
import { registerNamespace } from "../../components/namespace";

const STACK_LABEL = { "eksa-metrics/stack": "eksa-metrics.test" };

describe("registerNamespace", function () {
    this.timeout(20_000);

    it("creates the namespace, labelled privileged (host-network pods) and with the stack's label", async () => {
        const { result, children } = await registerUnder((opts) =>
            registerNamespace("metrics", resolveSettings({ namespace: "obs-proxy" }), STACK_LABEL, opts),
        );
        const namespace = only(children, "kubernetes:core/v1:Namespace", "metrics-namespace");
        assert.deepEqual(namespace.props.metadata, {
            name: "obs-proxy",
            labels: { "pod-security.kubernetes.io/enforce": "privileged", "eksa-metrics/stack": "eksa-metrics.test" },
        });
        assert.equal(await valueOf(result), "obs-proxy");
    });

    it("registers nothing and returns the name of an existing namespace with createNamespace false", async () => {
        const { result, children } = await registerUnder((opts) =>
            registerNamespace(
                "metrics",
                resolveSettings({ namespace: "monitoring", createNamespace: false }),
                STACK_LABEL,
                opts,
            ),
        );
        assert.deepEqual(children, []);
        assert.equal(await valueOf(result), "monitoring");
    });
});
