// Cluster API ClusterClass patches and the Cluster topologies that use them: which values a class's
// JSON patches put into its templates, given the variables a Cluster (or the variables' defaults) gives
// them. Pure: plain JSON in (UNKNOWN for values unknown during preview), values out.
//
// Shapes as the cluster-api v1.14 CRDs define them (v1beta1 and v1beta2 alike): ClusterClass
// `spec.variables[] {name, schema.openAPIV3Schema}`, `spec.patches[] {name, enabledIf, definitions[]
// {selector {apiVersion, kind, matchResources}, jsonPatches[] {op, path, value | valueFrom {variable |
// template}}}}`; Cluster `spec.topology.class` (+ `classNamespace`, v1beta1) or `classRef {name, namespace}`
// (v1beta2), `variables[] {name, value}` and `controlPlane.variables.overrides[]`.

import * as yaml from "js-yaml";
import { FieldPath, formatPath, isKind, isObject, lookup, UNKNOWN } from "./resources";

export const CLUSTER_CLASS = "cluster.x-k8s.io/ClusterClass";
export const CLUSTER = "cluster.x-k8s.io/Cluster";

/** Where a value a patch writes came from. */
export type ValueSource =
    | { readonly kind: "literal" }
    | { readonly kind: "default"; readonly variable: string; readonly path: string }
    | { readonly kind: "cluster"; readonly variable: string; readonly path: string };

/** A value one JSON patch writes into the control plane template, for one set of variables. */
export interface PatchedValue {
    /** The jsonPatch, e.g. `spec.patches[0].definitions[0].jsonPatches[1]`. */
    readonly patchPath: string;
    /** The field that holds or names the value: `...jsonPatches[1].value`, `.valueFrom.variable` or `.valueFrom.template`. */
    readonly valuePath: string;
    readonly op: string;
    /** The JSON pointer the patch writes to. */
    readonly pointer: string;
    /** The template object with only this patch applied (its value at `pointer`). */
    readonly patched: Record<string, unknown>;
    /** Where the variables of the value came from (none for a literal value); enabledIf's are in `enabled`. */
    readonly sources: readonly ValueSource[];
    /** How the patch is switched on: always, or its enabledIf and what that evaluated to. */
    readonly enabled: string;
}

/** A value the policy cannot know: unknown during preview, or only at run time (no default, no Cluster). */
export interface UnknownPatchValue {
    readonly patchPath: string;
    /** The pointer the patch writes to, when known (what it may set). */
    readonly pointer?: string;
    readonly path: string;
    readonly why: string;
    /** Set for a variable with no default that no Cluster of the program sets: known only at run time. */
    readonly runTimeVariable?: string;
}

/** One Cluster of the program that uses a class: its variables by name, and where each is set. */
export interface ClusterBinding {
    readonly cluster: { readonly type: string; readonly name: string; readonly props: unknown };
    readonly values: ReadonlyMap<string, { readonly value: unknown; readonly path: string }>;
}

const CONTROL_PLANE_TEMPLATE = "KubeadmControlPlaneTemplate";

/** Whether a Cluster's topology uses this ClusterClass (name, and namespace: the Cluster's own by default). */
export function usesClass(cluster: unknown, clusterClass: unknown): boolean {
    const ns = (object: unknown) => {
        const found = lookup(object, ["metadata", "namespace"]);
        return "value" in found && typeof found.value === "string" ? found.value : "default";
    };
    const className = lookup(clusterClass, ["metadata", "name"]);
    if (!("value" in className) || typeof className.value !== "string") {
        return false;
    }
    const topology = lookup(cluster, ["spec", "topology"]);
    if (!("value" in topology) || !isObject(topology.value)) {
        return false;
    }
    const ref = isObject(topology.value.classRef) ? topology.value.classRef : undefined;
    const name = ref ? ref.name : topology.value.class;
    const namespace = ref ? ref.namespace : topology.value.classNamespace;
    return name === className.value && (typeof namespace === "string" ? namespace : ns(cluster)) === ns(clusterClass);
}

