// Where a cluster definition in a Pulumi program decides the bind address of kube-scheduler and
// kube-controller-manager, and what it says there. Pure: plain JSON in, settings out.
//
// Values that Pulumi cannot know during preview are represented by the UNKNOWN marker (the
// policy glue in policies.ts turns @pulumi/policy's unknown values into it).

import * as yaml from "js-yaml";
import { normalizeFlagName, scanForFlag } from "./bindAddress";

/** Marks a value that is unknown during `pulumi preview` (it depends on another resource's outputs). */
export const UNKNOWN: unique symbol = Symbol("unknown during preview");

export type Component = "kube-scheduler" | "kube-controller-manager";
export const COMPONENTS: readonly Component[] = ["kube-controller-manager", "kube-scheduler"];

export type FieldPath = readonly (string | number)[];

/** A place that sets the bind address explicitly. */
export interface ExplicitSetting {
    readonly state: "set";
    readonly component: Component;
    /** The field that holds the value, e.g. `spec.containers[0].command[3]`. */
    readonly path: string;
    /** The address as written (after Kubernetes `$(VAR)` expansion for containers). */
    readonly value: unknown;
    /** The field's whole text when it holds more than the address, e.g. `--bind-address=0.0.0.0`. */
    readonly written?: string;
    /** How the value was obtained, when that is not obvious from the field. */
    readonly note?: string;
    /** Set when the value is a downward-API pod field (status.podIP / status.hostIP): one address. */
    readonly downwardApi?: string;
}

/** A command line that runs the component without --bind-address (the flag defaults to 0.0.0.0). */
export interface MissingFlag {
    readonly state: "missing";
    readonly component: Component;
    /** The container, e.g. `spec.template.spec.containers[0]`. */
    readonly path: string;
    /** What identified the program, e.g. `command[0] "kube-scheduler"`. */
    readonly program: string;
}

/** A relevant value that is unknown during preview. */
export interface UnknownSetting {
    readonly state: "unknown";
    readonly components: readonly Component[];
    /** The unknown field. */
    readonly path: string;
    /**
     * "bind-address": the field may hold (or is) the bind address.
     * "program": the field decides whether the container runs one of the components at all.
     */
    readonly question: "bind-address" | "program";
}

export type BindAddressSetting = ExplicitSetting | MissingFlag | UnknownSetting;

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

const COMPONENT_NAMES = new Set<string>(COMPONENTS);

/** The component an executable path runs, by basename: `/usr/local/bin/kube-scheduler` -> kube-scheduler. */
export function componentOfExecutable(executable: string): Component | undefined {
    const base = executable.trim().split("/").pop() ?? "";
    return COMPONENT_NAMES.has(base) ? (base as Component) : undefined;
}

/**
 * The component a container image ships, by repository basename without tag, digest or
 * architecture suffix: `registry.k8s.io/kube-scheduler:v1.30.0`,
 * `public.ecr.aws/eks-distro/kubernetes/kube-controller-manager:v1.30.4-eks-1-30-15`,
 * `k8s.gcr.io/kube-scheduler-amd64:v1.10.0`.
 */
export function componentOfImage(image: string): Component | undefined {
    let repository = image.trim().split("@")[0];
    const lastSlash = repository.lastIndexOf("/");
    const tagColon = repository.lastIndexOf(":");
    if (tagColon > lastSlash) {
        repository = repository.slice(0, tagColon);
    }
    const base = (repository.split("/").pop() ?? "").replace(/-(amd64|arm64|arm|ppc64le|s390x)$/, "");
    return COMPONENT_NAMES.has(base) ? (base as Component) : undefined;
}

/**
 * All places in one resource that decide the scheduler / controller-manager bind address.
 * Returns undefined when the resource type is not one that can say so.
 *
 * `props` are the resource's inputs as Pulumi registers them (the Kubernetes object: apiVersion,
 * kind, metadata, spec/data ...), with UNKNOWN for values unknown during preview.
 */
