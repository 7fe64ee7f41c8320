import * as assert from "assert";
import { clusterVariables, objectWith, patchedControlPlaneValues, usesClass } from "../../core/clusterClass";

const SELECTOR = {
    apiVersion: "controlplane.cluster.x-k8s.io/v1beta2",
    kind: "KubeadmControlPlaneTemplate",
    matchResources: { controlPlane: true },
};
const KCM = "/spec/template/spec/kubeadmConfigSpec/clusterConfiguration/controllerManager/extraArgs";

/** A class with one control plane patch and the given variables. */
const classWith = (jsonPatch: object, variables: object[] = [], enabledIf?: string) => ({
    metadata: { name: "c", namespace: "ns" },
    spec: {
        variables,
        patches: [{ name: "p", enabledIf, definitions: [{ selector: SELECTOR, jsonPatches: [jsonPatch] }] }],
    },
});

describe("core/clusterClass", () => {
    it("objectWith builds the object a JSON pointer names, lists for - and indexes, ~1 and ~0 decoded", () => {
        assert.deepStrictEqual(objectWith("/a/b~1c/-", { name: "x" }), { a: { "b/c": [{ name: "x" }] } });
        assert.deepStrictEqual(objectWith("/a/0/b", 1), { a: [{ b: 1 }] });
        assert.strictEqual(objectWith("a/b", 1), undefined);
    });

    it("usesClass: v1beta1 class (+ classNamespace, else the Cluster's namespace), v1beta2 classRef", () => {
        const cc = { metadata: { name: "c", namespace: "ns" } };
        assert.ok(usesClass({ metadata: { namespace: "ns" }, spec: { topology: { class: "c" } } }, cc));
        assert.ok(
            usesClass({ metadata: { namespace: "x" }, spec: { topology: { class: "c", classNamespace: "ns" } } }, cc),
        );
        assert.ok(!usesClass({ metadata: { namespace: "x" }, spec: { topology: { class: "c" } } }, cc));
        assert.ok(usesClass({ metadata: { namespace: "ns" }, spec: { topology: { classRef: { name: "c" } } } }, cc));
        assert.ok(!usesClass({ metadata: { namespace: "ns" }, spec: { topology: { classRef: { name: "d" } } } }, cc));
    });

    it("resolves variable paths with nested defaults, and templates with if / else and | quote", () => {
        const variables = [
            {
                name: "m",
                required: false,
                schema: {
                    openAPIV3Schema: { type: "object", properties: { addr: { type: "string", default: "10.0.0.1" } } },
                },
            },
            { name: "list", required: false, schema: { openAPIV3Schema: { type: "array", default: ["0.0.0.0"] } } },
        ];
        const nested = patchedControlPlaneValues(
            classWith({ op: "add", path: `${KCM}/bind-address`, valueFrom: { variable: "m.addr" } }, variables),
            "cc",
            undefined,
        );
        assert.deepStrictEqual(nested.values[0].patched, {
            spec: {
                template: {
                    spec: {
                        kubeadmConfigSpec: {
                            clusterConfiguration: { controllerManager: { extraArgs: { "bind-address": "10.0.0.1" } } },
                        },
                    },
                },
            },
        });
        assert.deepStrictEqual(nested.values[0].sources, [
            {
                kind: "default",
                variable: "m.addr",
                path: "spec.variables[0].schema.openAPIV3Schema.properties.addr.default",
            },
        ]);
        const indexed = patchedControlPlaneValues(
            classWith({ op: "add", path: `${KCM}/bind-address`, valueFrom: { variable: "list[0]" } }, variables),
            "cc",
            undefined,
        );
        assert.strictEqual(
            (indexed.values[0].patched as any).spec.template.spec.kubeadmConfigSpec.clusterConfiguration
                .controllerManager.extraArgs["bind-address"],
            "0.0.0.0",
        );
        const template = classWith(
            {
                op: "add",
                path: `${KCM}/bind-address`,
                valueFrom: { template: '{{ if .on }}{{ .m.addr | quote }}{{ else }}"127.0.0.1"{{ end }}' },
            },
            [
                ...variables,
                { name: "on", required: false, schema: { openAPIV3Schema: { type: "boolean", default: false } } },
            ],
        );
        const cluster = clusterVariables({
            type: "Cluster",
            name: "k",
            props: { spec: { topology: { variables: [{ name: "on", value: true }] } } },
        });
        const off = patchedControlPlaneValues(template, "cc", undefined).values[0].patched as any;
        const on = patchedControlPlaneValues(template, "cc", cluster).values[0].patched as any;
        const kcm = (o: any) => o.spec.template.spec.kubeadmConfigSpec.clusterConfiguration.controllerManager.extraArgs;
        assert.strictEqual(kcm(off)["bind-address"], "127.0.0.1");
        assert.strictEqual(kcm(on)["bind-address"], "10.0.0.1");
    });

    it("a variable-valued patch is skipped where enabledIf is false; a literal one is kept and says so", () => {
        const variables = [
            { name: "on", required: false, schema: { openAPIV3Schema: { type: "boolean", default: false } } },
        ];
        const fromVariable = classWith(
            { op: "add", path: `${KCM}/bind-address`, valueFrom: { variable: "on" } },
            variables,
            "{{ .on }}",
        );
        assert.deepStrictEqual(patchedControlPlaneValues(fromVariable, "cc", undefined).values, []);
        const literal = classWith({ op: "add", path: `${KCM}/bind-address`, value: "0.0.0.0" }, variables, "{{ .on }}");
        assert.ok(
            patchedControlPlaneValues(literal, "cc", undefined).values[0].enabled.startsWith("off, as its enabledIf"),
        );
    });
});