/** The variables a Cluster sets for its control plane: topology variables, then the control plane's overrides. */
export function clusterVariables(cluster: {
    readonly type: string;
    readonly name: string;
    readonly props: unknown;
}): ClusterBinding {
    const values = new Map<string, { value: unknown; path: string }>();
    for (const listPath of [
        ["spec", "topology", "variables"],
        ["spec", "topology", "controlPlane", "variables", "overrides"],
    ]) {
        const found = lookup(cluster.props, listPath);
        if ("unknownAt" in found) {
            values.set("*", { value: UNKNOWN, path: formatPath(found.unknownAt) });
            continue;
        }
        if (!Array.isArray(found.value)) {
            continue;
        }
        found.value.forEach((entry: unknown, i) => {
            const path = [...listPath, i];
            if (entry === UNKNOWN || (isObject(entry) && entry.name === UNKNOWN)) {
                values.set("*", { value: UNKNOWN, path: formatPath(path) });
            } else if (isObject(entry) && typeof entry.name === "string") {
                values.set(entry.name, { value: entry.value, path: formatPath([...path, "value"]) });
            }
        });
    }
    return { cluster, values };
}

/** A class variable's schema and where it is, by name. */
function variableSchemas(clusterClass: unknown): Map<string, { readonly schema: unknown; readonly path: FieldPath }> {
    const found = lookup(clusterClass, ["spec", "variables"]);
    const schemas = new Map<string, { schema: unknown; path: FieldPath }>();
    if ("value" in found && Array.isArray(found.value)) {
        found.value.forEach((variable: unknown, i) => {
            if (isObject(variable) && typeof variable.name === "string") {
                const path = ["spec", "variables", i, "schema", "openAPIV3Schema"];
                const schema = lookup(variable, path.slice(3));
                schemas.set(variable.name, { schema: "value" in schema ? schema.value : UNKNOWN, path });
            }
        });
    }
    return schemas;
}

