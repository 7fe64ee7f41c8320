// Where Kubernetes, kubeadm, Cluster API and EKS Anywhere objects keep the settings the policies
// read, and how to read them from a resource's props. Pure: plain JSON in, values out.
//
// Values that Pulumi cannot know during preview are represented by the UNKNOWN marker (lib/preview.ts
// turns @pulumi/policy's unknown values into it).

import * as yaml from "js-yaml";
import { gunzipSync } from "zlib";
import { normalizeFlagName } from "./flags";

/** Marks a value that is unknown during `pulumi preview` (it depends on another resource's outputs). */
export const UNKNOWN: unique symbol = Symbol("unknown during preview");

export type FieldPath = readonly (string | number)[];
export type Render = (path: FieldPath) => string;

export interface KubernetesType {
    /** "" for the core group. */
    readonly group: string;
    readonly version: string;
    readonly kind: string;
}

/**
 * Parses a Pulumi Kubernetes type token: `kubernetes:core/v1:Pod`, `kubernetes:apps/v1:Deployment`,
 * and for CustomResources `kubernetes:<apiVersion>:<kind>`, e.g.
 * `kubernetes:controlplane.cluster.x-k8s.io/v1beta1:KubeadmControlPlane`.
 */
export function parseKubernetesType(type: string): KubernetesType | undefined {
    const match = /^kubernetes:([^:]+):([^:]+)$/.exec(type);
    if (!match) {
        return undefined;
    }
    const [, apiVersion, kind] = match;
    const slash = apiVersion.lastIndexOf("/");
    const group = slash >= 0 ? apiVersion.slice(0, slash) : "";
    const version = slash >= 0 ? apiVersion.slice(slash + 1) : apiVersion;
    return { group: group === "core" ? "" : group, version, kind };
}

/** `group/Kind` of a type token, and whether it is a server-side-apply patch (`DeploymentPatch`, `ConfigMapPatch` ...). */
export interface ResourceKind {
    readonly key: string;
    /** A patch sets fields on an existing object: what it leaves out may be there already. */
    readonly patch: boolean;
}

/** The kinds a type token may stand for: itself, and for `<Kind>Patch` also `<Kind>` as a patch. */
export function resourceKinds(type: string): ResourceKind[] {
    const parsed = parseKubernetesType(type);
    if (!parsed) {
        return [];
    }
    const kinds: ResourceKind[] = [{ key: `${parsed.group}/${parsed.kind}`, patch: false }];
    if (parsed.kind.endsWith("Patch")) {
        kinds.push({ key: `${parsed.group}/${parsed.kind.slice(0, -"Patch".length)}`, patch: true });
    }
    return kinds;
}

/** Renders a field path as `spec.containers[0].command[3]` / `extraArgs["bind-address"]`. */
export function formatPath(path: FieldPath): string {
    let out = "";
    for (const segment of path) {
        if (typeof segment === "number") {
            out += `[${segment}]`;
        } else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(segment)) {
            out += out === "" ? segment : `.${segment}`;
        } else {
            out += `[${JSON.stringify(segment)}]`;
        }
    }
    return out;
}

export function isObject(value: unknown): value is Record<string | number, unknown> {
    return typeof value === "object" && value !== null;
}

export type Lookup = { readonly value: unknown } | { readonly unknownAt: FieldPath };

/** Walks `path` from `root`; reports the first unknown part. A missing part is `{value: undefined}`. */
export function lookup(root: unknown, path: FieldPath): Lookup {
    let current = root;
    for (let i = 0; i < path.length; i++) {
        if (current === UNKNOWN) {
            return { unknownAt: path.slice(0, i) };
        }
        if (!isObject(current)) {
            return { value: undefined };
        }
        current = current[path[i]];
    }
    return current === UNKNOWN ? { unknownAt: path } : { value: current };
}

