/**
 * The component's arguments, typed so that Pulumi's component schema inference
 * (`@pulumi/pulumi/provider/experimental`) accepts them for every Pulumi language: interfaces of
 * primitives, Inputs, arrays and string maps; a choice of strings is a named enum (a const object
 * and its type, so the plain strings of stack config and TypeScript callers keep working). Every
 * field's doc comment is its schema description.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

/** The kind of an RBAC subject that may read the metrics. */
export const ReaderKind = { ServiceAccount: "ServiceAccount", User: "User", Group: "Group" } as const;
export type ReaderKind = (typeof ReaderKind)[keyof typeof ReaderKind];

/** Where etcd runs: on the control-plane nodes (proxied), or on machines of its own (not proxied). */
export const EtcdTopology = { Stacked: "stacked", External: "external" } as const;
export type EtcdTopology = (typeof EtcdTopology)[keyof typeof EtcdTopology];

/** How a toleration matches a taint's value. */
export const TolerationOperator = { Exists: "Exists", Equal: "Equal" } as const;
export type TolerationOperator = (typeof TolerationOperator)[keyof typeof TolerationOperator];

/** A taint's effect. */
export const TaintEffect = {
    NoSchedule: "NoSchedule",
    PreferNoSchedule: "PreferNoSchedule",
    NoExecute: "NoExecute",
} as const;
export type TaintEffect = (typeof TaintEffect)[keyof typeof TaintEffect];

/** Where the verification's checks run from. */
export const VerificationMode = { Cluster: "cluster", Local: "local" } as const;
export type VerificationMode = (typeof VerificationMode)[keyof typeof VerificationMode];

/** Who may read the metrics: bound to the metrics-reader ClusterRole. */
export interface ReaderSubject {
    /** ServiceAccount, User or Group. */
    kind: ReaderKind;
    /** The subject's name. */
    name: string;
    /** The service account's namespace: required for ServiceAccount subjects, not allowed for the others. */
    namespace?: string;
}

/** A service account, by name and namespace. */
export interface ServiceAccountRef {
    /** The service account's name. */
    name: string;
    /** Its namespace. */
    namespace: string;
}

export interface EtcdOptions {
    /** "stacked": etcd runs on the control-plane nodes and its metrics are proxied; "external": unstacked etcd machines serve https://<etcd-ip>:2379/metrics with client certificates, and no etcd proxy is deployed. Defaults to `stacked`. */
    topology?: EtcdTopology;
    /** The external etcd machines' metrics URLs (https://<etcd-ip>:2379), listed in the endpoints output; only with topology external. Defaults to `[]`. */
    endpoints?: string[];
}

/** A Kubernetes toleration. */
export interface TolerationSetting {
    /** The taint key; without it, operator must be Exists (matches every taint). */
    key?: string;
    /** Exists or Equal. Defaults to `Equal`. */
    operator?: TolerationOperator;
    /** The taint value matched with operator Equal. */
    value?: string;
    /** The taint effect matched; unset matches all. */
    effect?: TaintEffect;
    /** How long a NoExecute taint is tolerated; unset: for ever. */
    tolerationSeconds?: number;
}

export interface ProxyTlsOptions {
    /** The name clients verify the proxy's certificate against. Defaults to `<namespace>-metrics-proxy`. */
    serverName?: string;
    /** The serving certificate's validity, from 3 to 405 days; `pulumi up` re-issues it at two thirds of it. Defaults to `90`. */
    validityDays?: number;
    /** The CA's validity, from 810 to 36500 days and at least 9 times `validityDays`; replaced from two thirds of it on. Defaults to `3650`. */
    caValidityDays?: number;
}

/** haproxy's limit on failed authentications per source address (README "What a client without credentials costs"). */
export interface AuthFailureLimitOptions {
    /** Failed authentications one source address may cause per period before it gets 429, from 1 to 10000. Defaults to `20`. */
    failures?: number;
    /** The period, from 1 to 3600 seconds. Defaults to `60`. */
    periodSeconds?: number;
}

export interface VerifyOptions {
    /** Run the token and curl verification on `pulumi up`. Defaults to `true`. */
    enabled?: boolean;
    /** How long the whole verification may take, retries included, from 10 to 3600 seconds. Defaults to `120`. */
    timeoutSeconds?: number;
    /** Checks in flight at once, from 1 to 64. Defaults to `8`. */
    concurrency?: number;
    /** The reader whose token is presented. Defaults to the first ServiceAccount among readers. */
    serviceAccount?: ServiceAccountRef;
    /** Where the checks run from: "cluster", short-lived pods in the cluster with the reader's own token; "local", the machine that runs `pulumi up`, which must then reach the node and pod IPs. Defaults to `cluster`. */
    mode?: VerificationMode;
}

