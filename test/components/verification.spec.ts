import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { only, registerUnder, valueOf } from "../support/mockEngine";
import { resolveSettings } from "../../config/settings";
import { registerVerification, verificationPlan } from "../../components/verification";
import { planOf } from "../../verify/plan";

const OBJECTS = {
    caCertificate: "CA-PEM\n",
    tlsSecretName: "metrics-tls-abc123",
    haproxyConfigMapNames: ["metrics-control-plane-haproxy-abc123"],
    proxyImage: "h:1",
    gateImage: "g:1",
    verifyImage: "c:1",
    proxyResources: { requests: { cpu: "1m" } },
    gateResources: { requests: { cpu: "2m" } },
    rbacUids: ["u1", "u2", ""],
};

describe("verificationPlan", () => {
    it("is verify/plan.ts planOf of the settings and what the stack's objects resolve to", async () => {
        const settings = resolveSettings({});
        const plan = await valueOf(
            verificationPlan(settings, {
                ...OBJECTS,
                caCertificate: pulumi.output(OBJECTS.caCertificate),
                tlsSecretName: pulumi.output(OBJECTS.tlsSecretName),
                haproxyConfigMapNames: OBJECTS.haproxyConfigMapNames.map((n) => pulumi.output(n)),
            }),
        );
        assert.deepEqual(
            plan,
            planOf(settings, {
                caCertificate: "CA-PEM\n",
                tlsSecretName: "metrics-tls-abc123",
                haproxyConfigMapNames: ["metrics-control-plane-haproxy-abc123"],
                images: { proxyImage: "h:1", gateImage: "g:1" },
                verifyImage: "c:1",
                resources: [{ requests: { cpu: "1m" } }, { requests: { cpu: "2m" } }],
                rbacUids: ["u1", "u2", ""],
            }),
        );
    });
});

describe("registerVerification", function () {
    this.timeout(20_000);

    it("runs verify/main.ts with the plan and the kubeconfig, in a secret environment, after what it depends on", async () => {
        const settings = resolveSettings({});
        const { result, children } = await registerUnder((opts) => {
            const before = new pulumi.ComponentResource("eksa-metrics:test:Before", "before", {}, opts);
            return registerVerification(
                "metrics",
                verificationPlan(settings, OBJECTS),
                "KUBECONFIG-TEXT",
                [before],
                opts,
            );
        });
        const verify = only(children, "command:local:Command", "metrics-verify");
        assert.match(verify.props.create, /^node --require ts-node\/register\/transpile-only \S*verify\/main\.ts$/);
        assert.equal(verify.props.logging, "none");
        assert.equal(verify.props.environment.EKSA_METRICS_KUBECONFIG, "KUBECONFIG-TEXT");
        assert.deepEqual(JSON.parse(verify.props.environment.EKSA_METRICS_VERIFY_PLAN).caCertificate, "CA-PEM\n");
        assert.deepEqual(verify.secretKeys, ["environment.EKSA_METRICS_KUBECONFIG"]);
        assert.deepEqual(verify.opts.additionalSecretOutputs, ["stdout", "stderr"]);
        assert.deepEqual((verify.opts.dependsOn as pulumi.Resource[]).length, 1);
        assert.equal(await pulumi.isSecret(result), false, "the table names nodes and statuses, never a token");
        assert.equal(typeof (await valueOf(result)), "string");
    });
});
