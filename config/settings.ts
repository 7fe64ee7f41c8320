/**
 * Validation of everything that decides the shape of the metrics stack. Pure: no Pulumi engine,
 * so a bad value fails before any resource is registered, with the key that holds it and the fix.
 * Argument names double as stack config keys (`eksa-metrics:<name>`), so one message serves both.
 */
import * as net from "net";
import {
    CATALOGUE,
    CatalogueEntry,
    COMPONENT_NAMES,
    ComponentName,
    CONTROLLER_NAMES,
    ControllerTarget,
    isComponentName,
} from "../core/catalogue";
import {
    EtcdTopology,
    MetricsStackArgs,
    ReaderSubject,
    StackOptions,
    TolerationSetting,
    VerificationMode,
} from "./args";
import { CONFIG_SCHEMA, ConfigKey, DEFAULTS, OPTION_KEYS, PROMETHEUS_SCRAPE_TIMEOUT_SECONDS, RANGES } from "./schema";
import { parseRegistryPrefix } from "../core/images";

export * from "./args";

export interface Settings {
    components: CatalogueEntry[];
    etcd: { topology: EtcdTopology; endpoints: string[] };
    namespace: string;
    createNamespace: boolean;
    readers: ReaderSubject[];
    tolerations: TolerationSetting[];
    nodeSelector: Record<string, string>;
    healthPort: number;
    serverTimeoutSeconds: number;
    authFailureLimit: { failures: number; periodSeconds: number };
    tlsServerName: string;
    tlsValidityDays: number;
    tlsCaValidityDays: number;
    rolloutTimeoutMinutes: number;
    verify: {
        enabled: boolean;
        timeoutSeconds: number;
        concurrency: number;
        serviceAccount?: { name: string; namespace: string };
        mode: VerificationMode;
    };
    readersMayNotExistYet: boolean;
    /** The verification's own service account, which the stack creates: set when readers may not exist yet. */
    verifierServiceAccount?: { name: string; namespace: string };
    offlinePreview: boolean;
    replaceDocsMetricsProxy: boolean;
    prometheus: { jobNames: Record<ComponentName, string>; alertForSeconds: number };
    prometheusOperator: { enabled: boolean; namespace: string; labels: Record<string, string> };
    /** `expect` undefined: not said (index.ts fills in the controllers present; MetricsStack scrapes none). */
    controllers: { expect?: string[]; extra: ControllerTarget[]; tls: { caCertificate?: string; serverName?: string } };
    /** The registry mirror every default image is pulled from (a valid registry prefix), or none. */
    imageRegistry?: string;
    imagePullSecrets: string[];
}

export const DEFAULT_READERS: ReaderSubject[] = DEFAULTS.readers;
export const DEFAULT_NAMESPACE = DEFAULTS.namespace;
export const DEFAULT_HEALTH_PORT = DEFAULTS.healthPort;
/** config/schema.ts DEFAULTS.authFailureLimit. */
export const DEFAULT_AUTH_FAILURE_LIMIT: { failures: number; periodSeconds: number } = DEFAULTS.authFailureLimit;
/** The service account the stack creates for the verification when readers may not exist yet. */
export const VERIFIER_SERVICE_ACCOUNT = "eksa-metrics-verifier";
/** A service account the stack creates and binds to nothing: the verification proves its token is refused. */
export const UNBOUND_SERVICE_ACCOUNT = "eksa-metrics-unbound";
export const VERIFICATION_MODES = ["cluster", "local"] as const;
export { PROMETHEUS_SCRAPE_TIMEOUT_SECONDS };