/** `a.b[0].c` -> ["a", "b", 0, "c"]. */
function variablePath(text: string): (string | number)[] {
    return text
        .trim()
        .replace(/^\./, "")
        .split(/\.|(?=\[)/)
        .filter((part) => part !== "")
        .map((part) => (/^\[\d+\]$/.test(part) ? Number(part.slice(1, -1)) : part));
}

/** What one set of variables resolves to: the value, where it came from, or why it is not known. */
type Resolved =
    | { readonly state: "known"; readonly value: unknown; readonly source: ValueSource }
    | { readonly state: "unknown"; readonly path: string; readonly why: string; readonly runTimeVariable?: string }
    /** A Cluster that sets neither the variable nor has a default for it: the patch engine fails, nothing is written. */
    | { readonly state: "missing" };

/**
 * A variable (with a path into it) as the patch engine sees it: the Cluster's value, else the schema's
 * default, with nested properties defaulted by their own schema defaults.
 */
function resolveVariable(
    reference: string,
    schemas: ReadonlyMap<string, { readonly schema: unknown; readonly path: FieldPath }>,
    binding: ClusterBinding | undefined,
    classLabel: string,
): Resolved | undefined {
    const [root, ...rest] = variablePath(reference);
    if (typeof root !== "string" || root === "builtin") {
        return undefined; // builtin variables (cluster name, versions) never carry a bind address
    }
    const set = binding?.values.get(root);
    const anyUnknown = binding?.values.get("*");
    let schema = schemas.get(root)?.schema;
    let schemaPath: FieldPath = schemas.get(root)?.path ?? [];
    let value: unknown;
    let source: ValueSource;
    if (set !== undefined) {
        if (set.value === UNKNOWN) {
            return { state: "unknown", path: set.path, why: "is unknown during preview" };
        }
        value = set.value;
        source = { kind: "cluster", variable: root, path: set.path };
    } else if (anyUnknown) {
        return { state: "unknown", path: anyUnknown.path, why: "is unknown during preview" };
    } else {
        if (schema === UNKNOWN) {
            return {
                state: "unknown",
                path: `${classLabel} spec.variables (${root})`,
                why: "is unknown during preview",
            };
        }
        value = isObject(schema) ? schema.default : undefined;
        source = { kind: "default", variable: root, path: formatPath([...schemaPath, "default"]) };
    }
    for (const part of rest) {
        schema = isObject(schema) && isObject(schema.properties) ? schema.properties[part] : undefined;
        schemaPath = [...schemaPath, "properties", part];
        const next = isObject(value) ? (value as Record<string | number, unknown>)[part] : undefined;
        if (next === undefined && isObject(schema) && schema.default !== undefined) {
            source = {
                kind: "default",
                variable: reference.replace(/^\./, ""),
                path: formatPath([...schemaPath, "default"]),
            };
        }
        value = next !== undefined ? next : isObject(schema) ? schema.default : undefined;
    }
    if (value === UNKNOWN) {
        return {
            state: "unknown",
            path: source.kind === "cluster" ? source.path : root,
            why: "is unknown during preview",
        };
    }
    if (value === undefined) {
        return binding === undefined
            ? {
                  state: "unknown",
                  path: `variable ${JSON.stringify(reference)}`,
                  why: "has no default, and no Cluster of this program that uses the class sets it, so its value is known only at run time, from the Cluster that will use the class",
                  runTimeVariable: root,
              }
            : { state: "missing" };
    }
    return { state: "known", value, source };
}

/**
 * Renders the Go templates ClusterClass authors write for values and enabledIf: text with `{{ .path }}`,
 * `{{ .path | quote }}`, and `{{ if .path }}…{{ else }}…{{ end }}` (Go's truthiness). Anything else
 * (functions, pipelines, ranges) is not evaluated: undefined.
 */
function renderTemplate(
    template: string,
    variable: (reference: string) => Resolved | undefined,
):
    | { readonly text: string; readonly sources: ValueSource[] }
    | { readonly unknown: Resolved & { state: "unknown" } }
    | undefined {
    const parts = template.split(/({{-?\s*[^}]*?\s*-?}})/);
    const sources: ValueSource[] = [];
    const stack: { active: boolean; taken: boolean }[] = [];
    const active = () => stack.every((s) => s.active);
    let text = "";
    for (const part of parts) {
        const action = /^{{-?\s*(.*?)\s*-?}}$/.exec(part);
        if (!action) {
            if (active()) {
                text += part;
            }
            continue;
        }
        const words = action[1];
        const ifMatch = /^if\s+(\.[\w.[\]]+)$/.exec(words);
        if (ifMatch || /^(\.[\w.[\]]+)(\s*\|\s*quote)?$/.test(words)) {
            const reference = ifMatch ? ifMatch[1] : /^(\.[\w.[\]]+)/.exec(words)![1];
            let value: unknown = "";
            if (active() || ifMatch) {
                const resolved = variable(reference);
                if (resolved === undefined) {
                    return undefined;
                }
                if (resolved.state === "unknown") {
                    return { unknown: resolved };
                } else if (resolved.state === "missing") {
                    value = undefined; // renders as <no value>, false in an if
                } else {
                    value = resolved.value;
                    if (resolved.source.kind !== "literal") {
                        sources.push(resolved.source);
                    }
                }
            }
            if (ifMatch) {
                const truthy =
                    value !== undefined &&
                    value !== null &&
                    value !== false &&
                    value !== 0 &&
                    value !== "" &&
                    !(Array.isArray(value) && value.length === 0) &&
                    !(isObject(value) && !Array.isArray(value) && Object.keys(value).length === 0);
                stack.push({ active: truthy, taken: truthy });
            } else if (active()) {
                const rendered =
                    value === undefined ? "<no value>" : typeof value === "string" ? value : JSON.stringify(value);
                text += / quote/.test(words) ? JSON.stringify(rendered) : rendered;
            }
        } else if (words === "else" && stack.length > 0) {
            const top = stack[stack.length - 1];
            top.active = !top.taken;
        } else if (words === "end" && stack.length > 0) {
            stack.pop();
        } else {
            return undefined;
        }
    }
    return stack.length === 0 ? { text, sources } : undefined;
}