export function extractBindAddressSettings(type: string, props: unknown): BindAddressSetting[] | undefined {
    const parsed = parseKubernetesType(type);
    if (!parsed) {
        return undefined;
    }
    const settings =
        settingsFor(parsed.group, parsed.kind, props, false) ??
        // Server-side-apply patches (DeploymentPatch, ConfigMapPatch, <CustomResource>Patch) set
        // fields on an existing object: check what they set, but a flag they leave out may be
        // present already, so "missing" is not reported for them.
        (parsed.kind.endsWith("Patch") ? settingsFor(parsed.group, parsed.kind.slice(0, -"Patch".length), props, true) : undefined);
    return settings && mergeUnknowns(settings);
}

/** Human-readable list of what extractBindAddressSettings understands (for "not applicable" notes). */
export const COVERED_RESOURCES =
    "EKS Anywhere Cluster, Cluster API KubeadmControlPlane(Template) / KubeadmConfig(Template), " +
    "ConfigMaps holding a kubeadm ClusterConfiguration, and Pods and workloads with pod templates";

const POD_TEMPLATE_SPEC: FieldPath = ["spec", "template", "spec"];
const POD_SPEC_PATHS: Readonly<Record<string, FieldPath>> = {
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

// Where each Cluster API kind keeps its kubeadm ClusterConfiguration.
const CLUSTER_CONFIGURATION_PATHS: Readonly<Record<string, FieldPath>> = {
    "controlplane.cluster.x-k8s.io/KubeadmControlPlane": ["spec", "kubeadmConfigSpec", "clusterConfiguration"],
    "controlplane.cluster.x-k8s.io/KubeadmControlPlaneTemplate": ["spec", "template", "spec", "kubeadmConfigSpec", "clusterConfiguration"],
    "bootstrap.cluster.x-k8s.io/KubeadmConfig": ["spec", "clusterConfiguration"],
    "bootstrap.cluster.x-k8s.io/KubeadmConfigTemplate": ["spec", "template", "spec", "clusterConfiguration"],
};

function settingsFor(group: string, kind: string, props: unknown, patch: boolean): BindAddressSetting[] | undefined {
    const key = `${group}/${kind}`;
    const podSpecPath = POD_SPEC_PATHS[key];
    if (podSpecPath) {
        return podSpecSettings(props, podSpecPath, patch);
    }
    const clusterConfigurationPath = CLUSTER_CONFIGURATION_PATHS[key];
    if (clusterConfigurationPath) {
        return clusterConfigurationSettings(props, clusterConfigurationPath, formatPath);
    }
    if (key === "anywhere.eks.amazonaws.com/Cluster") {
        return eksaClusterSettings(props);
    }
    if (key === "/ConfigMap") {
        return configMapSettings(props);
    }
    return undefined;
}

type Lookup = { readonly value: unknown } | { readonly unknownAt: FieldPath };

function lookup(root: unknown, path: FieldPath): Lookup {
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

function isObject(value: unknown): value is Record<string | number, unknown> {
    return typeof value === "object" && value !== null;
}

type Render = (path: FieldPath) => string;
type KeyMatcher = (key: string) => boolean;

const isKubeadmBindAddressKey: KeyMatcher = (key) => normalizeFlagName(key) === "bind-address";
// The EKS Anywhere design proposed `bindAddress` next to the kubeadm spelling.
const isEksaBindAddressKey: KeyMatcher = (key) => isKubeadmBindAddressKey(key) || key === "bindAddress";

function unknown(components: readonly Component[], path: string, question: UnknownSetting["question"]): UnknownSetting {
    return { state: "unknown", components, path, question };
}

/**
 * extraArgs as a map (kubeadm v1beta3, CAPI v1beta1, EKS-A) or as a list of {name, value}
 * (kubeadm v1beta4, CAPI v1beta2; duplicates allowed, so every entry is checked). A missing key
 * is fine here: kubeadm itself passes --bind-address=127.0.0.1 unless extraArgs overrides it.
 */
function extraArgsSettings(root: unknown, path: FieldPath, component: Component, matches: KeyMatcher, render: Render): BindAddressSetting[] {
    const found = lookup(root, path);
    if ("unknownAt" in found) {
        return [unknown([component], render(found.unknownAt), "bind-address")];
    }
    const extraArgs = found.value;
    const out: BindAddressSetting[] = [];
    const explicit = (at: FieldPath, value: unknown): BindAddressSetting =>
        value === UNKNOWN ? unknown([component], render(at), "bind-address") : { state: "set", component, path: render(at), value };
    if (Array.isArray(extraArgs)) {
        extraArgs.forEach((entry: unknown, i) => {
            const at = [...path, i];
            if (entry === UNKNOWN) {
                out.push(unknown([component], render(at), "bind-address"));
            } else if (isObject(entry)) {
                if (entry.name === UNKNOWN) {
                    out.push(unknown([component], render([...at, "name"]), "bind-address"));
                } else if (typeof entry.name === "string" && matches(entry.name)) {
                    out.push(explicit([...at, "value"], entry.value));
                }
            }
        });
    } else if (isObject(extraArgs)) {
        for (const key of Object.keys(extraArgs)) {
            if (matches(key)) {
                out.push(explicit([...path, key], extraArgs[key]));
            }
        }
    }
    return out;
}

function clusterConfigurationSettings(root: unknown, clusterConfigurationPath: FieldPath, render: Render): BindAddressSetting[] {
    return [
        ...extraArgsSettings(root, [...clusterConfigurationPath, "controllerManager", "extraArgs"], "kube-controller-manager", isKubeadmBindAddressKey, render),
        ...extraArgsSettings(root, [...clusterConfigurationPath, "scheduler", "extraArgs"], "kube-scheduler", isKubeadmBindAddressKey, render),
    ];
}

function eksaClusterSettings(props: unknown): BindAddressSetting[] {
    const base = ["spec", "controlPlaneConfiguration"];
    return [
        ...extraArgsSettings(props, [...base, "controllerManagerExtraArgs"], "kube-controller-manager", isEksaBindAddressKey, formatPath),
        ...extraArgsSettings(props, [...base, "schedulerExtraArgs"], "kube-scheduler", isEksaBindAddressKey, formatPath),
    ];
}

/**
 * Every data value that parses as a kubeadm ClusterConfiguration (kube-system/kubeadm-config keeps
 * it under "ClusterConfiguration"; kubeadm config files may hold several YAML documents).
 * Unknown data values are reported only where a ClusterConfiguration is expected, so that
 * ordinary ConfigMaps with computed values stay quiet.
 */
function configMapSettings(props: unknown): BindAddressSetting[] {
    const name = lookup(props, ["metadata", "name"]);
    const isKubeadmConfig = "value" in name && name.value === "kubeadm-config";
    const found = lookup(props, ["data"]);
    if ("unknownAt" in found) {
        return isKubeadmConfig ? [unknown(COMPONENTS, formatPath(found.unknownAt), "bind-address")] : [];
    }
    const data = found.value;
    if (!isObject(data)) {
        return [];
    }
    const out: BindAddressSetting[] = [];
    for (const key of Object.keys(data)) {
        const text = data[key];
        const dataPath = formatPath(["data", key]);
        if (text === UNKNOWN) {
            if (isKubeadmConfig || key === "ClusterConfiguration") {
                out.push(unknown(COMPONENTS, dataPath, "bind-address"));
            }
            continue;
        }
        if (typeof text !== "string" || !text.includes("ClusterConfiguration")) {
            continue;
        }
        const documents = parseYamlDocuments(text);
        documents.forEach((document, index) => {
            if (!isKubeadmClusterConfiguration(document)) {
                return;
            }
            const where = documents.length > 1 ? `YAML document ${index + 1}` : "YAML";
            out.push(...clusterConfigurationSettings(document, [], (path) => `${dataPath} (${where}): ${formatPath(path)}`));
        });
    }
    return out;
}

function parseYamlDocuments(text: string): unknown[] {
    try {
        return yaml.loadAll(text);
    } catch {
        return []; // not YAML: not a kubeadm configuration either
    }
}

function isKubeadmClusterConfiguration(document: unknown): boolean {
    return (
        isObject(document) &&
        document.kind === "ClusterConfiguration" &&
        typeof document.apiVersion === "string" &&
        document.apiVersion.startsWith("kubeadm.k8s.io/")
    );
}

function podSpecSettings(props: unknown, podSpecPath: FieldPath, patch: boolean): BindAddressSetting[] {
    const found = lookup(props, podSpecPath);
    if ("unknownAt" in found) {
        return [unknown(COMPONENTS, formatPath(found.unknownAt), "program")];
    }
    const spec = found.value;
    if (!isObject(spec)) {
        return [];
    }
    const out: BindAddressSetting[] = [];
    // Init containers count too: native sidecars (restartPolicy: Always) keep running.
    for (const listName of ["initContainers", "containers"]) {
        const list = spec[listName];
        const listPath = [...podSpecPath, listName];
        if (list === UNKNOWN) {
            out.push(unknown(COMPONENTS, formatPath(listPath), "program"));
        } else if (Array.isArray(list)) {
            list.forEach((container: unknown, i) => {
                if (container === UNKNOWN) {
                    out.push(unknown(COMPONENTS, formatPath([...listPath, i]), "program"));
                } else if (isObject(container)) {
                    out.push(...containerSettings(container, [...listPath, i], patch));
                }
            });
        }
    }
    return out;
}

/** One argument of a command line and the field it came from. */
interface Token {
    readonly value: unknown;
    readonly path: FieldPath;
    /** Set for words of a `sh -c` script: the path then names the whole script. */
    readonly inScript?: true;
}

const SHELLS = new Set(["sh", "bash", "dash", "ash", "ksh", "zsh"]);

/**
 * Decides whether a container runs kube-scheduler / kube-controller-manager, and where its flags are:
 * - command[0] is the binary (any path): flags are command[1..] + args;
 * - command is a shell with `-c <script>`: the script's simple commands that start with the binary;
 * - no command: args[0] is the binary (flags args[1..]), or the image is the component's image
 *   (its entrypoint runs with args as flags).
 */
function containerSettings(container: Record<string | number, unknown>, containerPath: FieldPath, patch: boolean): BindAddressSetting[] {
    const at = (...rest: (string | number)[]): FieldPath => [...containerPath, ...rest];
    const tokensOf = (field: "command" | "args", from: number): Token[] => {
        const list = container[field];
        if (list === UNKNOWN) {
            return [{ value: UNKNOWN, path: at(field) }];
        }
        return Array.isArray(list) ? list.slice(from).map((value: unknown, k) => ({ value, path: at(field, from + k) })) : [];
    };
    const unknownProgram = (path: FieldPath) => [unknown(COMPONENTS, formatPath(path), "program")];
    const env = containerEnv(container, at("env"));
    const { command, args, image } = container;

    if (command === UNKNOWN) {
        return unknownProgram(at("command"));
    }
    if (Array.isArray(command) && command.length > 0) {
        const first: unknown = command[0];
        if (first === UNKNOWN) {
            return unknownProgram(at("command", 0));
        }
        if (typeof first !== "string") {
            return [];
        }
        const component = componentOfExecutable(first);
        if (component) {
            const program = `command[0] ${JSON.stringify(first)}`;
            return commandLineSettings(component, [...tokensOf("command", 1), ...tokensOf("args", 0)], formatPath(containerPath), program, env, patch);
        }
        if (SHELLS.has(first.split("/").pop() ?? "")) {
            return shellSettings([...tokensOf("command", 0), ...tokensOf("args", 0)], containerPath, env, patch);
        }
        return [];
    }

    // No command: the image's entrypoint runs with args.
    if (Array.isArray(args) && typeof args[0] === "string") {
        const component = componentOfExecutable(args[0]);
        if (component) {
            const program = `args[0] ${JSON.stringify(args[0])}`;
            return commandLineSettings(component, tokensOf("args", 1), formatPath(containerPath), program, env, patch);
        }
    }
    if (image === UNKNOWN) {
        return unknownProgram(at("image"));
    }
    const component = typeof image === "string" ? componentOfImage(image) : undefined;
    if (!component) {
        return [];
    }
    const program = `image ${JSON.stringify(image)} (its entrypoint, no command)`;
    return commandLineSettings(component, tokensOf("args", 0), formatPath(containerPath), program, env, patch);
}

function commandLineSettings(
    component: Component,
    tokens: readonly Token[],
    containerPath: string,
    program: string,
    env: ContainerEnv,
    patch: boolean,
): BindAddressSetting[] {
    const argv = tokens.map((t) => (t.value === UNKNOWN || typeof t.value === "string" ? t.value : String(t.value)));
    const hits = scanForFlag(argv, "bind-address");
    const out: BindAddressSetting[] = [];
    for (const hit of hits) {
        if (hit.kind === "opaque") {
            // An unknown argument could itself be --bind-address=...
            out.push(unknown([component], formatPath(tokens[hit.index].path), "bind-address"));
        } else if (hit.kind === "no-value") {
            const token = tokens[hit.flagIndex];
            const note = joinNotes(token.inScript ? "a word of the shell script" : undefined, "no value follows the flag");
            out.push({ state: "set", component, path: formatPath(token.path), value: "", written: String(token.value), note });
        } else {
            const token = tokens[hit.valueIndex];
            if (hit.value === UNKNOWN) {
                out.push(unknown([component], formatPath(token.path), "bind-address"));
                continue;
            }
            const value = String(hit.value);
            const written = String(token.value) !== value ? String(token.value) : undefined;
            const setting = expandedSetting(component, formatPath(token.path), value, written, env);
            out.push(token.inScript && setting.state === "set" ? { ...setting, note: joinNotes("a word of the shell script", setting.note) } : setting);
        }
    }
    if (hits.length === 0 && !patch) {
        out.push({ state: "missing", component, path: containerPath, program });
    }
    return out;
}

/** `sh -c "<script>"`: checks the script's simple commands that run a component. */
function shellSettings(tokens: readonly Token[], containerPath: FieldPath, env: ContainerEnv, patch: boolean): BindAddressSetting[] {
    let script: Token | undefined;
    for (let i = 1; i < tokens.length; i++) {
        const value = tokens[i].value;
        if (value === UNKNOWN) {
            return [unknown(COMPONENTS, formatPath(tokens[i].path), "program")];
        }
        if (typeof value !== "string" || !value.startsWith("-")) {
            return []; // a script file or something else we do not read
        }
        if (/^-[a-z]*c[a-z]*$/i.test(value)) {
            script = tokens[i + 1];
            break;
        }
    }
    if (!script) {
        return [];
    }
    if (script.value === UNKNOWN) {
        return [unknown(COMPONENTS, formatPath(script.path), "program")];
    }
    const scriptText = script.value;
    if (typeof scriptText !== "string") {
        return [];
    }
    const scriptToken = script;
    const out: BindAddressSetting[] = [];
    for (const words of shellSimpleCommands(scriptText)) {
        const component = componentOfExecutable(words[0]);
        if (component) {
            const flagTokens = words.slice(1).map((value): Token => ({ value, path: scriptToken.path, inScript: true }));
            const program = `${formatPath(scriptToken.path)} runs ${JSON.stringify(words[0])}`;
            out.push(...commandLineSettings(component, flagTokens, formatPath(containerPath), program, env, patch));
        }
    }
    return out;
}

/**
 * Splits a shell script into simple commands and their words (rough quote removal; no
 * expansion), dropping leading `VAR=value` assignments and `exec`.
 */
function shellSimpleCommands(script: string): string[][] {
    return script
        .replace(/\\\n/g, " ")
        .split(/\n|;|&&|\|\||\|/)
        .map((command) => (command.match(/(?:"[^"]*"|'[^']*'|[^\s"']+)+/g) ?? []).map((word) => word.replace(/["']/g, "")))
        .map((words) => {
            let start = 0;
            while (start < words.length && (words[start] === "exec" || /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[start]))) {
                start++;
            }
            return words.slice(start);
        })
        .filter((words) => words.length > 0);
}