export class SettingsError extends Error {
    constructor(
        readonly problems: string[],
        heading = "invalid eksa-metrics configuration",
    ) {
        super(`${heading}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "SettingsError";
    }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME =
    /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** Collects problems as "<key>: <what is wrong>. <how to fix>" lines. */
class Problems {
    readonly list: string[] = [];
    constructor(private readonly prefix: string) {}
    add(key: string, problem: string, fix: string): void {
        this.list.push(`${this.prefix}${key}: ${problem}. ${fix}`);
    }
}

function isInteger(value: unknown): value is number {
    return typeof value === "number" && Number.isInteger(value);
}

function checkInteger(
    problems: Problems,
    key: string,
    value: unknown,
    [min, max]: readonly [number, number],
    fallback: number,
): number {
    if (value === undefined) {
        return fallback;
    }
    if (!isInteger(value) || value < min || value > max) {
        problems.add(
            key,
            `${JSON.stringify(value)} is not a whole number from ${min} to ${max}`,
            `Set a whole number in that range, or remove it for the default ${fallback}`,
        );
        return fallback;
    }
    return value;
}

function checkBoolean(problems: Problems, key: string, value: unknown, fallback: boolean): boolean {
    if (value === undefined) {
        return fallback;
    }
    if (typeof value !== "boolean") {
        problems.add(
            key,
            `${JSON.stringify(value)} is not true or false`,
            `Set true or false, or remove it for the default ${fallback}`,
        );
        return fallback;
    }
    return value;
}

function checkKnownKeys(problems: Problems, key: string, value: object, known: readonly string[]): void {
    for (const k of Object.keys(value)) {
        if (!known.includes(k)) {
            problems.add(
                key ? `${key}.${k}` : k,
                "is not a known setting",
                `Known settings${key ? ` of ${key}` : ""}: ${known.join(", ")}`,
            );
        }
    }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function resolveComponents(problems: Problems, value: unknown): CatalogueEntry[] {
    if (value === undefined) {
        return [...CATALOGUE];
    }
    if (!isPlainObject(value)) {
        problems.add(
            "components",
            `${JSON.stringify(value)} is not a map of component to true/false`,
            `Write e.g. {"etcd": false}; components: ${COMPONENT_NAMES.join(", ")}`,
        );
        return [...CATALOGUE];
    }
    for (const [name, on] of Object.entries(value)) {
        if (!isComponentName(name)) {
            problems.add(
                `components.${name}`,
                "is not a component this stack exposes",
                `Use one of: ${COMPONENT_NAMES.join(", ")}`,
            );
        } else if (typeof on !== "boolean") {
            problems.add(
                `components.${name}`,
                `${JSON.stringify(on)} is not true or false`,
                "Set true to expose it or false to leave it out",
            );
        }
    }
    return CATALOGUE.filter((entry) => value[entry.name] !== false);
}

function resolveEtcd(problems: Problems, value: unknown): Settings["etcd"] {
    if (value === undefined) {
        return { topology: "stacked", endpoints: [] };
    }
    if (!isPlainObject(value)) {
        problems.add(
            "etcd",
            `${JSON.stringify(value)} is not an object`,
            'Write {"topology": "stacked"} or {"topology": "external", "endpoints": ["https://10.0.0.5:2379"]}',
        );
        return { topology: "stacked", endpoints: [] };
    }
    checkKnownKeys(problems, "etcd", value, ["topology", "endpoints"]);
    const topology = value.topology ?? "stacked";
    if (topology !== "stacked" && topology !== "external") {
        problems.add(
            "etcd.topology",
            `${JSON.stringify(topology)} is not "stacked" or "external"`,
            'Use "stacked" when etcd runs on the control-plane nodes, "external" for unstacked etcd machines',
        );
        return { topology: "stacked", endpoints: [] };
    }
    const endpoints = value.endpoints ?? [];
    if (!Array.isArray(endpoints) || endpoints.some((e) => typeof e !== "string")) {
        problems.add(
            "etcd.endpoints",
            `${JSON.stringify(endpoints)} is not a list of URLs`,
            'Write e.g. ["https://10.0.0.5:2379"]',
        );
        return { topology, endpoints: [] };
    }
    if (topology === "stacked" && endpoints.length > 0) {
        problems.add(
            "etcd.endpoints",
            "is only meaningful with an external etcd",
            'Set etcd.topology to "external", or remove etcd.endpoints',
        );
    }
    if (topology === "external" && endpoints.length === 0) {
        problems.add(
            "etcd.endpoints",
            "is empty but etcd.topology is external",
            "List the etcd machines' metrics URLs, e.g. https://10.0.0.5:2379",
        );
    }
    endpoints.forEach((endpoint: string, i: number) => {
        const problem = externalEtcdEndpointProblem(endpoint);
        if (problem) {
            problems.add(
                `etcd.endpoints[${i}]`,
                `${JSON.stringify(endpoint)} ${problem}`,
                "Write https://<etcd-machine-ip>:2379",
            );
        }
    });
    return { topology, endpoints };
}

function externalEtcdEndpointProblem(endpoint: string): string | undefined {
    let url: URL;
    try {
        url = new URL(endpoint);
    } catch {
        return "is not a URL";
    }
    if (url.protocol !== "https:") {
        return "is not https (external etcd serves its metrics over TLS on the client port)";
    }
    const host = url.hostname.replace(/^\[|\]$/g, "");
    if (net.isIP(host) === 0 && !DNS_SUBDOMAIN.test(host)) {
        return "has no valid host";
    }
    if (url.pathname !== "/" && url.pathname !== "/metrics") {
        return "has a path other than /metrics";
    }
    return undefined;
}

function resolveReaders(problems: Problems, value: unknown): ReaderSubject[] {
    if (value === undefined) {
        return DEFAULT_READERS;
    }
    if (!Array.isArray(value) || value.length === 0) {
        problems.add(
            "readers",
            `${JSON.stringify(value)} is not a non-empty list of subjects`,
            'Write e.g. [{"kind": "ServiceAccount", "name": "prometheus-server", "namespace": "observability"}]',
        );
        return DEFAULT_READERS;
    }
    value.forEach((subject: unknown, i: number) => {
        const key = `readers[${i}]`;
        if (!isPlainObject(subject)) {
            problems.add(
                key,
                `${JSON.stringify(subject)} is not an object`,
                'Write {"kind": "ServiceAccount", "name": "...", "namespace": "..."}',
            );
            return;
        }
        checkKnownKeys(problems, key, subject, ["kind", "name", "namespace"]);
        const { kind, name, namespace } = subject;
        if (kind !== "ServiceAccount" && kind !== "User" && kind !== "Group") {
            problems.add(
                `${key}.kind`,
                `${JSON.stringify(kind)} is not ServiceAccount, User or Group`,
                "Use one of those RBAC subject kinds",
            );
        }
        if (typeof name !== "string" || name.trim() === "") {
            problems.add(`${key}.name`, "is empty", "Name the service account, user or group that may read metrics");
        } else if (kind === "ServiceAccount" && !DNS_SUBDOMAIN.test(name)) {
            problems.add(
                `${key}.name`,
                `${JSON.stringify(name)} is not a valid service account name`,
                "Use lower-case letters, digits, '-' and '.'",
            );
        }
        if (kind === "ServiceAccount") {
            if (typeof namespace !== "string" || !DNS_LABEL.test(namespace)) {
                problems.add(
                    `${key}.namespace`,
                    `${JSON.stringify(namespace)} is not a valid namespace`,
                    "A ServiceAccount subject needs the namespace it lives in",
                );
            }
        } else if (namespace !== undefined) {
            problems.add(
                `${key}.namespace`,
                `is set on a ${String(kind)} subject`,
                "Only ServiceAccount subjects have a namespace: remove it",
            );
        }
    });
    return value as ReaderSubject[];
}

function resolveTolerations(problems: Problems, value: unknown): TolerationSetting[] {
    if (value === undefined) {
        return [];
    }
    if (!Array.isArray(value)) {
        problems.add(
            "tolerations",
            `${JSON.stringify(value)} is not a list`,
            'Write e.g. [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}]',
        );
        return [];
    }
    value.forEach((t: unknown, i: number) => {
        const key = `tolerations[${i}]`;
        if (!isPlainObject(t)) {
            problems.add(key, `${JSON.stringify(t)} is not an object`, "Write a Kubernetes toleration");
            return;
        }
        checkKnownKeys(problems, key, t, ["key", "operator", "value", "effect", "tolerationSeconds"]);
        if (t.operator !== undefined && t.operator !== "Exists" && t.operator !== "Equal") {
            problems.add(
                `${key}.operator`,
                `${JSON.stringify(t.operator)} is not Exists or Equal`,
                "Use Exists or Equal",
            );
        }
        if (t.operator === "Exists" && t.value !== undefined) {
            problems.add(`${key}.value`, "is set with operator Exists", "Remove the value, or use operator Equal");
        }
        if (t.effect !== undefined && !["NoSchedule", "PreferNoSchedule", "NoExecute"].includes(String(t.effect))) {
            problems.add(
                `${key}.effect`,
                `${JSON.stringify(t.effect)} is not a taint effect`,
                "Use NoSchedule, PreferNoSchedule or NoExecute, or leave it out to match all",
            );
        }
        if (t.key === undefined && t.operator !== "Exists") {
            problems.add(`${key}.key`, "is missing", 'A toleration without a key must use operator "Exists"');
        }
    });
    return value as TolerationSetting[];
}

function resolveNodeSelector(problems: Problems, value: unknown): Record<string, string> {
    if (value === undefined) {
        return {};
    }
    if (!isPlainObject(value)) {
        problems.add(
            "nodeSelector",
            `${JSON.stringify(value)} is not a map of label to value`,
            'Write e.g. {"kubernetes.io/os": "linux"}',
        );
        return {};
    }
    for (const [label, labelValue] of Object.entries(value)) {
        if (!LABEL_NAME.test(label)) {
            problems.add(
                `nodeSelector.${label}`,
                "is not a valid label name",
                "Use a Kubernetes label name such as kubernetes.io/os",
            );
        }
        if (typeof labelValue !== "string" || !LABEL_VALUE.test(labelValue)) {
            problems.add(
                `nodeSelector.${label}`,
                `${JSON.stringify(labelValue)} is not a valid label value`,
                "Use at most 63 letters, digits, '-', '_' or '.'",
            );
        }
    }
    return value as Record<string, string>;
}

function resolveVerify(
    problems: Problems,
    value: unknown,
    readers: ReaderSubject[],
    verifier: Settings["verifierServiceAccount"],
): Settings["verify"] {
    const raw = value ?? {};
    if (!isPlainObject(raw)) {
        problems.add("verify", `${JSON.stringify(value)} is not an object`, 'Write e.g. {"enabled": false}');
        return { ...DEFAULTS.verify, enabled: false };
    }
    checkKnownKeys(problems, "verify", raw, ["enabled", "timeoutSeconds", "concurrency", "serviceAccount", "mode"]);
    const mode = raw.mode ?? DEFAULTS.verify.mode;
    if (!(VERIFICATION_MODES as readonly unknown[]).includes(mode)) {
        problems.add(
            "verify.mode",
            `${JSON.stringify(mode)} is not ${VERIFICATION_MODES.map((m) => `"${m}"`).join(" or ")}`,
            'Use "cluster" to check from pods in the cluster, or "local" to check from this machine',
        );
    }
    const enabled = checkBoolean(problems, "verify.enabled", raw.enabled, DEFAULTS.verify.enabled);
    const timeoutSeconds = checkInteger(
        problems,
        "verify.timeoutSeconds",
        raw.timeoutSeconds,
        RANGES["verify.timeoutSeconds"],
        DEFAULTS.verify.timeoutSeconds,
    );
    const concurrency = checkInteger(
        problems,
        "verify.concurrency",
        raw.concurrency,
        RANGES["verify.concurrency"],
        DEFAULTS.verify.concurrency,
    );
    let serviceAccount: Settings["verify"]["serviceAccount"];
    if (raw.serviceAccount !== undefined) {
        const sa = raw.serviceAccount;
        if (
            !isPlainObject(sa) ||
            typeof sa.name !== "string" ||
            typeof sa.namespace !== "string" ||
            !DNS_SUBDOMAIN.test(sa.name) ||
            !DNS_LABEL.test(sa.namespace)
        ) {
            problems.add(
                "verify.serviceAccount",
                `${JSON.stringify(sa)} is not a service account`,
                'Write {"name": "prometheus-server", "namespace": "observability"}',
            );
        } else {
            serviceAccount = { name: sa.name, namespace: sa.namespace };
        }
    } else if (verifier) {
        serviceAccount = verifier;
    } else {
        const first = readers.find((r) => r.kind === "ServiceAccount" && r.namespace);
        serviceAccount = first ? { name: first.name, namespace: first.namespace! } : undefined;
    }
    if (enabled && serviceAccount === undefined && !problems.list.some((p) => p.includes("verify.serviceAccount"))) {
        problems.add(
            "verify",
            "needs a service account token, but no reader is a ServiceAccount",
            "Add a ServiceAccount to readers, set verify.serviceAccount, or set verify.enabled to false",
        );
    }
    return { enabled, timeoutSeconds, concurrency, serviceAccount, mode: mode as Settings["verify"]["mode"] };
}

// A job name is embedded in PromQL selectors and the Prometheus Operator's object names: keep it plain.
const JOB_NAME = /^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$/;

function resolvePrometheus(problems: Problems, value: unknown): Settings["prometheus"] {
    const jobNames = Object.fromEntries(COMPONENT_NAMES.map((name) => [name, name])) as Record<ComponentName, string>;
    const raw = value ?? {};
    if (!isPlainObject(raw)) {
        problems.add(
            "prometheus",
            `${JSON.stringify(value)} is not an object`,
            'Write e.g. {"jobNames": {"etcd": "etcd-stacked"}, "alertForSeconds": 600}',
        );
        return { jobNames, alertForSeconds: DEFAULTS.prometheus.alertForSeconds };
    }
    checkKnownKeys(problems, "prometheus", raw, ["jobNames", "alertForSeconds"]);
    if (raw.jobNames !== undefined && !isPlainObject(raw.jobNames)) {
        problems.add(
            "prometheus.jobNames",
            `${JSON.stringify(raw.jobNames)} is not a map of component to job name`,
            'Write e.g. {"etcd": "etcd-stacked"}',
        );
    } else {
        for (const [name, job] of Object.entries(raw.jobNames ?? {})) {
            if (!isComponentName(name)) {
                problems.add(
                    `prometheus.jobNames.${name}`,
                    "is not a component this stack exposes",
                    `Use one of: ${COMPONENT_NAMES.join(", ")}`,
                );
            } else if (typeof job !== "string" || !JOB_NAME.test(job)) {
                problems.add(
                    `prometheus.jobNames.${name}`,
                    `${JSON.stringify(job)} is not a valid job name`,
                    "Use at most 63 lower-case letters, digits, '-', '_' and '.'",
                );
            } else {
                jobNames[name] = job;
            }
        }
    }
    const clashing = COMPONENT_NAMES.filter(
        (name, i) => COMPONENT_NAMES.findIndex((other) => jobNames[other] === jobNames[name]) !== i,
    );
    for (const name of clashing) {
        problems.add(
            `prometheus.jobNames.${name}`,
            `"${jobNames[name]}" is already the job of another component`,
            "Give every component its own job, or its series and alerts mix",
        );
    }
    const alertForSeconds = checkInteger(
        problems,
        "prometheus.alertForSeconds",
        raw.alertForSeconds,
        RANGES["prometheus.alertForSeconds"],
        DEFAULTS.prometheus.alertForSeconds,
    );
    return { jobNames, alertForSeconds };
}

function resolvePrometheusOperator(problems: Problems, value: unknown): Settings["prometheusOperator"] {
    const fallback = { ...DEFAULTS.prometheusOperator, labels: {} };
    const raw = value ?? {};
    if (!isPlainObject(raw)) {
        problems.add(
            "prometheusOperator",
            `${JSON.stringify(value)} is not an object`,
            'Write e.g. {"enabled": true, "namespace": "monitoring", "labels": {"release": "kube-prometheus-stack"}}',
        );
        return fallback;
    }
    checkKnownKeys(problems, "prometheusOperator", raw, ["enabled", "namespace", "labels"]);
    const enabled = checkBoolean(problems, "prometheusOperator.enabled", raw.enabled, fallback.enabled);
    const namespace = raw.namespace ?? fallback.namespace;
    if (typeof namespace !== "string" || !DNS_LABEL.test(namespace)) {
        problems.add(
            "prometheusOperator.namespace",
            `${JSON.stringify(namespace)} is not a valid namespace name`,
            "Name the namespace the operator's Prometheus selects objects in",
        );
    }
    const labels = raw.labels ?? {};
    if (!isPlainObject(labels)) {
        problems.add(
            "prometheusOperator.labels",
            `${JSON.stringify(labels)} is not a map of label to value`,
            'Write e.g. {"release": "kube-prometheus-stack"}',
        );
        return { enabled, namespace: String(namespace), labels: {} };
    }
    for (const [label, labelValue] of Object.entries(labels)) {
        if (!LABEL_NAME.test(label) || typeof labelValue !== "string" || !LABEL_VALUE.test(labelValue)) {
            problems.add(
                `prometheusOperator.labels.${label}`,
                `${JSON.stringify(label)}: ${JSON.stringify(labelValue)} is not a valid label`,
                "Use the labels your Prometheus' scrapeConfigSelector and ruleSelector match",
            );
        }
    }
    return { enabled, namespace: String(namespace), labels: labels as Record<string, string> };
}

function checkLabels(problems: Problems, key: string, value: unknown, example: string): Record<string, string> {
    if (!isPlainObject(value) || Object.keys(value).length === 0) {
        problems.add(
            key,
            `${JSON.stringify(value)} is not a non-empty map of label to value`,
            `Write the labels its pods carry, e.g. ${example}`,
        );
        return {};
    }
    for (const [label, labelValue] of Object.entries(value)) {
        if (!LABEL_NAME.test(label) || typeof labelValue !== "string" || !LABEL_VALUE.test(labelValue)) {
            problems.add(
                `${key}.${label}`,
                `${JSON.stringify(label)}: ${JSON.stringify(labelValue)} is not a valid label`,
                "Use a Kubernetes label name and a value of at most 63 letters, digits, '-', '_' or '.'",
            );
        }
    }
    return value as Record<string, string>;
}

function duplicates(names: unknown[]): Set<unknown> {
    return new Set(names.filter((n, i) => names.indexOf(n) !== i));
}

function resolveControllers(
    problems: Problems,
    value: unknown,
    componentJobs: readonly string[],
): Settings["controllers"] {
    const fallback = { extra: [], tls: {} };
    const raw = value ?? {};
    if (!isPlainObject(raw)) {
        problems.add(
            "controllers",
            `${JSON.stringify(value)} is not an object`,
            'Write e.g. {"expect": ["capi-controller-manager"]}',
        );
        return fallback;
    }
    checkKnownKeys(problems, "controllers", raw, ["expect", "extra", "tls"]);
    let expect: string[] | undefined;
    if (raw.expect !== undefined) {
        if (!Array.isArray(raw.expect) || raw.expect.some((n) => typeof n !== "string")) {
            problems.add(
                "controllers.expect",
                `${JSON.stringify(raw.expect)} is not a list of controller names`,
                `List some of: ${CONTROLLER_NAMES.join(", ")}; [] for none, or remove it for those present in the cluster`,
            );
        } else {
            expect = raw.expect as string[];
            expect.forEach((name, i) => {
                if (!CONTROLLER_NAMES.includes(name)) {
                    problems.add(
                        `controllers.expect[${i}]`,
                        `"${name}" is not a catalogue controller`,
                        `Use one of: ${CONTROLLER_NAMES.join(", ")}; describe other controllers under controllers.extra`,
                    );
                }
            });
            for (const name of duplicates(expect)) {
                problems.add(
                    "controllers.expect",
                    `lists "${String(name)}" more than once`,
                    "List each controller once",
                );
            }
        }
    }
    const extra: ControllerTarget[] = [];
    if (raw.extra !== undefined && !Array.isArray(raw.extra)) {
        problems.add(
            "controllers.extra",
            `${JSON.stringify(raw.extra)} is not a list`,
            'Write e.g. [{"name": "my-operator", "namespace": "my-operator-system", "selector": {"control-plane": "controller-manager"}}]',
        );
    } else {
        (raw.extra ?? []).forEach((c: unknown, i: number) => {
            const key = `controllers.extra[${i}]`;
            if (!isPlainObject(c)) {
                problems.add(
                    key,
                    `${JSON.stringify(c)} is not an object`,
                    'Write {"name": "...", "namespace": "...", "selector": {"label": "value"}}',
                );
                return;
            }
            checkKnownKeys(problems, key, c, ["name", "namespace", "selector", "port"]);
            if (typeof c.name !== "string" || !JOB_NAME.test(c.name)) {
                problems.add(
                    `${key}.name`,
                    `${JSON.stringify(c.name)} is not a valid name`,
                    "It is the scrape job's name: at most 63 lower-case letters, digits, '-', '_' and '.'",
                );
            } else if (CONTROLLER_NAMES.includes(c.name)) {
                problems.add(
                    `${key}.name`,
                    `"${c.name}" is a catalogue controller`,
                    "List it under controllers.expect instead, or give the extra controller another name",
                );
            } else if (componentJobs.includes(c.name)) {
                problems.add(
                    `${key}.name`,
                    `"${c.name}" is already the job of a component`,
                    "Give the controller another name, or its series mix with the component's",
                );
            }
            if (typeof c.namespace !== "string" || !DNS_LABEL.test(c.namespace)) {
                problems.add(
                    `${key}.namespace`,
                    `${JSON.stringify(c.namespace)} is not a valid namespace`,
                    "Name the namespace the controller's pods run in",
                );
            }
            const selector = checkLabels(
                problems,
                `${key}.selector`,
                c.selector,
                '{"control-plane": "controller-manager"}',
            );
            const port = checkInteger(
                problems,
                `${key}.port`,
                c.port,
                RANGES["controllers.extra.port"],
                DEFAULTS.controllers.extraPort,
            );
            extra.push({ name: String(c.name), namespace: String(c.namespace), selector, port });
        });
        for (const name of duplicates(extra.map((c) => c.name))) {
            problems.add(
                "controllers.extra",
                `names "${String(name)}" more than once`,
                "Give each controller its own name (its scrape job)",
            );
        }
    }
    const tls: Settings["controllers"]["tls"] = {};
    if (raw.tls !== undefined) {
        if (!isPlainObject(raw.tls)) {
            problems.add(
                "controllers.tls",
                `${JSON.stringify(raw.tls)} is not an object`,
                'Write {"caCertificate": "-----BEGIN CERTIFICATE-----...", "serverName": "..."}',
            );
        } else {
            checkKnownKeys(problems, "controllers.tls", raw.tls, ["caCertificate", "serverName"]);
            const { caCertificate, serverName } = raw.tls;
            if (caCertificate !== undefined) {
                if (
                    typeof caCertificate !== "string" ||
                    !/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/.test(caCertificate)
                ) {
                    problems.add(
                        "controllers.tls.caCertificate",
                        "is not a PEM certificate",
                        "Paste the CA that signs the controllers' serving certificates (-----BEGIN CERTIFICATE----- ...), or remove it to leave them unverified",
                    );
                } else {
                    tls.caCertificate = caCertificate;
                }
            }
            if (serverName !== undefined) {
                if (caCertificate === undefined) {
                    problems.add(
                        "controllers.tls.serverName",
                        "is set without controllers.tls.caCertificate",
                        "A name is only verified against a pinned CA: set controllers.tls.caCertificate too, or remove serverName",
                    );
                } else if (typeof serverName !== "string" || !DNS_SUBDOMAIN.test(serverName)) {
                    problems.add(
                        "controllers.tls.serverName",
                        `${JSON.stringify(serverName)} is not a DNS name`,
                        "Use the lower-case DNS name the controllers' certificates carry",
                    );
                } else {
                    tls.serverName = serverName;
                }
            }
        }
    }
    return { expect, extra, tls };
}

/** The stack options among the component's arguments: all but the kubeconfig, images and resources. */
export function stackOptionsOf(args: MetricsStackArgs): StackOptions {
    return Object.fromEntries(
        Object.entries(args).filter(([key]) => !(key in CONFIG_SCHEMA) || !CONFIG_SCHEMA[key as ConfigKey].argument),
    ) as StackOptions;
}

/**
 * Checks the stack options and fills in the defaults. Throws a SettingsError that lists every
 * problem at once; `keyPrefix` ("eksa-metrics:" for stack config) is put before each key.
 */
export function resolveSettings(options: StackOptions, keyPrefix = ""): Settings {
    const problems = new Problems(keyPrefix);
    checkKnownKeys(problems, "", options, OPTION_KEYS);
    const etcd = resolveEtcd(problems, options.etcd);
    let components = resolveComponents(problems, options.components);
    if (etcd.topology === "external") {
        components = components.filter((c) => c.name !== "etcd");
    }
    if (components.length === 0) {
        problems.add(
            "components",
            "turns every component off",
            `Enable at least one of: ${COMPONENT_NAMES.join(", ")}`,
        );
    }

    const namespace = options.namespace ?? DEFAULT_NAMESPACE;
    if (typeof namespace !== "string" || !DNS_LABEL.test(namespace)) {
        problems.add(
            "namespace",
            `${JSON.stringify(namespace)} is not a valid namespace name`,
            "Use at most 63 lower-case letters, digits and '-'",
        );
    }
    const createNamespace = checkBoolean(
        problems,
        "createNamespace",
        options.createNamespace,
        DEFAULTS.createNamespace,
    );
    const readers = resolveReaders(problems, options.readers);
    const tolerations = resolveTolerations(problems, options.tolerations);
    const nodeSelector = resolveNodeSelector(problems, options.nodeSelector);

    const healthPort = checkInteger(problems, "healthPort", options.healthPort, RANGES.healthPort, DEFAULT_HEALTH_PORT);
    const clash = CATALOGUE.find((c) => c.port === healthPort);
    if (clash) {
        problems.add(
            "healthPort",
            `${healthPort} is the metrics port of ${clash.name}`,
            `Choose a free port, e.g. the default ${DEFAULT_HEALTH_PORT}`,
        );
    }
    const serverTimeoutSeconds = checkInteger(
        problems,
        "serverTimeoutSeconds",
        options.serverTimeoutSeconds,
        RANGES.serverTimeoutSeconds,
        DEFAULTS.serverTimeoutSeconds,
    );

    const authFailureLimit = { ...DEFAULT_AUTH_FAILURE_LIMIT };
    if (options.authFailureLimit !== undefined) {
        if (!isPlainObject(options.authFailureLimit)) {
            problems.add(
                "authFailureLimit",
                `${JSON.stringify(options.authFailureLimit)} is not an object`,
                'Write e.g. {"failures": 20, "periodSeconds": 60}',
            );
        } else {
            checkKnownKeys(problems, "authFailureLimit", options.authFailureLimit, ["failures", "periodSeconds"]);
            authFailureLimit.failures = checkInteger(
                problems,
                "authFailureLimit.failures",
                options.authFailureLimit.failures,
                RANGES["authFailureLimit.failures"],
                DEFAULT_AUTH_FAILURE_LIMIT.failures,
            );
            authFailureLimit.periodSeconds = checkInteger(
                problems,
                "authFailureLimit.periodSeconds",
                options.authFailureLimit.periodSeconds,
                RANGES["authFailureLimit.periodSeconds"],
                DEFAULT_AUTH_FAILURE_LIMIT.periodSeconds,
            );
        }
    }

    let tlsServerName = `${DEFAULT_NAMESPACE}-metrics-proxy`;
    let tlsValidityDays: number = DEFAULTS.tls.validityDays;
    let tlsCaValidityDays: number = DEFAULTS.tls.caValidityDays;
    if (options.tls !== undefined) {
        if (!isPlainObject(options.tls)) {
            problems.add(
                "tls",
                `${JSON.stringify(options.tls)} is not an object`,
                'Write e.g. {"serverName": "metrics-proxy.example.internal"}',
            );
        } else {
            checkKnownKeys(problems, "tls", options.tls, ["serverName", "validityDays", "caValidityDays"]);
            tlsValidityDays = checkInteger(
                problems,
                "tls.validityDays",
                options.tls.validityDays,
                RANGES["tls.validityDays"],
                DEFAULTS.tls.validityDays,
            );
            tlsCaValidityDays = checkInteger(
                problems,
                "tls.caValidityDays",
                options.tls.caValidityDays,
                RANGES["tls.caValidityDays"],
                DEFAULTS.tls.caValidityDays,
            );
            // A CA replacement (from two thirds of the CA's life) needs the overlap, two renewal periods and a whole serving certificate.
            if (tlsCaValidityDays < 9 * tlsValidityDays) {
                problems.add(
                    "tls.caValidityDays",
                    `${tlsCaValidityDays} is less than 9 times tls.validityDays (${tlsValidityDays}): a CA replacement would not finish before the CA ends`,
                    `Set at least ${9 * tlsValidityDays}, or shorten tls.validityDays`,
                );
            }
            const serverName: unknown = options.tls.serverName;
            if (serverName !== undefined) {
                tlsServerName = serverName as string;
                if (typeof serverName !== "string" || !DNS_SUBDOMAIN.test(serverName)) {
                    problems.add(
                        "tls.serverName",
                        `${JSON.stringify(serverName)} is not a DNS name`,
                        "Use a lower-case DNS name; clients verify the proxy's certificate against it",
                    );
                }
            }
        }
    }
    if (options.tls?.serverName === undefined && typeof namespace === "string") {
        tlsServerName = `${namespace}-metrics-proxy`;
    }
    const rolloutTimeoutMinutes = checkInteger(
        problems,
        "rolloutTimeoutMinutes",
        options.rolloutTimeoutMinutes,
        RANGES.rolloutTimeoutMinutes,
        DEFAULTS.rolloutTimeoutMinutes,
    );
    const readersMayNotExistYet = checkBoolean(
        problems,
        "readersMayNotExistYet",
        options.readersMayNotExistYet,
        DEFAULTS.readersMayNotExistYet,
    );
    // Readers that may not exist yet cannot lend their token: the verification gets a service account of its own.
    const ownVerifier =
        readersMayNotExistYet &&
        !(isPlainObject(options.verify) && options.verify.serviceAccount !== undefined) &&
        typeof namespace === "string"
            ? { name: VERIFIER_SERVICE_ACCOUNT, namespace }
            : undefined;
    const verify = resolveVerify(problems, options.verify, readers, ownVerifier);
    const verifierServiceAccount = verify.enabled ? ownVerifier : undefined;
    const offlinePreview = checkBoolean(problems, "offlinePreview", options.offlinePreview, DEFAULTS.offlinePreview);
    const replaceDocsMetricsProxy = checkBoolean(
        problems,
        "replaceDocsMetricsProxy",
        options.replaceDocsMetricsProxy,
        DEFAULTS.replaceDocsMetricsProxy,
    );
    const prometheus = resolvePrometheus(problems, options.prometheus);
    const prometheusOperator = resolvePrometheusOperator(problems, options.prometheusOperator);
    const controllers = resolveControllers(problems, options.controllers, Object.values(prometheus.jobNames));
    const imageRegistry = resolveImageRegistry(problems, options.imageRegistry);
    const imagePullSecrets = resolveImagePullSecrets(problems, options.imagePullSecrets);

    if (problems.list.length > 0) {
        throw new SettingsError(problems.list);
    }
    return {
        components,
        etcd,
        namespace,
        createNamespace,
        readers,
        tolerations,
        nodeSelector,
        healthPort,
        readersMayNotExistYet,
        verifierServiceAccount,
        offlinePreview,
        replaceDocsMetricsProxy,
        serverTimeoutSeconds,
        authFailureLimit,
        tlsServerName,
        tlsValidityDays,
        tlsCaValidityDays,
        rolloutTimeoutMinutes,
        verify,
        prometheus,
        prometheusOperator,
        controllers,
        ...(imageRegistry !== undefined ? { imageRegistry } : {}),
        imagePullSecrets,
    };
}

const MIRROR_FIX = "Set it to your registry mirror, which holds the stack's images";

function resolveImageRegistry(problems: Problems, value: unknown): string | undefined {
    if (value === undefined) {
        return undefined;
    }
    if (typeof value !== "string") {
        problems.add("imageRegistry", `${JSON.stringify(value)} is not a registry`, MIRROR_FIX);
        return undefined;
    }
    const parsed = parseRegistryPrefix(value);
    if ("invalid" in parsed) {
        problems.add("imageRegistry", parsed.invalid, MIRROR_FIX);
        return undefined;
    }
    return parsed.prefix;
}

function resolveImagePullSecrets(problems: Problems, value: unknown): string[] {
    if (value === undefined) {
        return [...DEFAULTS.imagePullSecrets];
    }
    if (!Array.isArray(value)) {
        problems.add(
            "imagePullSecrets",
            `${JSON.stringify(value)} is not a list`,
            "List the pull secrets' names, e.g. [mirror-pull]",
        );
        return [];
    }
    value.forEach((name, i) => {
        if (typeof name !== "string" || !DNS_SUBDOMAIN.test(name)) {
            problems.add(
                `imagePullSecrets[${i}]`,
                `${JSON.stringify(name)} is not a Secret's name`,
                "Name a kubernetes.io/dockerconfigjson Secret (a lower-case DNS name) in the stack's namespace and the reader's",
            );
        }
    });
    for (const name of duplicates(value)) {
        problems.add("imagePullSecrets", `lists ${JSON.stringify(name)} twice`, "List each pull secret once");
    }
    return value.filter((name): name is string => typeof name === "string");
}