/** `<type> <namespace>/<name>`, from metadata where known, else from the Pulumi resource name. */
export function describeResource(type: string, pulumiName: string, props: unknown): string {
    const metadata = isObject(props) && isObject(props.metadata) ? props.metadata : {};
    const name = typeof metadata.name === "string" ? metadata.name : undefined;
    const namespace = typeof metadata.namespace === "string" ? metadata.namespace : undefined;
    if (name === undefined) {
        return `${type} (Pulumi resource "${pulumiName}")`;
    }
    const objectName = namespace ? `${namespace}/${name}` : name;
    return objectName === pulumiName
        ? `${type} ${objectName}`
        : `${type} ${objectName} (Pulumi resource "${pulumiName}")`;
}

/** A value found at a field, or a field that is unknown during preview. */
export type Found =
    | { readonly state: "set"; readonly path: string; readonly value: unknown }
    | { readonly state: "unknown"; readonly path: string };

// ---- workloads -------------------------------------------------------------------------------

const POD_TEMPLATE_SPEC: FieldPath = ["spec", "template", "spec"];
/** Where each workload kind keeps its pod spec. */
export const POD_SPEC_PATHS: Readonly<Record<string, FieldPath>> = {
    "/Pod": ["spec"],
    "/PodTemplate": ["template", "spec"],
    "/ReplicationController": POD_TEMPLATE_SPEC,
    "apps/Deployment": POD_TEMPLATE_SPEC,
    "apps/StatefulSet": POD_TEMPLATE_SPEC,
    "apps/DaemonSet": POD_TEMPLATE_SPEC,
    "apps/ReplicaSet": POD_TEMPLATE_SPEC,
    "extensions/Deployment": POD_TEMPLATE_SPEC,
    "extensions/DaemonSet": POD_TEMPLATE_SPEC,
    "extensions/ReplicaSet": POD_TEMPLATE_SPEC,
    "batch/Job": POD_TEMPLATE_SPEC,
    "batch/CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
};

export interface Workload {
    readonly podSpecPath: FieldPath;
    readonly patch: boolean;
}

/** The pod spec location of a workload type token (patches included), or undefined. */
export function workloadOf(type: string): Workload | undefined {
    for (const kind of resourceKinds(type)) {
        const podSpecPath = POD_SPEC_PATHS[kind.key];
        if (podSpecPath) {
            return { podSpecPath, patch: kind.patch };
        }
    }
    return undefined;
}

// ---- kubeadm, Cluster API, EKS Anywhere ------------------------------------------------------

/** Where each Cluster API kind keeps its KubeadmConfigSpec (clusterConfiguration, files ...). */
export const KUBEADM_CONFIG_SPEC_PATHS: Readonly<Record<string, FieldPath>> = {
    "controlplane.cluster.x-k8s.io/KubeadmControlPlane": ["spec", "kubeadmConfigSpec"],
    "controlplane.cluster.x-k8s.io/KubeadmControlPlaneTemplate": ["spec", "template", "spec", "kubeadmConfigSpec"],
    "bootstrap.cluster.x-k8s.io/KubeadmConfig": ["spec"],
    "bootstrap.cluster.x-k8s.io/KubeadmConfigTemplate": ["spec", "template", "spec"],
};

export const EKSA_CLUSTER = "anywhere.eks.amazonaws.com/Cluster";
export const CONFIG_MAP = "/ConfigMap";

/** The KubeadmConfigSpec path of a Cluster API type token (patches included), or undefined. */
export function kubeadmConfigSpecOf(type: string): FieldPath | undefined {
    for (const kind of resourceKinds(type)) {
        const path = KUBEADM_CONFIG_SPEC_PATHS[kind.key];
        if (path) {
            return path;
        }
    }
    return undefined;
}

/** True when the type token is `key` (group/Kind) or its server-side-apply patch. */
export function isKind(type: string, key: string): boolean {
    return resourceKinds(type).some((kind) => kind.key === key);
}

export type KeyMatcher = (key: string) => boolean;

