import { strict as assert } from "assert";
import { controllerEntry } from "../../core/catalogue";
import {
    controllerTargets,
    DeploymentFact,
    diagnosticsConcerns,
    expectedControllers,
    resolveControllerPresence,
    runsController,
} from "../../config/controllers";
import { resolveSettings } from "../../config/settings";

const CAPI_IMAGE = "registry.k8s.io/cluster-api/cluster-api-controller:v1.8.5";
const capi = (args: string[], overrides: Partial<DeploymentFact> = {}): DeploymentFact => ({
    namespace: "capi-system",
    name: "capi-controller-manager",
    podLabels: { "cluster.x-k8s.io/provider": "cluster-api", "control-plane": "controller-manager" },
    podSpec: { containers: [{ name: "manager", image: CAPI_IMAGE, command: ["/manager"], args }] },
    ...overrides,
});
const SECURE = ["--leader-elect", "--diagnostics-address=:8443", "--insecure-diagnostics=false"];
const eksa: DeploymentFact = {
    namespace: "eksa-system",
    name: "eksa-controller-manager",
    podLabels: { "control-plane": "eksa-controller-manager" },
};

describe("controllers", () => {
    it("scrapes the listed catalogue controllers in catalogue order, then the extra ones; none when expect is unset", () => {
        const settings = resolveSettings({
            controllers: {
                expect: ["capv-controller-manager", "capi-controller-manager"],
                extra: [
                    {
                        name: "my-operator",
                        namespace: "my-operator-system",
                        selector: { "control-plane": "controller-manager" },
                    },
                ],
            },
        });
        assert.deepEqual(controllerTargets(settings.controllers), [
            {
                name: "capi-controller-manager",
                namespace: "capi-system",
                selector: { "cluster.x-k8s.io/provider": "cluster-api" },
                port: 8443,
            },
            {
                name: "capv-controller-manager",
                namespace: "capv-system",
                selector: { "cluster.x-k8s.io/provider": "infrastructure-vsphere" },
                port: 8443,
            },
            {
                name: "my-operator",
                namespace: "my-operator-system",
                selector: { "control-plane": "controller-manager" },
                port: 8443,
            },
        ]);
        assert.deepEqual(controllerTargets(resolveSettings({}).controllers), []);
    });

    it("finds a controller by its namespace and pod labels that include its selector", () => {
        const entry = controllerEntry("capi-controller-manager")!;
        assert.equal(runsController(entry, capi(SECURE)), true);
        assert.equal(runsController(entry, capi(SECURE, { namespace: "default" })), false);
        assert.equal(
            runsController(entry, capi(SECURE, { podLabels: { "control-plane": "controller-manager" } })),
            false,
        );
    });

    it("with expect unset takes those present; with a list, splits it into found and absent", () => {
        const present = resolveControllerPresence(undefined, [capi(SECURE), eksa]);
        assert.deepEqual(
            present.found.map((f) => [f.entry.name, f.deployments.map((d) => d.name)]),
            [
                ["eks-anywhere-controller-manager", ["eksa-controller-manager"]],
                ["capi-controller-manager", ["capi-controller-manager"]],
            ],
        );
        assert.deepEqual(present.absent, []);
        const listed = resolveControllerPresence(
            ["capi-controller-manager", "capt-controller-manager"],
            [capi(SECURE), eksa],
        );
        assert.deepEqual(
            listed.found.map((f) => f.entry.name),
            ["capi-controller-manager"],
        );
        assert.deepEqual(
            listed.absent.map((e) => e.name),
            ["capt-controller-manager"],
        );
    });

    it("passes the configured list on, else those present, else none", () => {
        assert.deepEqual(expectedControllers(["capt-controller-manager"], [capi(SECURE)]), ["capt-controller-manager"]);
        assert.deepEqual(expectedControllers([], [capi(SECURE)]), []);
        assert.deepEqual(expectedControllers(undefined, [capi(SECURE), eksa]), [
            "eks-anywhere-controller-manager",
            "capi-controller-manager",
        ]);
        assert.deepEqual(expectedControllers(undefined, undefined), []);
    });

    it("is concerned by --insecure-diagnostics=true or no --diagnostics-address on the manager, and by nothing else", () => {
        const entry = controllerEntry("capi-controller-manager")!;
        assert.deepEqual(diagnosticsConcerns(entry, capi(SECURE)), []);
        assert.deepEqual(
            diagnosticsConcerns(entry, capi(["--diagnostics-address=:8443", "--insecure-diagnostics=true"])),
            ["container manager runs with --insecure-diagnostics=true: plain HTTP, no token check"],
        );
        assert.deepEqual(diagnosticsConcerns(entry, capi(["--metrics-bind-addr=127.0.0.1:8080"])), [
            "container manager has no --diagnostics-address: a release without the diagnostics feature serves no authenticated :8443",
        ]);
        // Another image (a sidecar, a mirror under another name) is not judged.
        assert.deepEqual(
            diagnosticsConcerns(
                entry,
                capi([], {
                    podSpec: {
                        containers: [{ name: "proxy", image: "quay.io/brancz/kube-rbac-proxy:v0.19.1", args: [] }],
                    },
                }),
            ),
            [],
        );
        assert.deepEqual(diagnosticsConcerns(entry, { ...eksa, podSpec: undefined }), []);
    });
});