/** Sets `value` at a JSON pointer in an empty object, creating objects (and lists for `-` and indexes). */
export function objectWith(pointer: string, value: unknown): Record<string, unknown> | undefined {
    if (!pointer.startsWith("/")) {
        return undefined;
    }
    const tokens = pointer
        .slice(1)
        .split("/")
        .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
    const root: Record<string, unknown> = {};
    let current: Record<string | number, unknown> | unknown[] = root;
    tokens.forEach((token, i) => {
        const last = i === tokens.length - 1;
        const nextIsList = !last && (tokens[i + 1] === "-" || /^\d+$/.test(tokens[i + 1]));
        const child = last ? value : nextIsList ? [] : {};
        if (Array.isArray(current)) {
            current.push(child);
        } else {
            current[token] = child;
        }
        current = child as Record<string, unknown> | unknown[];
    });
    return root;
}

/** Whether a patch definition's selector picks the control plane's KubeadmControlPlaneTemplate. */
function selectsControlPlane(definition: Record<string | number, unknown>): boolean {
    const selector = definition.selector;
    return (
        isObject(selector) &&
        selector.kind === CONTROL_PLANE_TEMPLATE &&
        typeof selector.apiVersion === "string" &&
        selector.apiVersion.startsWith("controlplane.cluster.x-k8s.io/") &&
        isObject(selector.matchResources) &&
        selector.matchResources.controlPlane === true
    );
}

export interface PatchScan {
    readonly values: readonly PatchedValue[];
    readonly unknowns: readonly UnknownPatchValue[];
}

/**
 * Every value the class's inline patches write into its control plane template (add / replace), for one
 * set of variables: a Cluster's (`binding`), or only the defaults (`binding` undefined: what a Cluster
 * that sets nothing gets, and where a value can only be known at run time). Literal values are returned
 * whatever enabledIf says (a switch that exposes the control plane is itself a finding); values from
 * variables only where enabledIf does not evaluate to false.
 */