export interface PrometheusOptions {
    /** The `job` label of each component's series, by component, e.g. `{etcd: etcd-stacked}`. Defaults to the component's name, which kubernetes-mixin's dashboards select on. */
    jobNames?: Record<string, string>;
    /** How long a condition holds before its alert fires, from 0 to 86400 seconds. Defaults to `900`. */
    alertForSeconds?: number;
}

export interface PrometheusOperatorOptions {
    /** Create a ScrapeConfig per component and controller and a PrometheusRule, with what they reference. Defaults to `false`. */
    enabled?: boolean;
    /** Where those objects go; it must exist and be one the Prometheus selects. Defaults to `monitoring`. */
    namespace?: string;
    /** Labels the Prometheus' scrapeConfigSelector and ruleSelector match, e.g. `{release: kube-prometheus-stack}`. Defaults to `{}`. */
    labels?: Record<string, string>;
}

/** A controller-runtime manager outside the catalogue, serving its diagnostics endpoint the same way. */
export interface ExtraController {
    /** The scrape job's name: not a catalogue controller's or a component's job. */
    name: string;
    /** The namespace its pods run in. */
    namespace: string;
    /** Labels of its pods. */
    selector: Record<string, string>;
    /** Its diagnostics port. Defaults to `8443`. */
    port?: number;
}

export interface ControllersTlsOptions {
    /** The PEM CA that signs the controllers' serving certificates (e.g. cert-manager's): pins them. Defaults to none: controller-runtime's self-signed certificates are not verified. */
    caCertificate?: string;
    /** The name the controllers' certificates are verified against; only with caCertificate. */
    serverName?: string;
}

export interface ControllersOptions {
    /** The catalogue controllers to scrape and verify; `[]` for none. Defaults to those the program's preflight finds in the cluster (the component alone, which does not read the cluster: none). */
    expect?: string[];
    /** More controllers, by namespace and pod labels. Defaults to `[]`. */
    extra?: ExtraController[];
    /** How the controllers' serving certificates are verified. Defaults to `{}`: not verified. */
    tls?: ControllersTlsOptions;
}

