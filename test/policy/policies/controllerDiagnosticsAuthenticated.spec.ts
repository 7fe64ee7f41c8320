import * as assert from "assert";
import {
    CONTROLLER_DIAGNOSTICS,
    controllerDiagnosticsAuthenticated,
} from "../../../policy/policies/controllerDiagnosticsAuthenticated";
import { metricsExposureUnknownDuringPreview } from "../../../policy/policies/metricsExposureUnknownDuringPreview";
import { asConfigFileChild, fixture, runPolicy, UNKNOWN_DURING_PREVIEW as SENTINEL, withValue } from "../harness";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const REMEDY = "Run the controller with --diagnostics-address=:8443 --insecure-diagnostics=false";

async function violations(name: string): Promise<string[]> {
    const resource = asConfigFileChild(fixture("controllers.yaml", name));
    const run = await runPolicy(controllerDiagnosticsAuthenticated, resource);
    assert.strictEqual(run.notApplicable, undefined);
    assert.deepStrictEqual((await runPolicy(metricsExposureUnknownDuringPreview, resource)).violations, []);
    run.violations.forEach((m) => assert.ok(m.includes(REMEDY) && m.includes("metrics-reader"), m));
    return run.violations;
}

describe(`policy ${CONTROLLER_DIAGNOSTICS}`, () => {
    it("passes CAPI core as clusterctl deploys it (--diagnostics-address=:8443 --insecure-diagnostics=false)", async () => {
        assert.deepStrictEqual(await violations("capi-controller-manager"), []);
    });

    it("catches --insecure-diagnostics=true on :8443", async () => {
        const [message, ...rest] = await violations("capi-kubeadm-bootstrap-controller-manager");
        assert.deepStrictEqual(rest, []);
        assert.ok(
            message.startsWith(
                `controller diagnostics without authentication: ${DEPLOYMENT} capi-kubeadm-bootstrap-system/capi-kubeadm-bootstrap-controller-manager runs a ` +
                    'controller-runtime manager in spec.template.spec.containers[0] (command[0] "/manager") with spec.template.spec.containers[0].args[2] = ' +
                    '"--insecure-diagnostics=true", so its diagnostics endpoint (spec.template.spec.containers[0].args[1] = "--diagnostics-address=:8443")',
            ),
            message,
        );
    });

    it("reads a bare --insecure-diagnostics as true on the default address (image entrypoint); on loopback it passes", async () => {
        const [message, ...rest] = await violations("eksa-controller-manager");
        assert.deepStrictEqual(rest, [], "the packages controller's insecure endpoint is on 127.0.0.1");
        assert.ok(
            message.includes(
                'image "public.ecr.aws/eks-anywhere/eks-anywhere-cluster-controller:v0.21.0-eks-a-80" (its entrypoint, no command)',
            ),
            message,
        );
        assert.ok(
            message.includes('args[1] = "--insecure-diagnostics", so its diagnostics endpoint (the default :8443)'),
            message,
        );
    });

    it("catches --metrics-bind-addr(ess) on all interfaces without --diagnostics-address (CAPV, CAPX), and --metrics-bind-addr even with it (it wins over the diagnostics endpoint from CAPI v1.6); localhost and 0 (off) pass", async () => {
        const messages = await violations("capv-controller-manager");
        assert.deepStrictEqual(
            messages.map((m) => /containers\[(\d)\]\.args\[\d\] = ("[^"]+")/.exec(m)!.slice(1).join(" ")),
            [
                '0 "--metrics-bind-addr=0.0.0.0:8080"',
                '1 "--metrics-bind-address=:8080"',
                '4 "--metrics-bind-addr=:8080"',
            ],
        );
        assert.ok(
            messages[2].includes("it still replaces the authenticated --diagnostics-address endpoint"),
            messages[2],
        );
        assert.ok(messages[0].startsWith("controller metrics without authentication on all interfaces: "), messages[0]);
        assert.ok(messages[1].includes("no host, so every interface"), messages[1]);
    });

    it("leaves other programs with similar flags alone, other operators' /manager included", async () => {
        assert.deepStrictEqual(await violations("other-app"), []);
        assert.deepStrictEqual(await violations("my-operator-controller-manager"), []);
    });

    it("names an unknown --insecure-diagnostics during preview", async () => {
        const resource = asConfigFileChild(fixture("controllers.yaml", "capi-controller-manager"));
        const props = withValue(resource.props, ["spec", "template", "spec", "containers", 0, "args", 2], SENTINEL);
        assert.deepStrictEqual(
            (await runPolicy(controllerDiagnosticsAuthenticated, { ...resource, props })).violations,
            [],
        );
        const unknowns = (await runPolicy(metricsExposureUnknownDuringPreview, { ...resource, props })).violations;
        assert.strictEqual(unknowns.length, 1, unknowns.join("\n"));
        assert.ok(
            unknowns[0].startsWith(
                `[${CONTROLLER_DIAGNOSTICS}] ${DEPLOYMENT} capi-system/capi-controller-manager: spec.template.spec.containers[0].args[2] is unknown during preview`,
            ),
            unknowns[0],
        );

        const unknownImage = withValue(
            resource.props,
            ["spec", "template", "spec", "containers", 0, "image"],
            SENTINEL,
        );
        const imageUnknowns = (
            await runPolicy(metricsExposureUnknownDuringPreview, { ...resource, props: unknownImage })
        ).violations;
        assert.ok(
            imageUnknowns.length === 1 && imageUnknowns[0].includes("containers[0].image is unknown during preview"),
            imageUnknowns.join("\n"),
        );
    });
});

describe(`policy ${CONTROLLER_DIAGNOSTICS}: the older metrics flags`, () => {
    const run = async (file: string, name: string) =>
        (await runPolicy(controllerDiagnosticsAuthenticated, asConfigFileChild(fixture(file, name)))).violations;

    it("catches Cluster API v0.3's --metrics-addr on all interfaces; on 127.0.0.1 behind kube-rbac-proxy it passes", async () => {
        const [message, ...rest] = await run("controllers-older-flags-exposed.yaml", "capi-controller-manager");
        assert.deepStrictEqual(rest, []);
        assert.ok(
            message.startsWith(
                `controller metrics without authentication on all interfaces: ${DEPLOYMENT} capi-system/capi-controller-manager runs a controller-runtime manager ` +
                    'in spec.template.spec.containers[0] (command[0] "/manager") with spec.template.spec.containers[0].args[0] = "--metrics-addr=:8080"; ' +
                    "no host, so every interface, and --metrics-addr (Cluster API v0.3 and providers of its era) is a plain HTTP listener with no token check.",
            ),
            message,
        );
        assert.deepStrictEqual(await run("controllers-older-flags-safe.yaml", "capi-controller-manager"), []);
    });

    it("catches --metrics-bind-addr next to --diagnostics-address (CAPI v1.6 serves it instead); without it v1.6 passes", async () => {
        const name = "capi-kubeadm-control-plane-controller-manager";
        const [message, ...rest] = await run("controllers-older-flags-exposed.yaml", name);
        assert.deepStrictEqual(rest, []);
        assert.ok(
            message.includes(
                'args[3] = "--metrics-bind-addr=0.0.0.0:8080"; "0.0.0.0" is the unspecified IPv4 address (every interface), and --metrics-bind-addr is a plain HTTP listener',
            ),
            message,
        );
        assert.deepStrictEqual(await run("controllers-older-flags-safe.yaml", name), []);
    });
});
