/**
 * The configuration's schema, one entry per key: the key (of MetricsStackArgs, and `eksa-metrics:<key>` in
 * stack config), how its text is parsed, its default, the ranges it is checked against, and one line of doc.
 * Derived from it: CONFIG_KEYS (stackConfig.ts, which the fleet file checks too), the known keys and the
 * defaults of resolveSettings (settings.ts), the component's defaults (images, resources). Checked against it by
 * test/config/schema.spec.ts: the doc comments of config/args.ts and README's configuration table.
 */
import type * as k8s from "@pulumi/kubernetes";
import { COMPONENT_NAMES, DIAGNOSTICS_PORT } from "../core/catalogue";
import { withRegistry } from "../core/images";
import { DEFAULT_IMAGES } from "../core/versions";
import type { MetricsStackArgs, ReaderSubject, VerificationMode } from "./args";

/** How a key's text in stack config is parsed: structured values are YAML maps or lists (JSON to the program). */
export type ValueKind = "string" | "boolean" | "integer" | "object";

export interface KeySchema {
    type: ValueKind;
    /** One line: what the key is for. README's table and the field's doc comment say the same. */
    doc: string;
    /** The default, as documented ("— (required)" for none). */
    defaultText: string;
    /** Only as a secret (`pulumi config set --secret`). */
    secret?: boolean;
    /** An argument of the component, not a stack option that resolveSettings checks: the kubeconfig, images, resources. */
    argument?: boolean;
}

/** Prometheus' default scrape_timeout: haproxy must wait at least that long. */
export const PROMETHEUS_SCRAPE_TIMEOUT_SECONDS = 10;

type ResourceRequirements = k8s.types.input.core.v1.ResourceRequirements;

/** Every default value the code uses; nowhere else are they written. */
export const DEFAULTS = {
    namespace: "eksa-metrics",
    createNamespace: true,
    readers: [{ kind: "ServiceAccount", name: "prometheus-server", namespace: "observability" }] as ReaderSubject[],
    healthPort: 10263,
    serverTimeoutSeconds: 30,
    /** 20 a minute: a reader whose token expired fails once per scrape (every 15-60 s) and is never refused. */
    authFailureLimit: { failures: 20, periodSeconds: 60 },
    tls: { validityDays: 90, caValidityDays: 3650 },
    rolloutTimeoutMinutes: 10,
    verify: { enabled: true, timeoutSeconds: 120, concurrency: 8, mode: "cluster" as VerificationMode },
    readersMayNotExistYet: false,
    offlinePreview: false,
    replaceDocsMetricsProxy: false,
    prometheus: { alertForSeconds: 900 },
    prometheusOperator: { enabled: false, namespace: "monitoring" },
    controllers: { extraPort: DIAGNOSTICS_PORT },
    imagePullSecrets: [] as string[],
    proxyImage: DEFAULT_IMAGES.haproxy,
    gateImage: DEFAULT_IMAGES.kubeRbacProxy,
    verifyImage: DEFAULT_IMAGES.curl,
    proxyResources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } } as ResourceRequirements,
    gateResources: { requests: { cpu: "5m", memory: "24Mi" }, limits: { memory: "96Mi" } } as ResourceRequirements,
} as const;

/** The whole numbers' ranges, by key (nested keys with a dot). */
export const RANGES = {
    healthPort: [1, 65535],
    serverTimeoutSeconds: [PROMETHEUS_SCRAPE_TIMEOUT_SECONDS, 300],
    "authFailureLimit.failures": [1, 10000],
    "authFailureLimit.periodSeconds": [1, 3600],
    "tls.validityDays": [3, 405],
    "tls.caValidityDays": [810, 36500],
    rolloutTimeoutMinutes: [1, 120],
    "verify.timeoutSeconds": [10, 3600],
    "verify.concurrency": [1, 64],
    "prometheus.alertForSeconds": [0, 86400],
    "controllers.extra.port": [1, 65535],
} as const satisfies Record<string, readonly [number, number]>;

const code = (value: unknown) => `\`${String(value)}\``;
const resources = (r: ResourceRequirements) => {
    const { requests, limits } = r as { requests: Record<string, string>; limits: Record<string, string> };
    return `requests ${requests.cpu}/${requests.memory}, limit ${limits.memory}`;
};
const reader = DEFAULTS.readers[0];
const { verify, prometheusOperator } = DEFAULTS;