/** The plain (non-Output) part of the component's arguments: every stack config key but the kubeconfig, images and resources. */
export interface StackOptions {
    /** Map of component to `true`/`false`, e.g. `{etcd: false}`; components: `kube-controller-manager`, `kube-scheduler`, `kube-proxy`, `etcd`. Defaults to all on. */
    components?: Record<string, boolean>;
    /** Where etcd runs: `{topology: external, endpoints: ["https://10.0.0.21:2379"]}` for unstacked etcd: no etcd proxy. Defaults to `{topology: stacked}`. */
    etcd?: EtcdOptions;
    /** Namespace of the proxy (labelled Pod Security `privileged`: host-network pods). Defaults to `eksa-metrics`. */
    namespace?: string;
    /** Create the namespace; `false` uses an existing one. Defaults to `true`. */
    createNamespace?: boolean;
    /** Subjects bound to the metrics-reader role (`ServiceAccount`, `User`, `Group`). Defaults to `[{kind: ServiceAccount, name: prometheus-server, namespace: observability}]`. */
    readers?: ReaderSubject[];
    /** Extra tolerations for the proxy pods (control-plane and legacy master taints are always tolerated on control-plane nodes). Defaults to `[]`. */
    tolerations?: TolerationSetting[];
    /** Extra node selector for the proxy pods, on top of the control-plane/worker split. Defaults to `{}`. */
    nodeSelector?: Record<string, string>;
    /** The port of haproxy's health endpoint on `NODE_IP`, for the probes. Defaults to `10263`. */
    healthPort?: number;
    /** How long haproxy waits for a component, from Prometheus' 10 s scrape timeout to 300 s. Defaults to `30`. */
    serverTimeoutSeconds?: number;
    /** The name clients verify; the serving certificate's validity (re-issued by the first `pulumi up` of each renewal period, two thirds of it) and the CA's (replaced through a bundle from two thirds of it on; at least 9 times `validityDays`): see Certificates and renewals. Defaults to `{serverName: <namespace>-metrics-proxy, validityDays: 90, caValidityDays: 3650}`. */
    tls?: ProxyTlsOptions;
    /** How many failed authentications (401s of a component or kube-rbac-proxy: TokenReviews that failed) one source address may cause per period on a node's haproxy ports before haproxy refuses it (429): the bound on the TokenReviews a client without credentials causes, see What a client without credentials costs. Defaults to `{failures: 20, periodSeconds: 60}`. */
    authFailureLimit?: AuthFailureLimitOptions;
    /** How long Pulumi waits for the DaemonSets to be ready, from 1 to 120 minutes. Defaults to `10`. */
    rolloutTimeoutMinutes?: number;
    /** The verification; `mode`: `cluster` (from short-lived pods in the cluster) or `local` (from this machine), see Verification; `serviceAccount: {name, namespace}` picks the reader whose token is used (default: the first ServiceAccount reader). Defaults to `{enabled: true, timeoutSeconds: 120, concurrency: 8, mode: cluster}`. */
    verify?: VerifyOptions;
    /** `true` when the readers come later (Prometheus installed after this stack): they are bound now, the preflight warns instead of stopping, and the verification uses `<namespace>/eksa-metrics-verifier`, a service account the stack creates and binds to metrics-reader (unless `verify.serviceAccount` names one). Defaults to `false`. */
    readersMayNotExistYet?: boolean;
    /** `true` lets `pulumi preview` pass when the cluster cannot be read, warning what it did not check; `pulumi up` always needs the cluster. Defaults to `false`. */
    offlinePreview?: boolean;
    /** The migration from the EKS Anywhere docs page's manual install: `true` lets `pulumi up` delete its `metrics-proxy` DaemonSet (waiting for its pods to go) and ConfigMap before our proxy rolls out (see Preflight). Defaults to `false`. */
    replaceDocsMetricsProxy?: boolean;
    /** The `job` of each component's series (default: the component's name, which kubernetes-mixin's dashboards and alerts select on; e.g. `{jobNames: {etcd: etcd-stacked}}`), used by the `scrapeConfig`, `alertRules` and Operator objects alike; how long a condition holds before an alert fires (see Prometheus). Defaults to `{jobNames: {<component>: <component>}, alertForSeconds: 900}`. */
    prometheus?: PrometheusOptions;
    /** `enabled: true` creates a `ScrapeConfig` per component and controller, a `PrometheusRule` and what they reference in `namespace` (which must exist), labelled with `labels` so your `Prometheus` selects them (kube-prometheus-stack: `{release: <helm release>}`). Defaults to `{enabled: false, namespace: monitoring, labels: {}}`. */
    prometheusOperator?: PrometheusOperatorOptions;
    /** The controllers scraped on their diagnostics endpoint (see Controllers). `expect`: catalogue names; defaults to the catalogue controllers the preflight finds in the cluster, `[]` for none; a listed one that is absent stops the preview. `extra: [{name, namespace, selector, port}]`: other controller-runtime managers, by namespace and pod labels (`port` defaults to 8443; `name` is the job and must not be a catalogue or component job). `tls: {caCertificate, serverName}`: a PEM CA that signs the controllers' serving certificates, pinned in the scrape jobs and the verification, and the name to verify (only with `caCertificate`); defaults to none: the certificates are not verified. Defaults to `{expect: <those present>, extra: [], tls: {}}`. */
    controllers?: ControllersOptions;
    /** A registry mirror as images name it, `host[:port]` or `host[:port]/path` (no scheme, no trailing `/`): every default image is pulled from it, repository and tag kept (`quay.io/brancz/kube-rbac-proxy:v0.19.1` becomes `<imageRegistry>/brancz/kube-rbac-proxy:v0.19.1`); an image set by its own key is used as given (see Air-gapped clusters). Defaults to none: each image's own registry. */
    imageRegistry?: string;
    /** Names of pull secrets (`kubernetes.io/dockerconfigjson`, each a lower-case DNS name) for the proxy's and the verification's pods; each must exist in the stack's namespace and the reader's. Defaults to `[]`. */
    imagePullSecrets?: string[];
}

/** The component's arguments: the options, the kubeconfig, and the proxy images and resources. */
export interface MetricsStackArgs extends StackOptions {
    /** The cluster's kubeconfig; the provider deploys with it and the verification asks the API server for a token and the nodes with it. Required unless verify.enabled is false; a secret. */
    kubeconfig?: pulumi.Input<string>;
    /** Haproxy image (the EKS Anywhere docs' one); point it at a private mirror if needed. Defaults to `public.ecr.aws/eks-anywhere/kubernetes-sigs/kind/haproxy:v0.20.0-eks-a-54`. */
    proxyImage?: pulumi.Input<string>;
    /** Kube-rbac-proxy image, the token check in front of kube-proxy and etcd (the release the tests run). Defaults to `quay.io/brancz/kube-rbac-proxy:v0.19.1`. */
    gateImage?: pulumi.Input<string>;
    /** Curl image of the verification's pods (cluster mode). Defaults to `curlimages/curl:8.11.1`. */
    verifyImage?: pulumi.Input<string>;
    /** Haproxy's container resources. Defaults to requests 10m/32Mi, limit 128Mi. */
    proxyResources?: pulumi.Input<k8s.types.input.core.v1.ResourceRequirements>;
    /** Kube-rbac-proxy's container resources. Defaults to requests 5m/24Mi, limit 96Mi. */
    gateResources?: pulumi.Input<k8s.types.input.core.v1.ResourceRequirements>;
}
