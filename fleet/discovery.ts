/**
 * Discovery: the fleet's stacks found in an EKS Anywhere (Cluster API) management cluster. One
 * Cluster API `Cluster` object is one stack; its kubeconfig is the Secret `<cluster>-kubeconfig`
 * (key `value`) in the Cluster's namespace, read at run time. Pure: the `discover:` section of the
 * fleet file, a Cluster's state (v1beta1 and v1beta2), and what the listing makes of the fleet;
 * discoveryClient.ts does the reading.
 */
import * as yaml from "js-yaml";
import { SettingsError } from "../config/settings";
import { CONFIG_NAMESPACE, kubeconfigProblems, readStackConfig } from "../config/stackConfig";
import { ParsedSelector, matchesSelector, parseLabelSelector } from "../core/labels";

/** Where EKS Anywhere keeps its clusters' `Cluster` objects. */
export const DEFAULT_NAMESPACES = ["eksa-system"];
export const DEFAULT_STACK_NAME = "{name}";
export const DISCOVER_KEYS = [
    "kubeconfig",
    "namespaces",
    "selector",
    "stackName",
    "managementCluster",
    "config",
    "overrides",
];
const OVERRIDE_KEYS = ["selector", "config"];
const TEMPLATE_FIELDS = ["name", "namespace"];

/** The config namespace of the fleet's own marks on a discovered stack (not the program's). */
export const FLEET_CONFIG_NAMESPACE = "eksa-metrics-fleet";
/** `<namespace>/<name>` of the stack's Cluster. */
export const CLUSTER_KEY = `${FLEET_CONFIG_NAMESPACE}:cluster`;
/** The API server of the management cluster that holds it. */
export const MANAGEMENT_KEY = `${FLEET_CONFIG_NAMESPACE}:managementCluster`;

export interface DiscoverOverride {
    selector: ParsedSelector;
    config: Record<string, unknown>;
}

export interface DiscoverSpec {
    /** The management cluster's kubeconfig file (resolved) and its content. */
    kubeconfigPath: string;
    kubeconfig: string;
    /** Its current context's API server: a `Cluster` whose kubeconfig points there is the management cluster itself. */
    server: string;
    namespaces: string[];
    selector: ParsedSelector;
    stackName: string;
    managementCluster: boolean;
    config: Record<string, unknown>;
    overrides: DiscoverOverride[];
}

/** The current context's server URL of a kubeconfig, or undefined. */
export function kubeconfigServer(text: string): string | undefined {
    try {
        const doc = yaml.load(text) as {
            "current-context"?: string;
            contexts?: { name: string; context?: { cluster?: string } }[];
            clusters?: { name: string; cluster?: { server?: string } }[];
        };
        const context = doc?.contexts?.find((c) => c.name === doc["current-context"]);
        return doc?.clusters?.find((c) => c.name === context?.context?.cluster)?.cluster?.server;
    } catch {
        return undefined;
    }
}

/** A stack name from the template: `{name}` and `{namespace}` are the Cluster's. */
export function stackNameFor(template: string, cluster: { namespace: string; name: string }): string {
    return template.replace(/\{(name|namespace)\}/g, (_, field: "name" | "namespace") => cluster[field]);
}

/** The template's own problems (unknown fields, nothing that varies by cluster). */
export function stackNameTemplateProblems(template: string): string[] {
    const problems: string[] = [];
    for (const m of template.matchAll(/\{([^}]*)\}/g)) {
        if (!TEMPLATE_FIELDS.includes(m[1])) {
            problems.push(`{${m[1]}} is not a field: use {name} and {namespace}`);
        }
    }
    if (!/\{name\}/.test(template)) {
        problems.push("has no {name}: every cluster would get the same stack");
    }
    return problems;
}

/**
 * Maps merge key by key (an override's `components: {etcd: false}` keeps the other components of
 * `config`); lists and scalars are replaced.
 */
export function mergeConfig(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
    const isMap = (v: unknown): v is Record<string, unknown> =>
        typeof v === "object" && v !== null && !Array.isArray(v);
    const merged: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(over)) {
        merged[key] = isMap(merged[key]) && isMap(value) ? mergeConfig(merged[key], value) : value;
    }
    return merged;
}