/** The schema of every key, in README's order. The type makes a key of MetricsStackArgs without an entry (or the reverse) a compile error. */
export const CONFIG_SCHEMA: { readonly [K in keyof Required<MetricsStackArgs>]: KeySchema } = {
    kubeconfig: {
        type: "string",
        secret: true,
        argument: true,
        defaultText: "— (required)",
        doc: "the cluster's kubeconfig; the provider deploys with it and the verification asks the API server for a token and the nodes with it",
    },
    components: {
        type: "object",
        defaultText: "all on",
        doc: `map of component to \`true\`/\`false\`, e.g. \`{etcd: false}\`; components: ${COMPONENT_NAMES.map(code).join(", ")}`,
    },
    etcd: {
        type: "object",
        defaultText: "`{topology: stacked}`",
        doc: 'where etcd runs: `{topology: external, endpoints: ["https://10.0.0.21:2379"]}` for unstacked etcd: no etcd proxy',
    },
    namespace: {
        type: "string",
        defaultText: code(DEFAULTS.namespace),
        doc: "namespace of the proxy (labelled Pod Security `privileged`: host-network pods)",
    },
    createNamespace: {
        type: "boolean",
        defaultText: code(DEFAULTS.createNamespace),
        doc: "create the namespace; `false` uses an existing one",
    },
    readers: {
        type: "object",
        defaultText: `\`[{kind: ${reader.kind}, name: ${reader.name}, namespace: ${reader.namespace}}]\``,
        doc: "subjects bound to the metrics-reader role (`ServiceAccount`, `User`, `Group`)",
    },
    tolerations: {
        type: "object",
        defaultText: "`[]`",
        doc: "extra tolerations for the proxy pods (control-plane and legacy master taints are always tolerated on control-plane nodes)",
    },
    nodeSelector: {
        type: "object",
        defaultText: "`{}`",
        doc: "extra node selector for the proxy pods, on top of the control-plane/worker split",
    },
    healthPort: {
        type: "integer",
        defaultText: code(DEFAULTS.healthPort),
        doc: "the port of haproxy's health endpoint on `NODE_IP`, for the probes",
    },
    serverTimeoutSeconds: {
        type: "integer",
        defaultText: code(DEFAULTS.serverTimeoutSeconds),
        doc: `how long haproxy waits for a component, from Prometheus' ${RANGES.serverTimeoutSeconds[0]} s scrape timeout to ${RANGES.serverTimeoutSeconds[1]} s`,
    },
    authFailureLimit: {
        type: "object",
        defaultText: `\`{failures: ${DEFAULTS.authFailureLimit.failures}, periodSeconds: ${DEFAULTS.authFailureLimit.periodSeconds}}\``,
        doc: "how many failed authentications (401s of a component or kube-rbac-proxy: TokenReviews that failed) one source address may cause per period on a node's haproxy ports before haproxy refuses it (429): the bound on the TokenReviews a client without credentials causes, see [What a client without credentials costs](#what-a-client-without-credentials-costs)",
    },
    tls: {
        type: "object",
        defaultText: `\`{serverName: <namespace>-metrics-proxy, validityDays: ${DEFAULTS.tls.validityDays}, caValidityDays: ${DEFAULTS.tls.caValidityDays}}\``,
        doc: "the name clients verify; the serving certificate's validity (re-issued by the first `pulumi up` of each renewal period, two thirds of it) and the CA's (replaced through a bundle from two thirds of it on; at least 9 times `validityDays`): see [Certificates and renewals](#certificates-and-renewals)",
    },
    rolloutTimeoutMinutes: {
        type: "integer",
        defaultText: code(DEFAULTS.rolloutTimeoutMinutes),
        doc: `how long Pulumi waits for the DaemonSets to be ready, from ${RANGES.rolloutTimeoutMinutes[0]} to ${RANGES.rolloutTimeoutMinutes[1]} minutes`,
    },
    verify: {
        type: "object",
        defaultText: `\`{enabled: ${verify.enabled}, timeoutSeconds: ${verify.timeoutSeconds}, concurrency: ${verify.concurrency}, mode: ${verify.mode}}\``,
        doc: "the verification; `mode`: `cluster` (from short-lived pods in the cluster) or `local` (from this machine), see [Verification](#verification); `serviceAccount: {name, namespace}` picks the reader whose token is used (default: the first ServiceAccount reader)",
    },
    readersMayNotExistYet: {
        type: "boolean",
        defaultText: code(DEFAULTS.readersMayNotExistYet),
        doc: "`true` when the readers come later (Prometheus installed after this stack): they are bound now, the preflight warns instead of stopping, and the verification uses `<namespace>/eksa-metrics-verifier`, a service account the stack creates and binds to metrics-reader (unless `verify.serviceAccount` names one)",
    },
    offlinePreview: {
        type: "boolean",
        defaultText: code(DEFAULTS.offlinePreview),
        doc: "`true` lets `pulumi preview` pass when the cluster cannot be read, warning what it did not check; `pulumi up` always needs the cluster",
    },
    prometheus: {
        type: "object",
        defaultText: `\`{jobNames: {<component>: <component>}, alertForSeconds: ${DEFAULTS.prometheus.alertForSeconds}}\``,
        doc: "the `job` of each component's series (default: the component's name, which kubernetes-mixin's dashboards and alerts select on; e.g. `{jobNames: {etcd: etcd-stacked}}`), used by the `scrapeConfig`, `alertRules` and Operator objects alike; how long a condition holds before an alert fires (see [Prometheus](#prometheus))",
    },
    controllers: {
        type: "object",
        defaultText: "`{expect: <those present>, extra: [], tls: {}}`",
        doc: `the controllers scraped on their diagnostics endpoint (see [Controllers](#controllers)). \`expect\`: catalogue names; defaults to the catalogue controllers the preflight finds in the cluster, \`[]\` for none; a listed one that is absent stops the preview. \`extra: [{name, namespace, selector, port}]\`: other controller-runtime managers, by namespace and pod labels (\`port\` defaults to ${DEFAULTS.controllers.extraPort}; \`name\` is the job and must not be a catalogue or component job). \`tls: {caCertificate, serverName}\`: a PEM CA that signs the controllers' serving certificates, pinned in the scrape jobs and the verification, and the name to verify (only with \`caCertificate\`); defaults to none: the certificates are not verified`,
    },
    prometheusOperator: {
        type: "object",
        defaultText: `\`{enabled: ${prometheusOperator.enabled}, namespace: ${prometheusOperator.namespace}, labels: {}}\``,
        doc: "`enabled: true` creates a `ScrapeConfig` per component and controller, a `PrometheusRule` and what they reference in `namespace` (which must exist), labelled with `labels` so your `Prometheus` selects them (kube-prometheus-stack: `{release: <helm release>}`)",
    },
    replaceDocsMetricsProxy: {
        type: "boolean",
        defaultText: code(DEFAULTS.replaceDocsMetricsProxy),
        doc: "the migration from the EKS Anywhere docs page's manual install: `true` lets `pulumi up` delete its `metrics-proxy` DaemonSet (waiting for its pods to go) and ConfigMap before our proxy rolls out (see [Preflight](#preflight))",
    },
    imageRegistry: {
        type: "string",
        defaultText: "none: each image's own registry",
        doc: `a registry mirror as images name it, \`host[:port]\` or \`host[:port]/path\` (no scheme, no trailing \`/\`): every default image is pulled from it, repository and tag kept (\`${DEFAULTS.gateImage}\` becomes \`${withRegistry(DEFAULTS.gateImage, "<imageRegistry>")}\`); an image set by its own key is used as given (see [Air-gapped clusters](#air-gapped-clusters-a-registry-mirror))`,
    },
    imagePullSecrets: {
        type: "object",
        defaultText: `\`[${DEFAULTS.imagePullSecrets.join(", ")}]\``,
        doc: "names of pull secrets (`kubernetes.io/dockerconfigjson`, each a lower-case DNS name) for the proxy's and the verification's pods; each must exist in the stack's namespace and the reader's",
    },
    proxyImage: {
        type: "string",
        argument: true,
        defaultText: code(DEFAULTS.proxyImage),
        doc: "haproxy image (the EKS Anywhere docs' one); point it at a private mirror if needed",
    },
    gateImage: {
        type: "string",
        argument: true,
        defaultText: code(DEFAULTS.gateImage),
        doc: "kube-rbac-proxy image, the token check in front of kube-proxy and etcd (the release the tests run)",
    },
    verifyImage: {
        type: "string",
        argument: true,
        defaultText: code(DEFAULTS.verifyImage),
        doc: "curl image of the verification's pods (cluster mode)",
    },
    proxyResources: {
        type: "object",
        argument: true,
        defaultText: resources(DEFAULTS.proxyResources),
        doc: "haproxy's container resources",
    },
    gateResources: {
        type: "object",
        argument: true,
        defaultText: resources(DEFAULTS.gateResources),
        doc: "kube-rbac-proxy's container resources",
    },
};

export type ConfigKey = keyof typeof CONFIG_SCHEMA;
export const CONFIG_KEY_NAMES = Object.keys(CONFIG_SCHEMA) as ConfigKey[];
/** The keys resolveSettings checks (the component's arguments but the kubeconfig, images and resources). */
export const OPTION_KEYS = CONFIG_KEY_NAMES.filter((key) => !CONFIG_SCHEMA[key].argument);

/** A key's doc comment in config/args.ts: its doc as a sentence, and its default. */
export function argumentDoc(key: ConfigKey): string {
    const { doc, defaultText } = CONFIG_SCHEMA[key];
    const text = doc.replace(/\[([^\]]+)\]\(#[^)]+\)/g, "$1");
    const sentence = `${text[0].toUpperCase()}${text.slice(1)}.`;
    return key === "kubeconfig"
        ? `${sentence} Required unless verify.enabled is false; a secret.`
        : `${sentence} Defaults to ${defaultText}.`;
}