export function patchedControlPlaneValues(
    clusterClass: unknown,
    classLabel: string,
    binding: ClusterBinding | undefined,
): PatchScan {
    const values: PatchedValue[] = [];
    const unknowns: UnknownPatchValue[] = [];
    const patches = lookup(clusterClass, ["spec", "patches"]);
    if ("unknownAt" in patches) {
        return {
            values,
            unknowns: [
                {
                    patchPath: formatPath(patches.unknownAt),
                    path: formatPath(patches.unknownAt),
                    why: "is unknown during preview",
                },
            ],
        };
    }
    if (!Array.isArray(patches.value)) {
        return { values, unknowns };
    }
    const schemas = variableSchemas(clusterClass);
    const variable = (reference: string) => resolveVariable(reference, schemas, binding, classLabel);
    patches.value.forEach((patch: unknown, p) => {
        if (!isObject(patch) || !Array.isArray(patch.definitions)) {
            return; // external patches (runtime extensions) are not visible here
        }
        const enabledIf = patch.enabledIf;
        let enabled = "on by default (no enabledIf)";
        let off = false;
        if (enabledIf === UNKNOWN) {
            enabled = "on when its enabledIf (unknown during preview) is true";
        } else if (typeof enabledIf === "string" || typeof enabledIf === "boolean") {
            const rendered =
                typeof enabledIf === "boolean"
                    ? { text: String(enabledIf), sources: [] }
                    : renderTemplate(enabledIf, variable);
            if (rendered === undefined || "unknown" in rendered) {
                enabled = `on when its enabledIf ${JSON.stringify(enabledIf)} is true`;
            } else {
                off = rendered.text.trim() !== "true";
                enabled = off
                    ? `off, as its enabledIf ${JSON.stringify(enabledIf)} is not true${describeSources(rendered.sources, binding)}, and on for a Cluster that makes it true`
                    : `on, as its enabledIf ${JSON.stringify(enabledIf)} is true${describeSources(rendered.sources, binding)}`;
            }
        }
        patch.definitions.forEach((definition: unknown, d) => {
            if (!isObject(definition) || !selectsControlPlane(definition) || !Array.isArray(definition.jsonPatches)) {
                return;
            }
            definition.jsonPatches.forEach((jsonPatch: unknown, j) => {
                const at = ["spec", "patches", p, "definitions", d, "jsonPatches", j];
                const patchPath = formatPath(at);
                if (jsonPatch === UNKNOWN) {
                    unknowns.push({ patchPath, path: patchPath, why: "is unknown during preview" });
                    return;
                }
                if (!isObject(jsonPatch) || (jsonPatch.op !== "add" && jsonPatch.op !== "replace")) {
                    return;
                }
                if (typeof jsonPatch.path !== "string") {
                    if (jsonPatch.path === UNKNOWN) {
                        unknowns.push({
                            patchPath,
                            path: formatPath([...at, "path"]),
                            why: "is unknown during preview",
                        });
                    }
                    return;
                }
                const valueFrom = isObject(jsonPatch.valueFrom) ? jsonPatch.valueFrom : undefined;
                let value: unknown;
                let valuePath: FieldPath;
                let sources: ValueSource[] = [];
                if (valueFrom === undefined) {
                    value = jsonPatch.value;
                    valuePath = [...at, "value"];
                    sources = [];
                } else if (typeof valueFrom.variable === "string") {
                    valuePath = [...at, "valueFrom", "variable"];
                    if (off) {
                        return;
                    }
                    const resolved = variable(valueFrom.variable);
                    if (resolved === undefined || resolved.state === "missing") {
                        return;
                    }
                    if (resolved.state === "unknown") {
                        unknowns.push({ patchPath, pointer: jsonPatch.path, ...resolved });
                        return;
                    }
                    value = resolved.value;
                    sources = [resolved.source];
                } else if (typeof valueFrom.template === "string") {
                    valuePath = [...at, "valueFrom", "template"];
                    if (off) {
                        return;
                    }
                    const rendered = renderTemplate(valueFrom.template, variable);
                    if (rendered === undefined) {
                        unknowns.push({
                            patchPath,
                            pointer: jsonPatch.path,
                            path: formatPath(valuePath),
                            why: "is a template this policy does not evaluate (only .variable references, | quote and if / else)",
                        });
                        return;
                    }
                    if ("unknown" in rendered) {
                        unknowns.push({ patchPath, pointer: jsonPatch.path, ...rendered.unknown });
                        return;
                    }
                    try {
                        value = yaml.load(rendered.text);
                    } catch {
                        value = rendered.text;
                    }
                    sources = rendered.sources;
                } else {
                    if (valueFrom.variable === UNKNOWN || valueFrom.template === UNKNOWN) {
                        unknowns.push({
                            patchPath,
                            pointer: jsonPatch.path,
                            path: formatPath([...at, "valueFrom"]),
                            why: "is unknown during preview",
                        });
                    }
                    return;
                }
                const patched = objectWith(jsonPatch.path, value);
                if (patched) {
                    values.push({
                        patchPath,
                        valuePath: formatPath(valuePath),
                        op: jsonPatch.op,
                        pointer: jsonPatch.path,
                        patched,
                        sources,
                        enabled,
                    });
                }
            });
        });
    });
    return { values, unknowns };
}

function describeSources(sources: readonly ValueSource[], binding: ClusterBinding | undefined): string {
    const described = sources.map((s) =>
        s.kind === "cluster"
            ? `${s.variable} as ${binding?.cluster.name ?? "the Cluster"} sets it (${s.path})`
            : s.kind === "default"
              ? `${s.variable} at its default`
              : "",
    );
    return described.length > 0 ? ` with ${described.join(", ")}` : "";
}

/** The KubeadmControlPlaneTemplate's clusterConfiguration a patch writes, and how to name its fields. */
export const CONTROL_PLANE_CLUSTER_CONFIGURATION: FieldPath = [
    "spec",
    "template",
    "spec",
    "kubeadmConfigSpec",
    "clusterConfiguration",
];

export const isClusterClass = (type: string) => isKind(type, CLUSTER_CLASS);
export const isCluster = (type: string) => isKind(type, CLUSTER);