/** The config of a discovered cluster: `config`, then each override whose selector its labels match, in order. */
export function discoveredConfig(
    spec: DiscoverSpec,
    labels: Readonly<Record<string, string>>,
): Record<string, unknown> {
    return spec.overrides
        .filter((o) => matchesSelector(o.selector, labels))
        .reduce((config, o) => mergeConfig(config, o.config), spec.config);
}

export interface DiscoverContext {
    /** Resolves the kubeconfig path as the stacks' are (relative to the fleet file, or ~/). */
    resolve(file: string): string;
    readFile(absolutePath: string): string | Error;
    /** The stack-config checks of the fleet file (key names and kinds), at `label`. */
    checkConfig(label: string, value: unknown, problems: string[]): Record<string, unknown>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

const describe = (value: unknown) => (value === undefined ? "missing" : JSON.stringify(value));

/** Why a file the fleet names cannot be used, for its problem line. */
export function unreadable(error: Error): string {
    return (error as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : `cannot be read (${error.message})`;
}

/** Validates the `discover:` section; pushes every problem and returns the spec when there is none. */
export function parseDiscover(value: unknown, ctx: DiscoverContext, problems: string[]): DiscoverSpec | undefined {
    const before = problems.length;
    if (!isPlainObject(value)) {
        problems.push(
            `discover: ${describe(value)} is not a map. Write discover: {kubeconfig: <management cluster's kubeconfig>, namespaces: [eksa-system]}`,
        );
        return undefined;
    }
    for (const key of Object.keys(value)) {
        if (!DISCOVER_KEYS.includes(key)) {
            problems.push(`discover.${key}: is not a discover key. Known keys: ${DISCOVER_KEYS.join(", ")}`);
        }
    }

    let kubeconfigPath = "";
    let kubeconfig = "";
    let server = "";
    if (typeof value.kubeconfig !== "string" || value.kubeconfig === "") {
        problems.push(
            `discover.kubeconfig: ${describe(value.kubeconfig)} is not a file path. Give the management cluster's kubeconfig (one bound to fleet/rbac/discovery.yaml is enough)`,
        );
    } else {
        kubeconfigPath = ctx.resolve(value.kubeconfig);
        const content = ctx.readFile(kubeconfigPath);
        if (content instanceof Error) {
            problems.push(
                `discover.kubeconfig: ${kubeconfigPath} ${unreadable(content)}. Give the management cluster's kubeconfig (relative to the fleet file's directory, or ~/...)`,
            );
        } else {
            kubeconfig = content;
            const wrong = kubeconfigProblems(content);
            for (const p of wrong) {
                problems.push(
                    `discover.kubeconfig: ${kubeconfigPath} ${p}. Point it at the management cluster's kubeconfig`,
                );
            }
            server = wrong.length === 0 ? (kubeconfigServer(content) ?? "") : "";
        }
    }

    const namespaces = value.namespaces ?? DEFAULT_NAMESPACES;
    const namespaceName = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
    if (
        !Array.isArray(namespaces) ||
        namespaces.length === 0 ||
        namespaces.some((n) => typeof n !== "string" || !namespaceName.test(n))
    ) {
        problems.push(
            `discover.namespaces: ${describe(namespaces)} is not a non-empty list of namespace names. EKS Anywhere keeps its Cluster objects in eksa-system (the default)`,
        );
    } else if (new Set(namespaces).size !== namespaces.length) {
        problems.push(`discover.namespaces: ${describe(namespaces)} lists a namespace twice. Remove one`);
    }

    const selector = (at: string, text: unknown): ParsedSelector | undefined => {
        if (typeof text !== "string") {
            problems.push(
                `${at}: ${describe(text)} is not a label selector. Write e.g. "tier=edge,env in (prod,stage)"`,
            );
            return undefined;
        }
        try {
            return parseLabelSelector(text);
        } catch (err) {
            problems.push(`${at}: ${(err as Error).message}`);
            return undefined;
        }
    };
    const clusterSelector =
        value.selector === undefined ? parseLabelSelector("") : selector("discover.selector", value.selector);

    const stackName = value.stackName ?? DEFAULT_STACK_NAME;
    if (typeof stackName !== "string" || stackName === "") {
        problems.push(
            `discover.stackName: ${describe(stackName)} is not a template. Write e.g. "{name}" or "{namespace}-{name}"`,
        );
    } else {
        for (const p of stackNameTemplateProblems(stackName)) {
            problems.push(`discover.stackName: "${stackName}" ${p}`);
        }
    }

    const managementCluster = value.managementCluster ?? false;
    if (typeof managementCluster !== "boolean") {
        problems.push(
            `discover.managementCluster: ${describe(managementCluster)} is not true or false. Say whether the management cluster's own Cluster object is a stack too (default false)`,
        );
    }

    const config = value.config === undefined ? {} : ctx.checkConfig("discover.config", value.config, problems);

    const overrides: DiscoverOverride[] = [];
    if (value.overrides !== undefined && !Array.isArray(value.overrides)) {
        problems.push(
            `discover.overrides: ${describe(value.overrides)} is not a list. Write overrides: [{selector: "tier=edge", config: {...}}]`,
        );
    } else {
        for (const [i, entry] of ((value.overrides as unknown[]) ?? []).entries()) {
            const at = `discover.overrides[${i}]`;
            if (!isPlainObject(entry)) {
                problems.push(`${at}: ${describe(entry)} is not a map. Write {selector: "tier=edge", config: {...}}`);
                continue;
            }
            for (const key of Object.keys(entry)) {
                if (!OVERRIDE_KEYS.includes(key)) {
                    problems.push(`${at}.${key}: is not an override key. Known keys: ${OVERRIDE_KEYS.join(", ")}`);
                }
            }
            const sel = selector(`${at}.selector`, entry.selector);
            if (sel !== undefined && sel.requirements.length === 0) {
                problems.push(
                    `${at}.selector: is empty, so it matches every cluster. Put that config in discover.config`,
                );
            }
            const cfg =
                entry.config === undefined ? undefined : ctx.checkConfig(`${at}.config`, entry.config, problems);
            if (entry.config === undefined) {
                problems.push(`${at}.config: is missing. Give the config the matching clusters get`);
            }
            if (sel && cfg) {
                overrides.push({ selector: sel, config: cfg });
            }
        }
    }

    if (problems.length > before) {
        return undefined;
    }
    return {
        kubeconfigPath,
        kubeconfig,
        server,
        namespaces: namespaces as string[],
        selector: clusterSelector!,
        stackName: stackName as string,
        managementCluster: managementCluster as boolean,
        config,
        overrides,
    };
}

/**
 * The fields of a Cluster API `Cluster` that discovery reads, per served version (the spec checks
 * them against the module's CRD): paused, phase, deletion, and, without a phase, whether the
 * control plane is up.
 */
export const CLUSTER_FIELDS = {
    v1beta1: ["spec.paused", "status.phase", "status.controlPlaneReady", "status.failureMessage"],
    v1beta2: ["spec.paused", "status.phase", "status.initialization.controlPlaneInitialized", "status.conditions"],
};
/** Cluster API's annotation that pauses a Cluster's reconciliation (as spec.paused does). */
export const PAUSED_ANNOTATION = "cluster.x-k8s.io/paused";
export const PROVISIONED_PHASE = "Provisioned";

export interface ClusterObject {
    apiVersion?: string;
    metadata: {
        name: string;
        namespace?: string;
        labels?: Record<string, string>;
        annotations?: Record<string, string>;
        deletionTimestamp?: string;
    };
    spec?: { paused?: boolean };
    status?: {
        phase?: string;
        controlPlaneReady?: boolean;
        failureMessage?: string;
        initialization?: { controlPlaneInitialized?: boolean };
        conditions?: { type: string; status: string; reason?: string; message?: string }[];
    };
}

/** Why a Cluster cannot get its stack now, or undefined when it can (its control plane is provisioned and it is not paused). */
export function clusterNotReady(cluster: ClusterObject): string | undefined {
    if (cluster.metadata.deletionTimestamp) {
        return `being deleted (since ${cluster.metadata.deletionTimestamp})`;
    }
    if (cluster.spec?.paused === true) {
        return "paused (spec.paused: true)";
    }
    if (cluster.metadata.annotations?.[PAUSED_ANNOTATION] !== undefined) {
        return `paused (annotation ${PAUSED_ANNOTATION})`;
    }
    const status = cluster.status ?? {};
    if (status.phase !== undefined) {
        if (status.phase === PROVISIONED_PHASE) {
            return undefined;
        }
        const failure =
            status.failureMessage ??
            status.conditions?.find((c) => c.type === "Available" && c.status === "False")?.message;
        return `not provisioned (phase ${status.phase}${failure ? `: ${failure}` : ""})`;
    }
    // No phase (yet): a control plane that is up will do.
    const v1beta2 = cluster.apiVersion?.endsWith("/v1beta2") ?? false;
    const up = v1beta2 ? status.initialization?.controlPlaneInitialized : status.controlPlaneReady;
    return up === true
        ? undefined
        : `not provisioned (no status.phase, ${v1beta2 ? "status.initialization.controlPlaneInitialized" : "status.controlPlaneReady"} not true)`;
}

/** What the management cluster said of one Cluster's kubeconfig Secret. */
export type SecretAnswer =
    { kind: "found"; value: string | undefined } | { kind: "missing" } | { kind: "not read"; why: string };

/** One Cluster as the listing gave it, and its Secret when it was read (only for the clusters that can get a stack). */
export interface ListedCluster {
    object: ClusterObject;
    namespace: string;
    secret?: SecretAnswer;
}

/** `<cluster>-kubeconfig`: Cluster API's kubeconfig Secret of a cluster. */
export const kubeconfigSecretName = (cluster: string) => `${cluster}-kubeconfig`;

export interface DiscoveredStack {
    name: string;
    kubeconfigSource: string;
    kubeconfig: string;
    config: Record<string, unknown>;
    /** `<namespace>/<name>`; stored as the stack's eksa-metrics-fleet:cluster. */
    cluster: string;
    labels: Record<string, string>;
}

export interface SkippedCluster {
    cluster: string;
    /** The stack it would be. */
    stack: string;
    reason: string;
    /** The cluster is in the fleet but cannot get its stack now (paused, not provisioned, no Secret): an existing stack of it is kept. */
    transient: boolean;
}

export interface DiscoveryPlan {
    stacks: DiscoveredStack[];
    skipped: SkippedCluster[];
    problems: string[];
}

/** Whether a Cluster's Secret is worth reading: selected and ready. */
export function wantsSecret(spec: DiscoverSpec, cluster: ClusterObject): boolean {
    return matchesSelector(spec.selector, cluster.metadata.labels ?? {}) && clusterNotReady(cluster) === undefined;
}

/**
 * The fleet's discovered stacks from the listing: a stack per selected Cluster that is ready and
 * whose Secret holds a usable kubeconfig; the others skipped with the reason. Problems (that stop
 * the run): a stack name that is not one, or is taken twice, and config the program refuses.
 */
export function planDiscovery(spec: DiscoverSpec, listing: ListedCluster[], listedStacks: string[]): DiscoveryPlan {
    const stacks: DiscoveredStack[] = [];
    const skipped: SkippedCluster[] = [];
    const problems: string[] = [];
    const taken = new Map(listedStacks.map((n) => [n, "a stack of the fleet file's stacks list"]));
    const stackName = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
    let sawManagement = false;
    for (const { object, namespace, secret } of listing) {
        const labels = object.metadata.labels ?? {};
        if (!matchesSelector(spec.selector, labels)) {
            continue;
        }
        const id = `${namespace}/${object.metadata.name}`;
        const name = stackNameFor(spec.stackName, { namespace, name: object.metadata.name });
        const skip = (reason: string, transient = true) =>
            skipped.push({ cluster: id, stack: name, reason, transient });
        const notReady = clusterNotReady(object);
        if (notReady !== undefined) {
            skip(notReady);
            continue;
        }
        const secretName = `${namespace}/${kubeconfigSecretName(object.metadata.name)}`;
        if (secret === undefined || secret.kind === "not read") {
            skip(`kubeconfig Secret ${secretName} not read${secret?.kind === "not read" ? `: ${secret.why}` : ""}`);
            continue;
        }
        if (secret.kind === "missing") {
            skip(`no kubeconfig Secret ${secretName}`);
            continue;
        }
        if (secret.value === undefined || secret.value === "") {
            skip(`Secret ${secretName} has no key "value"`);
            continue;
        }
        const wrong = kubeconfigProblems(secret.value);
        if (wrong.length > 0) {
            skip(`Secret ${secretName}: its value ${wrong.join("; ")}`);
            continue;
        }
        if (kubeconfigServer(secret.value) === spec.server) {
            sawManagement = true;
            if (!spec.managementCluster) {
                skip(
                    `the management cluster itself (its kubeconfig's server is ${spec.server}; discover.managementCluster is false)`,
                    false,
                );
                continue;
            }
        }
        const at = `discover: Cluster ${id} (stack ${name})`;
        if (!stackName.test(name)) {
            problems.push(
                `${at}: "${name}" is not a valid stack name. Change discover.stackName, or rename the cluster (letters, digits, '-', '_', '.')`,
            );
            continue;
        }
        const other = taken.get(name);
        if (other !== undefined) {
            problems.push(
                `${at}: the stack name is also ${other}. Change discover.stackName (e.g. "{namespace}-{name}") or the stacks list`,
            );
            continue;
        }
        taken.set(name, `the stack of Cluster ${id}`);
        const config = discoveredConfig(spec, labels);
        const raw: Record<string, string> = { [`${CONFIG_NAMESPACE}:kubeconfig`]: secret.value };
        for (const [key, value] of Object.entries(config)) {
            raw[`${CONFIG_NAMESPACE}:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
        }
        try {
            readStackConfig(raw);
        } catch (err) {
            if (!(err instanceof SettingsError)) {
                throw err;
            }
            problems.push(
                ...err.problems.map(
                    (p) => `${at}: config (discover.config and the overrides that match its labels): ${p}`,
                ),
            );
            continue;
        }
        stacks.push({
            name,
            kubeconfigSource: `Secret ${secretName}`,
            kubeconfig: secret.value,
            config,
            cluster: id,
            labels,
        });
    }
    if (spec.managementCluster && !sawManagement) {
        problems.push(
            `discover.managementCluster: true, but no selected Cluster's kubeconfig points at the management cluster (${spec.server}). List it under stacks with its kubeconfig instead`,
        );
    }
    return { stacks, skipped, problems };
}

/** A stack an earlier discovery made (its marks, from its config), whose cluster is not in the fleet now. */
export interface GoneStack {
    stack: string;
    cluster: string;
    reason: string;
    /** Its Cluster object is gone: the cluster's API server may be gone too. */
    clusterDeleted: boolean;
}

/**
 * Stacks marked as discovered from this management cluster, in one of its namespaces, that are
 * neither a stack nor a skipped cluster of this discovery: their Cluster was deleted, or it is no
 * longer selected (selector, stackName or managementCluster changed).
 */
export function goneStacks(
    spec: DiscoverSpec,
    marked: { stack: string; cluster: string; management: string }[],
    listing: ListedCluster[],
    plan: DiscoveryPlan,
): GoneStack[] {
    const current = new Set([
        ...plan.stacks.map((s) => s.name),
        ...plan.skipped.filter((s) => s.transient).map((s) => s.stack),
    ]);
    const listed = new Set(listing.map((c) => `${c.namespace}/${c.object.metadata.name}`));
    return marked
        .filter((m) => m.management === spec.server && spec.namespaces.includes(m.cluster.split("/")[0]))
        .filter((m) => !current.has(m.stack))
        .map((m) => {
            const deleted = !listed.has(m.cluster);
            return {
                stack: m.stack,
                cluster: m.cluster,
                clusterDeleted: deleted,
                reason: deleted
                    ? `Cluster ${m.cluster} no longer exists`
                    : `Cluster ${m.cluster} is no longer in the fleet (discover.selector, stackName or managementCluster changed)`,
            };
        });
}