/** Matches an extraArgs key or flag name, with pflag's "_" = "-". */
export function flagKey(name: string): KeyMatcher {
    return (key) => normalizeFlagName(key) === name;
}

/**
 * The values of one argument in kubeadm-style extraArgs: a map (kubeadm v1beta3, CAPI v1beta1,
 * EKS-A) or a list of {name, value} (kubeadm v1beta4, CAPI v1beta2; duplicates allowed, so every
 * entry is returned). A missing argument returns nothing.
 */
export function extraArgValues(root: unknown, path: FieldPath, matches: KeyMatcher, render: Render): Found[] {
    const found = lookup(root, path);
    if ("unknownAt" in found) {
        return [{ state: "unknown", path: render(found.unknownAt) }];
    }
    const extraArgs = found.value;
    const at = (where: FieldPath, value: unknown): Found =>
        value === UNKNOWN ? { state: "unknown", path: render(where) } : { state: "set", path: render(where), value };
    const out: Found[] = [];
    if (Array.isArray(extraArgs)) {
        extraArgs.forEach((entry: unknown, i) => {
            const entryPath = [...path, i];
            if (entry === UNKNOWN) {
                out.push({ state: "unknown", path: render(entryPath) });
            } else if (isObject(entry)) {
                if (entry.name === UNKNOWN) {
                    out.push({ state: "unknown", path: render([...entryPath, "name"]) });
                } else if (typeof entry.name === "string" && matches(entry.name)) {
                    out.push(at([...entryPath, "value"], entry.value));
                }
            }
        });
    } else if (isObject(extraArgs)) {
        for (const key of Object.keys(extraArgs)) {
            if (matches(key)) {
                out.push(at([...path, key], extraArgs[key]));
            }
        }
    }
    return out;
}

/** A configuration document (one YAML document) found in a resource, and how to name its fields. */
export interface ConfigDocument {
    readonly document: Record<string, unknown>;
    readonly render: Render;
}

export interface DocumentScan {
    readonly documents: readonly ConfigDocument[];
    /** Fields that may hold such a document but are unknown during preview. */
    readonly unknowns: readonly string[];
}

export type DocumentFilter = (document: Record<string, unknown>) => boolean;

/** A document of `kind` in the API group `group` (any version), e.g. kubeadm.k8s.io ClusterConfiguration. */
export function isConfigDocument(group: string, kind: string): DocumentFilter {
    return (document) =>
        document.kind === kind &&
        typeof document.apiVersion === "string" &&
        document.apiVersion.startsWith(`${group}/`);
}

export const isKubeadmClusterConfiguration = isConfigDocument("kubeadm.k8s.io", "ClusterConfiguration");

/**
 * The documents of a ConfigMap's data values that pass `filter` (any key: kube-system/kubeadm-config
 * keeps its under "ClusterConfiguration", kube-system/kube-proxy under "config.conf", and files
 * may hold several YAML documents). Unknown data is reported only for the ConfigMaps and keys
 * named in `expected`, so that ordinary ConfigMaps with computed values stay quiet.
 */
export function configMapDocuments(
    props: unknown,
    filter: DocumentFilter,
    marker: string,
    expected: { readonly names: readonly string[]; readonly keys: readonly string[] },
): DocumentScan {
    const name = lookup(props, ["metadata", "name"]);
    const isExpected = "value" in name && typeof name.value === "string" && expected.names.includes(name.value);
    const found = lookup(props, ["data"]);
    if ("unknownAt" in found) {
        return { documents: [], unknowns: isExpected ? [formatPath(found.unknownAt)] : [] };
    }
    const data = found.value;
    if (!isObject(data)) {
        return { documents: [], unknowns: [] };
    }
    const documents: ConfigDocument[] = [];
    const unknowns: string[] = [];
    for (const key of Object.keys(data)) {
        const dataPath = formatPath(["data", key]);
        const text = data[key];
        if (text === UNKNOWN) {
            if (isExpected || expected.keys.includes(key)) {
                unknowns.push(dataPath);
            }
        } else if (typeof text === "string" && text.includes(marker)) {
            documents.push(...documentsOf(text, dataPath, filter));
        }
    }
    return { documents, unknowns };
}