/** A container's env entries by name (last wins), or UNKNOWN with the path of the unknown part. */
type ContainerEnv =
    | { readonly known: ReadonlyMap<string, { readonly entry: Record<string | number, unknown>; readonly path: FieldPath }> }
    | { readonly unknownAt: FieldPath };

function containerEnv(container: Record<string | number, unknown>, envPath: FieldPath): ContainerEnv {
    const list = container.env;
    if (list === UNKNOWN) {
        return { unknownAt: envPath };
    }
    const known = new Map<string, { entry: Record<string | number, unknown>; path: FieldPath }>();
    if (Array.isArray(list)) {
        list.forEach((entry: unknown, i) => {
            if (isObject(entry) && typeof entry.name === "string") {
                known.set(entry.name, { entry, path: [...envPath, i] });
            }
        });
    }
    return { known };
}

const POD_ADDRESS_FIELDS = new Set(["status.podIP", "status.hostIP"]);

/**
 * Applies the kubelet's `$(VAR)` expansion of command and args (`$$` escapes `$`; undefined
 * variables stay as written). A literal env value is substituted; a whole value that is
 * `$(VAR)` with VAR from status.podIP / status.hostIP is one specific address.
 */
function expandedSetting(component: Component, path: string, value: string, written: string | undefined, env: ContainerEnv): BindAddressSetting {
    if (!value.includes("$(")) {
        return { state: "set", component, path, value, written };
    }
    if ("unknownAt" in env) {
        return unknown([component], formatPath(env.unknownAt), "bind-address");
    }
    const whole = /^\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)$/.exec(value);
    if (whole) {
        const definition = env.known.get(whole[1]);
        const valueFrom = definition?.entry.valueFrom;
        if (valueFrom === UNKNOWN) {
            return unknown([component], formatPath([...definition!.path, "valueFrom"]), "bind-address");
        }
        const fieldPath = isObject(valueFrom) && isObject(valueFrom.fieldRef) ? valueFrom.fieldRef.fieldPath : undefined;
        if (fieldPath === UNKNOWN) {
            return unknown([component], formatPath([...definition!.path, "valueFrom", "fieldRef", "fieldPath"]), "bind-address");
        }
        if (typeof fieldPath === "string" && POD_ADDRESS_FIELDS.has(fieldPath)) {
            return {
                state: "set", component, path, value, written, downwardApi: fieldPath,
                note: `${whole[1]} comes from the downward API field ${fieldPath}`,
            };
        }
    }
    const notes: string[] = [];
    let unknownAt: FieldPath | undefined;
    const expanded = value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
        if (name === undefined) {
            return "$";
        }
        const definition = env.known.get(name);
        const literal = definition?.entry.value;
        if (literal === UNKNOWN) {
            unknownAt = [...definition!.path, "value"];
            return match;
        }
        if (typeof literal === "string") {
            notes.push(`$(${name}) is env ${name} = ${JSON.stringify(literal)}`);
            return literal;
        }
        notes.push(`$(${name}) is not resolved by this policy (no literal env value)`);
        return match;
    });
    if (unknownAt) {
        return unknown([component], formatPath(unknownAt), "bind-address");
    }
    return { state: "set", component, path, value: expanded, written: written ?? value, note: joinNotes(...notes) };
}

function joinNotes(...notes: (string | undefined)[]): string | undefined {
    return notes.filter((n) => n).join("; ") || undefined;
}

/** Unknowns found twice at the same field (e.g. both components) become one entry. */
function mergeUnknowns(settings: BindAddressSetting[]): BindAddressSetting[] {
    const out: BindAddressSetting[] = [];
    const byKey = new Map<string, number>();
    for (const setting of settings) {
        if (setting.state !== "unknown") {
            out.push(setting);
            continue;
        }
        const key = `${setting.question} ${setting.path}`;
        const index = byKey.get(key);
        if (index === undefined) {
            byKey.set(key, out.length);
            out.push(setting);
        } else {
            const previous = out[index] as UnknownSetting;
            const components = COMPONENTS.filter((c) => previous.components.includes(c) || setting.components.includes(c));
            out[index] = { ...previous, components };
        }
    }
    return out;
}