/**
 * The documents in a KubeadmConfigSpec's `files` that pass `filter` (e.g. a KubeProxyConfiguration
 * that a postKubeadmCommand applies). `encoding: base64` and `gzip+base64` are decoded; `contentFrom`
 * (a Secret) is not visible to the policy.
 */
export function kubeadmFilesDocuments(
    props: unknown,
    specPath: FieldPath,
    filter: DocumentFilter,
    marker: string,
): DocumentScan {
    const found = lookup(props, [...specPath, "files"]);
    if ("unknownAt" in found) {
        return { documents: [], unknowns: [formatPath(found.unknownAt)] };
    }
    if (!Array.isArray(found.value)) {
        return { documents: [], unknowns: [] };
    }
    const documents: ConfigDocument[] = [];
    const unknowns: string[] = [];
    found.value.forEach((file: unknown, i) => {
        const filePath = [...specPath, "files", i];
        if (file === UNKNOWN || (isObject(file) && (file.content === UNKNOWN || file.encoding === UNKNOWN))) {
            unknowns.push(formatPath(file === UNKNOWN ? filePath : [...filePath, "content"]));
            return;
        }
        if (!isObject(file) || typeof file.content !== "string") {
            return;
        }
        const text = decodeFileContent(file.content, file.encoding);
        if (text !== undefined && text.includes(marker)) {
            const where =
                typeof file.path === "string"
                    ? `${formatPath([...filePath, "content"])} (${file.path})`
                    : formatPath([...filePath, "content"]);
            documents.push(...documentsOf(text, where, filter));
        }
    });
    return { documents, unknowns };
}

function decodeFileContent(content: string, encoding: unknown): string | undefined {
    try {
        if (encoding === "base64") {
            return Buffer.from(content, "base64").toString("utf8");
        }
        if (encoding === "gzip+base64") {
            return gunzipSync(Buffer.from(content, "base64")).toString("utf8");
        }
        return content;
    } catch {
        return undefined; // not what it says it is: nothing a component would read either
    }
}

function documentsOf(text: string, where: string, filter: DocumentFilter): ConfigDocument[] {
    let parsed: unknown[];
    try {
        parsed = yaml.loadAll(text);
    } catch {
        return []; // not YAML: not a configuration document either
    }
    const out: ConfigDocument[] = [];
    parsed.forEach((document, index) => {
        if (isObject(document) && filter(document as Record<string, unknown>)) {
            const label = parsed.length > 1 ? `YAML document ${index + 1}` : "YAML";
            out.push({
                document: document as Record<string, unknown>,
                render: (path) => `${where} (${label}): ${formatPath(path)}`,
            });
        }
    });
    return out;
}

/** The kubeadm ClusterConfigurations of a resource: Cluster API kinds' field, or documents in a ConfigMap. */
export function clusterConfigurations(type: string, props: unknown): DocumentScan | undefined {
    const specPath = kubeadmConfigSpecOf(type);
    if (specPath) {
        const path = [...specPath, "clusterConfiguration"];
        const found = lookup(props, path);
        if ("unknownAt" in found) {
            return { documents: [], unknowns: [formatPath(found.unknownAt)] };
        }
        // The field itself, named from the resource's root.
        const document = isObject(found.value) ? (found.value as Record<string, unknown>) : {};
        return { documents: [{ document, render: (sub) => formatPath([...path, ...sub]) }], unknowns: [] };
    }
    if (isKind(type, CONFIG_MAP)) {
        return configMapDocuments(props, isKubeadmClusterConfiguration, "ClusterConfiguration", {
            names: ["kubeadm-config"],
            keys: ["ClusterConfiguration"],
        });
    }
    return undefined;
}
