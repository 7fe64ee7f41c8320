/**
 * The preflight: what `pulumi preview` (and again the start of `pulumi up`) can know from the
 * cluster before anything changes. Pure: the facts read from the cluster (clusterFacts.ts) and the
 * resolved settings in, the problems and the proxy's placement out; index.ts reports them.
 *
 * Errors are what would make `pulumi up` fail or do harm (a rollout that never finishes, a
 * verification that cannot pass, pods preempted); warnings are what may be intended or cannot be
 * known for sure (an untested version, readers declared as not there yet, an unlabelled namespace).
 */
import { ComponentName, componentsFor, NodeRole } from "../core/catalogue";
import {
    ControllerPresence,
    DeploymentFact,
    diagnosticsConcerns,
    resolveControllerPresence,
} from "../config/controllers";
import { labelSelector, PROXY_APP_LABEL, STACK_LABEL } from "../core/labels";
import { Settings, UNBOUND_SERVICE_ACCOUNT } from "../config/settings";
import { ClusterNode, CONTROL_PLANE_LABEL, isControlPlane, NO_INTERNAL_IP, whyNotScheduled } from "../core/kubernetes";
import { parseImageReference, pullSource, RegistryMirror } from "../core/images";
import { MIRROR_KEY } from "../config/images";

/** Kubernetes minors the proxy is built for and tested on (EKS Anywhere's releases). */
/** The CRDs the objects need, by name. */
export const OPERATOR_CRDS = ["scrapeconfigs.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com"];

/** The preflight's errors when the operator's objects are asked for but the cluster lacks their CRDs; `key` spells a config key. */
export function operatorCrdProblems(
    enabled: boolean,
    crdsInCluster: readonly string[],
    key = (k: string) => k,
): string[] {
    if (!enabled) {
        return [];
    }
    return OPERATOR_CRDS.filter((crd) => !crdsInCluster.includes(crd)).map(
        (crd) =>
            `${key("prometheusOperator.enabled")}: the cluster has no CustomResourceDefinition ${crd}. Install the Prometheus Operator (e.g. kube-prometheus-stack) first, or set ${key("prometheusOperator.enabled")} to false`,
    );
}

export const SUPPORTED_MINORS = { oldest: 28, newest: 34 };
/**
 * Below this the stack cannot work at all: Pod Security admission (GA in 1.25) is what the
 * namespace's `privileged` label speaks to, and `kubectl create token` needs 1.24.
 */
export const MINIMUM_MINOR = 25;
/** The EKS Anywhere docs page's manual install (shared/seeds/004): its DaemonSet, ConfigMap and pod label. */
export const DOCS_PROXY_NAME = "metrics-proxy";
/** A right the verification needs of the kubeconfig's user, as `kubectl auth can-i` asks it. */
export interface Permission {
    verb: string;
    resource: string;
    subresource?: string;
    namespace: string;
}
/** The API server's answer (a SelfSubjectAccessReview, what `kubectl auth can-i` asks). */
export interface PermissionAnswer extends Permission {
    allowed: boolean;
}
/**
 * Cluster mode: what verify/clusterMode.ts does with pods in each of its namespaces: creates them, polls
 * them (get), reads their logs (get pods/log), deletes them, and deletes leftovers by label selector
 * (kubectl lists, then deletes each).
 */
const POD_PERMISSIONS: Omit<Permission, "namespace">[] = [
    { verb: "create", resource: "pods" },
    { verb: "get", resource: "pods" },
    { verb: "list", resource: "pods" },
    { verb: "delete", resource: "pods" },
    { verb: "get", resource: "pods", subresource: "log" },
];
/** Local mode: TokenRequest (`kubectl create token`) for the reader and for the unbound account. */
const TOKEN_PERMISSION: Omit<Permission, "namespace"> = {
    verb: "create",
    resource: "serviceaccounts",
    subresource: "token",
};
/** Pod Security levels that refuse host-network pods and host ports. */
const REFUSING_POD_SECURITY = ["baseline", "restricted"];
const ENFORCE_LABEL = "pod-security.kubernetes.io/enforce";

export interface NamespaceFact {
    name: string;
    labels: Record<string, string>;
}

/** A pod that holds (or, Pending, waits for) host ports on a node. */
export interface PodFact {
    namespace: string;
    name: string;
    labels: Record<string, string>;
    /** spec.nodeName, or the node a DaemonSet pod is pinned to while Pending. */
    node?: string;
    phase?: string;
    /** The controller that owns it, e.g. {kind: "DaemonSet", name: "metrics-proxy"}. */
    owner?: { kind: string; name: string };
    /** TCP host ports: every container port of a host-network pod, and every hostPort. */
    hostPorts: number[];
}

export interface DaemonSetFact {
    namespace: string;
    name: string;
    podLabels: Record<string, string>;
    hostNetwork: boolean;
    /** ConfigMaps its pods mount. */
    configMaps: string[];
}

/** Everything the preflight reads, read-only, with the stack's kubeconfig. */
export interface ClusterFacts {
    /** From /version, e.g. {major: "1", minor: "34", gitVersion: "v1.34.4"}. */
    version: { major: string; minor: string; gitVersion: string };
    nodes: ClusterNode[];
    namespaces: NamespaceFact[];
    serviceAccounts: { namespace: string; name: string }[];
    daemonSets: DaemonSetFact[];
    pods: PodFact[];
    /** The answers for verificationPermissions(settings); undefined when verification is off. */
    verificationPermissions?: PermissionAnswer[];
    /** The CustomResourceDefinitions' names; read only with prometheusOperator.enabled. */
    crds?: string[];
    /** The Deployments (where controllers run); not read with controllers.expect [], or when listing them failed. */
    deployments?: DeploymentFact[];
    /** Why the Deployments could not be listed (e.g. RBAC). */
    deploymentsUnreadable?: string;
    /**
     * The registry mirrors the cluster's own EKS Anywhere Cluster objects declare
     * (spec.registryMirrorConfiguration); read only when the cluster serves anywhere.eks.amazonaws.com.
     */
    registryMirrors?: RegistryMirror[];
    /** Why the EKS Anywhere Cluster objects could not be read (e.g. RBAC). */
    registryMirrorsUnreadable?: string;
}

/** An image the stack runs, and the config key that sets it. */
export interface StackImage {
    key: string;
    image: string;
}

/**
 * The preflight's warnings for images that a node of a cluster with a registry mirror would pull
 * from elsewhere (neither the mirror nor a registry it mirrors): on an air-gapped cluster that pull
 * fails, and the rollout or the verification with it. `mirrorKey` is the key that rewrites the
 * registry of every default image.
 */
export function mirrorWarnings(
    images: readonly StackImage[],
    mirrors: readonly RegistryMirror[],
    mirrorKey: string,
    key = (k: string) => k,
): string[] {
    const warnings: string[] = [];
    for (const mirror of mirrors) {
        const mirrored = Object.keys(mirror.mirrored).join(", ");
        for (const { key: imageKey, image } of images) {
            if (pullSource(image, mirror) !== "elsewhere") {
                continue;
            }
            const parsed = parseImageReference(image);
            const from = "invalid" in parsed ? "nowhere (it is no image reference)" : parsed.registry;
            const copy = "invalid" in parsed ? "" : ` (copy ${parsed.repository}${parsed.suffix} into it first)`;
            warnings.push(
                `${key(imageKey)}: image ${image} would be pulled from ${from}, but the cluster's ${mirror.declaredBy} declares the registry mirror ${mirror.registry} (spec.registryMirrorConfiguration; it serves ${mirror.registry} and mirrors ${mirrored}): on an air-gapped cluster that pull fails. Set ${key(mirrorKey)} ${mirror.registry} to pull every default image from the mirror${copy}, or set ${key(imageKey)} to an image it serves`,
            );
        }
    }
    return warnings;
}

export interface StackIdentity {
    /** This stack's value of STACK_LABEL. */
    stackLabel: string;
    /** `pulumi preview` (true) or `pulumi up` (false). */
    dryRun: boolean;
    /** "eksa-metrics:" before every key. */
    keyPrefix: string;
}

export interface NodePlacement {
    node: string;
    role?: NodeRole;
    components: ComponentName[];
    /** Why the proxy will not run there. */
    skipped?: string;
}

export interface PreflightResult {
    errors: string[];
    warnings: string[];
    /** Which nodes run the proxy and which are skipped and why, for the preview's log. */
    placement: NodePlacement[];
    /** The docs page's DaemonSets that `up` will delete first (replaceDocsMetricsProxy). */
    docsProxies: DaemonSetFact[];
    /** The catalogue controllers found, for the preview's log. */
    controllers: ControllerPresence["found"];
}

/** The one shape both the preflight and the removal recognise as the docs page's install. */
export function isDocsProxy(ds: DaemonSetFact): boolean {
    return ds.name === DOCS_PROXY_NAME && ds.podLabels.app === DOCS_PROXY_NAME && ds.hostNetwork;
}

/**
 * kubectl's arguments that remove the docs page's install: the DaemonSet once its pods are gone
 * (foreground), so the ports are free when ours roll out, then the ConfigMaps it mounts.
 */
export function docsProxyRemovalArgs(ds: DaemonSetFact): string[][] {
    return [
        [
            "delete",
            "daemonset",
            ds.name,
            "--namespace",
            ds.namespace,
            "--cascade=foreground",
            "--wait",
            "--ignore-not-found",
        ],
        ...ds.configMaps.map((cm) => ["delete", "configmap", cm, "--namespace", ds.namespace, "--ignore-not-found"]),
    ];
}

/** The same, as the user would type them. */
export function docsProxyRemovalCommands(ds: DaemonSetFact): string[] {
    return docsProxyRemovalArgs(ds).map((args) => `kubectl ${args.join(" ")}`);
}

/** The host ports the proxy pod of `role` listens on, and what each is for. */
export function hostPortsOf(role: NodeRole, settings: Settings): Map<number, string> {
    const components = componentsFor(role, settings.components);
    const ports = new Map(components.map((c) => [c.port, `${c.name} metrics`] as [number, string]));
    // haproxy fronts every port, so it runs, with its health endpoint, wherever a component does.
    if (components.length > 0) {
        ports.set(settings.healthPort, "haproxy health");
    }
    return ports;
}

export function placeNode(settings: Settings, node: ClusterNode): NodePlacement {
    if (isControlPlane(node) && node.labels[CONTROL_PLANE_LABEL] !== "") {
        return {
            node: node.name,
            components: [],
            skipped: `a control-plane node without the label ${CONTROL_PLANE_LABEL}="" that the control-plane DaemonSet selects on`,
        };
    }
    const role: NodeRole = isControlPlane(node) ? "control-plane" : "worker";
    const components = componentsFor(role, settings.components).map((c) => c.name);
    if (components.length === 0) {
        return { node: node.name, role, components, skipped: `no enabled component runs on ${role} nodes` };
    }
    const reason = whyNotScheduled(settings, node);
    // Without an InternalIP the pod still runs; only the verification leaves the node out.
    return reason && reason !== NO_INTERNAL_IP
        ? { node: node.name, role, components: [], skipped: reason }
        : { node: node.name, role, components };
}

function checkVersion(facts: ClusterFacts, key: (k: string) => string, errors: string[], warnings: string[]): void {
    const minor = Number.parseInt(facts.version.minor, 10);
    const range = `1.${SUPPORTED_MINORS.oldest} to 1.${SUPPORTED_MINORS.newest}`;
    if (facts.version.major !== "1" || Number.isNaN(minor)) {
        errors.push(
            `${key("kubeconfig")}: the cluster reports version ${facts.version.gitVersion}, which is not a Kubernetes 1.x. Point the kubeconfig at the cluster's kube-apiserver (supported: ${range})`,
        );
    } else if (minor < MINIMUM_MINOR) {
        errors.push(
            `${key("kubeconfig")}: the cluster runs Kubernetes ${facts.version.gitVersion}; the proxy needs 1.${MINIMUM_MINOR} or later (Pod Security admission, TokenRequest). Upgrade the cluster (supported: ${range})`,
        );
    } else if (minor < SUPPORTED_MINORS.oldest || minor > SUPPORTED_MINORS.newest) {
        warnings.push(
            `${key("kubeconfig")}: the cluster runs Kubernetes ${facts.version.gitVersion}, outside the tested ${range}. It should work; the verification after the rollout will tell`,
        );
    }
}

function hasServiceAccount(facts: ClusterFacts, sa: { name: string; namespace: string }): boolean {
    return facts.serviceAccounts.some((s) => s.namespace === sa.namespace && s.name === sa.name);
}

function missingWhy(facts: ClusterFacts, sa: { name: string; namespace: string }): string {
    return facts.namespaces.some((n) => n.name === sa.namespace)
        ? "does not exist"
        : `does not exist (nor does namespace ${sa.namespace})`;
}

function checkReaders(
    settings: Settings,
    facts: ClusterFacts,
    key: (k: string) => string,
    errors: string[],
    warnings: string[],
): void {
    const verifier = settings.verify.enabled ? settings.verify.serviceAccount : undefined;
    settings.readers.forEach((reader, i) => {
        if (
            reader.kind !== "ServiceAccount" ||
            hasServiceAccount(facts, { name: reader.name, namespace: reader.namespace! })
        ) {
            return;
        }
        const sa = `ServiceAccount ${reader.namespace}/${reader.name}`;
        const why = missingWhy(facts, { name: reader.name, namespace: reader.namespace! });
        if (settings.readersMayNotExistYet) {
            const own = settings.verifierServiceAccount;
            const verifiedWith = own
                ? `; the verification uses ${own.namespace}/${own.name}, which this stack creates`
                : "";
            warnings.push(
                `${key(`readers[${i}]`)}: ${sa} ${why} yet; it is bound now and can read the metrics once it exists (readersMayNotExistYet)${verifiedWith}`,
            );
            return;
        }
        const usedByVerification = verifier?.name === reader.name && verifier.namespace === reader.namespace;
        errors.push(
            `${key(`readers[${i}]`)}: ${sa} ${why}${usedByVerification ? ", and the verification needs its token" : ""}. Create it first (e.g. install Prometheus), or set ${key("readersMayNotExistYet")} true to bind it now and verify with a service account this stack creates`,
        );
    });
}

/**
 * The service accounts the verification acts as, by namespace: the reader's (verify.serviceAccount)
 * and the unbound one this stack creates in its namespace. In cluster mode its pods run there as
 * them; in local mode it requests their tokens.
 */
function verificationAccounts(settings: Settings): Map<string, string[]> {
    const accounts = new Map<string, string[]>();
    const sa = settings.verify.serviceAccount;
    if (!settings.verify.enabled || sa === undefined) {
        return accounts;
    }
    for (const { namespace, name } of [sa, { namespace: settings.namespace, name: UNBOUND_SERVICE_ACCOUNT }]) {
        accounts.set(namespace, [...(accounts.get(namespace) ?? []), name]);
    }
    return accounts;
}

/**
 * What the verification's mode needs the kubeconfig's user to be allowed, in each namespace it works
 * in (the stack's may not exist yet: the API server answers for it all the same); [] when it is off.
 */
export function verificationPermissions(settings: Settings): Permission[] {
    const wanted = settings.verify.mode === "cluster" ? POD_PERMISSIONS : [TOKEN_PERMISSION];
    return [...verificationAccounts(settings).keys()].flatMap((namespace) => wanted.map((p) => ({ ...p, namespace })));
}

/** The command that asks the same as the user would type it, e.g. `kubectl auth can-i get pods --subresource=log --namespace observability`. */
export function canICommand(p: Permission): string {
    return `kubectl auth can-i ${p.verb} ${p.resource}${p.subresource ? ` --subresource=${p.subresource}` : ""} --namespace ${p.namespace}`;
}

/** "create and delete on pods and get on pods/log": the grant that fixes the refused ones. */
function describeGrant(refused: Permission[]): string {
    const verbs = new Map<string, string[]>();
    for (const p of refused) {
        const resource = p.subresource ? `${p.resource}/${p.subresource}` : p.resource;
        verbs.set(resource, [...(verbs.get(resource) ?? []), p.verb]);
    }
    const and = (words: string[]) =>
        words.length < 2 ? words.join("") : `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`;
    return and([...verbs].map(([resource, v]) => `${and(v)} on ${resource}`));
}

function checkVerificationPermissions(
    settings: Settings,
    facts: ClusterFacts,
    key: (k: string) => string,
    errors: string[],
): void {
    const cluster = settings.verify.mode === "cluster";
    for (const [namespace, names] of verificationAccounts(settings)) {
        const refused = (facts.verificationPermissions ?? []).filter((p) => p.namespace === namespace && !p.allowed);
        if (refused.length === 0) {
            continue;
        }
        const accounts = `ServiceAccount${names.length > 1 ? "s" : ""} ${names.map((name) => `${namespace}/${name}`).join(" and ")}`;
        const what = cluster
            ? `run the verification's pods as ${accounts} in namespace ${namespace}`
            : `create tokens for ${accounts}`;
        const other = cluster
            ? `"local" to verify from this machine with tokens`
            : `"cluster" to verify from pods in the cluster`;
        const answers = refused.map((p) => `${canICommand(p)}: no`).join("; ");
        errors.push(
            `${key("kubeconfig")}: its user may not ${what} (${answers}), which the verification does with ${key("verify.mode")} "${settings.verify.mode}". Grant it ${describeGrant(refused)} in ${namespace}, set ${key("verify.mode")} ${other}, or set ${key("verify.enabled")} false`,
        );
    }
}

function checkVerification(
    settings: Settings,
    facts: ClusterFacts,
    key: (k: string) => string,
    errors: string[],
): void {
    const sa = settings.verify.serviceAccount;
    if (!settings.verify.enabled || sa === undefined) {
        return;
    }
    const reader = settings.readers.some(
        (r) => r.kind === "ServiceAccount" && r.name === sa.name && r.namespace === sa.namespace,
    );
    // A missing reader is reported once, by checkReaders; the stack's own service account is made by `up`.
    if (!settings.verifierServiceAccount && !reader && !hasServiceAccount(facts, sa)) {
        errors.push(
            `${key("verify.serviceAccount")}: ServiceAccount ${sa.namespace}/${sa.name} ${missingWhy(facts, sa)}, and the verification needs its token. Create it, name another with ${key("verify.serviceAccount")}, or set ${key("verify.enabled")} false`,
        );
    }
    checkVerificationPermissions(settings, facts, key, errors);
}

function checkNamespace(
    settings: Settings,
    facts: ClusterFacts,
    identity: StackIdentity,
    key: (k: string) => string,
    errors: string[],
    warnings: string[],
): void {
    const ns = facts.namespaces.find((n) => n.name === settings.namespace);
    if (!ns) {
        if (!settings.createNamespace) {
            errors.push(
                `${key("namespace")}: namespace ${settings.namespace} does not exist and ${key("createNamespace")} is false. Create it (kubectl create namespace ${settings.namespace} && kubectl label namespace ${settings.namespace} ${ENFORCE_LABEL}=privileged), or set ${key("createNamespace")} true`,
            );
        }
        return;
    }
    if (settings.createNamespace) {
        const owner = ns.labels[STACK_LABEL];
        // Namespaces made before the stack label have none; our proxy's pods in it say whose it is.
        const ours =
            owner === identity.stackLabel ||
            (owner === undefined &&
                facts.pods.some(
                    (p) => p.namespace === ns.name && p.labels["app.kubernetes.io/name"] === PROXY_APP_LABEL,
                ));
        if (!ours) {
            errors.push(
                `${key("namespace")}: namespace ${ns.name} already exists${owner ? ` and belongs to another eksa-metrics stack (${STACK_LABEL}=${owner})` : ", made by someone else"}, and ${key("createNamespace")} true would take it over (and delete it on destroy). Set ${key("createNamespace")} false to use it, or choose another ${key("namespace")}`,
            );
        }
        return;
    }
    const enforce = ns.labels[ENFORCE_LABEL];
    if (enforce !== undefined && REFUSING_POD_SECURITY.includes(enforce)) {
        errors.push(
            `${key("namespace")}: namespace ${ns.name} enforces Pod Security "${enforce}", which refuses the proxy's host-network pods and host ports (the DaemonSets would never get a pod). Label it privileged: kubectl label namespace ${ns.name} ${ENFORCE_LABEL}=privileged --overwrite`,
        );
    } else if (enforce === undefined) {
        warnings.push(
            `${key("namespace")}: namespace ${ns.name} has no ${ENFORCE_LABEL} label, so the cluster's default Pod Security level applies: fine if that is privileged (Kubernetes' default), fatal if your API server defaults to baseline or restricted. Label it: kubectl label namespace ${ns.name} ${ENFORCE_LABEL}=privileged`,
        );
    }
}

function checkControlPlane(
    settings: Settings,
    facts: ClusterFacts,
    placement: NodePlacement[],
    key: (k: string) => string,
    errors: string[],
): void {
    const served = new Set(placement.flatMap((p) => p.components));
    const cpComponents = settings.components.filter((c) => c.placement === "control-plane").map((c) => c.name);
    const selected = facts.nodes.filter((n) => n.labels[CONTROL_PLANE_LABEL] === "");
    if (cpComponents.length > 0 && selected.length === 0) {
        errors.push(
            `${key("components")}: ${cpComponents.join(", ")} run on control-plane nodes, but no node is labelled ${CONTROL_PLANE_LABEL}="" (nodes: ${facts.nodes.map((n) => n.name).join(", ") || "none"}). Point the kubeconfig at the right cluster, label its control-plane nodes, or turn these components off`,
        );
        return;
    }
    for (const name of settings.components.map((c) => c.name).filter((n) => !served.has(n))) {
        const reasons = placement
            .filter((p) => p.skipped && (p.role === "control-plane" || name === "kube-proxy"))
            .map((p) => `${p.node}: ${p.skipped}`);
        errors.push(
            `${key(`components.${name}`)}: no node will run its proxy (${reasons.join("; ") || "no node"}). Add the missing toleration to ${key("tolerations")}, fix ${key("nodeSelector")}, or turn it off`,
        );
    }
}

type HolderKind = "docs" | "other-stack" | "other";

interface Holder {
    label: string;
    kind: HolderKind;
    portsByNode: Map<string, number[]>;
    daemonSet?: DaemonSetFact;
    otherStack?: string;
}

/** Our own stack's pods (also from before the stack label, in our namespace) are not a conflict. */
function isOwnPod(pod: PodFact, settings: Settings, identity: StackIdentity): boolean {
    if (pod.labels["app.kubernetes.io/name"] !== PROXY_APP_LABEL) {
        return false;
    }
    const stack = pod.labels[STACK_LABEL];
    return stack === identity.stackLabel || (stack === undefined && pod.namespace === settings.namespace);
}

function holders(
    settings: Settings,
    facts: ClusterFacts,
    placement: NodePlacement[],
    identity: StackIdentity,
): Holder[] {
    const roleOf = new Map(placement.filter((p) => !p.skipped).map((p) => [p.node, p.role!]));
    const found = new Map<string, Holder>();
    for (const pod of facts.pods) {
        const role = pod.node === undefined ? undefined : roleOf.get(pod.node);
        if (
            role === undefined ||
            pod.phase === "Succeeded" ||
            pod.phase === "Failed" ||
            isOwnPod(pod, settings, identity)
        ) {
            continue;
        }
        const needed = hostPortsOf(role, settings);
        const clash = pod.hostPorts.filter((p) => needed.has(p));
        if (clash.length === 0) {
            continue;
        }
        const ownedByDaemonSet = pod.owner?.kind === "DaemonSet";
        const byDaemonSet = ownedByDaemonSet
            ? facts.daemonSets.find((d) => d.namespace === pod.namespace && d.name === pod.owner!.name)
            : undefined;
        const label = ownedByDaemonSet
            ? `DaemonSet ${pod.namespace}/${pod.owner!.name}`
            : `Pod ${pod.namespace}/${pod.name}`;
        const otherStack =
            pod.labels["app.kubernetes.io/name"] === PROXY_APP_LABEL
                ? (pod.labels[STACK_LABEL] ?? "(before stack labels)")
                : undefined;
        const kind: HolderKind =
            byDaemonSet && isDocsProxy(byDaemonSet) ? "docs" : otherStack ? "other-stack" : "other";
        const holder = found.get(label) ?? { label, kind, portsByNode: new Map(), daemonSet: byDaemonSet, otherStack };
        holder.portsByNode.set(
            pod.node!,
            [...new Set([...(holder.portsByNode.get(pod.node!) ?? []), ...clash])].sort((a, b) => a - b),
        );
        found.set(label, holder);
    }
    return [...found.values()];
}

/** "host ports 2381 (etcd metrics), 10249 (kube-proxy metrics) on node a, 10249 (kube-proxy metrics) on nodes b, c" */
function describeHeld(holder: Holder, settings: Settings): string {
    const purpose = new Map([...hostPortsOf("control-plane", settings), ...hostPortsOf("worker", settings)]);
    const nodesByPorts = new Map<string, string[]>();
    for (const [node, ports] of [...holder.portsByNode].sort(([a], [b]) => a.localeCompare(b))) {
        const key = ports.map((p) => `${p} (${purpose.get(p)})`).join(", ");
        nodesByPorts.set(key, [...(nodesByPorts.get(key) ?? []), node]);
    }
    return `host ports ${[...nodesByPorts].map(([ports, nodes]) => `${ports} on node${nodes.length === 1 ? "" : "s"} ${nodes.join(", ")}`).join("; ")}`;
}

function checkHostPorts(
    settings: Settings,
    facts: ClusterFacts,
    placement: NodePlacement[],
    identity: StackIdentity,
    key: (k: string) => string,
    errors: string[],
): void {
    for (const holder of holders(settings, facts, placement, identity)) {
        const where = `holds ${describeHeld(holder, settings)}, which the proxy needs`;
        if (holder.kind === "docs") {
            // With replaceDocsMetricsProxy, `up` deletes it before the rollout (describePlacement says so).
            if (!settings.replaceDocsMetricsProxy) {
                errors.push(
                    `${holder.label} (the EKS Anywhere docs page's manual install: plain HTTP, kube-proxy and etcd metrics unauthenticated) ${where}; our system-node-critical pods would preempt its pods and leave them Pending. Replace it deliberately: set ${key("replaceDocsMetricsProxy")} true and \`pulumi up\` deletes it before the rollout, or delete it yourself: ${docsProxyRemovalCommands(holder.daemonSet!).join(" && ")}`,
                );
            }
        } else if (holder.kind === "other-stack") {
            errors.push(
                `${holder.label} of another eksa-metrics stack (${STACK_LABEL}=${holder.otherStack}) ${where}: one cluster takes one stack. Destroy that stack first (the label is <project>.<stack>), or point this stack's kubeconfig at another cluster`,
            );
        } else {
            errors.push(
                `${holder.label} ${where}. Stop it or move it off these ports, choose another ${key("healthPort")} if that is the one, or turn the component off under ${key("components")}`,
            );
        }
    }
}

function checkExternalEtcd(
    settings: Settings,
    facts: ClusterFacts,
    key: (k: string) => string,
    errors: string[],
): void {
    if (settings.etcd.topology !== "external") {
        return;
    }
    settings.etcd.endpoints.forEach((endpoint, i) => {
        const host = new URL(endpoint).hostname.replace(/^\[|\]$/g, "");
        const node = facts.nodes.find((n) => n.internalIP === host || n.name === host);
        if (node) {
            errors.push(
                `${key(`etcd.endpoints[${i}]`)}: ${endpoint} is node ${node.name} of this cluster, so that etcd is stacked, not external. Set ${key("etcd.topology")} "stacked" (its metrics are then proxied), or list the external etcd machines`,
            );
        }
    });
    const stacked = facts.pods.filter(
        (p) => p.namespace === "kube-system" && p.labels.component === "etcd" && p.owner?.kind === "Node",
    );
    for (const pod of stacked) {
        errors.push(
            `${key("etcd.topology")}: "external", but Pod kube-system/${pod.name} runs etcd on node ${pod.node} (stacked). Set ${key("etcd.topology")} "stacked", or remove etcd.topology and etcd.endpoints`,
        );
    }
}

function checkControllers(
    settings: Settings,
    facts: ClusterFacts,
    key: (k: string) => string,
    errors: string[],
    warnings: string[],
): ControllerPresence["found"] {
    const { expect } = settings.controllers;
    if (expect?.length === 0) {
        return [];
    }
    if (facts.deployments === undefined) {
        const consequence =
            expect === undefined
                ? `so none of the catalogue's controllers is scraped. Grant the kubeconfig's user list on deployments.apps, or name them in ${key("controllers.expect")}`
                : `so ${expect.join(", ")} could not be checked; the verification after the rollout will tell. Grant the kubeconfig's user list on deployments.apps`;
        warnings.push(
            `${key("controllers")}: the controllers could not be listed (${facts.deploymentsUnreadable ?? "no answer"}), ${consequence}`,
        );
        return [];
    }
    const presence = resolveControllerPresence(expect, facts.deployments);
    for (const entry of presence.absent) {
        errors.push(
            `${key("controllers.expect")}: ${entry.name} is not in the cluster (no Deployment in namespace ${entry.namespace} with pod labels ${labelSelector(entry.selector)}). Install it, or remove it from ${key("controllers.expect")}`,
        );
    }
    for (const { entry, deployments } of presence.found) {
        for (const d of deployments) {
            for (const concern of diagnosticsConcerns(entry, d)) {
                warnings.push(
                    `controller ${entry.name}: Deployment ${d.namespace}/${d.name}: ${concern}, so its scrape and verification will fail. Run it with --diagnostics-address=:${entry.port} --insecure-diagnostics=false, or leave it out of ${key("controllers.expect")}`,
                );
            }
        }
    }
    return presence.found;
}

/** `images`: the stack's images known as text, checked against the cluster's registry mirror. */
export function preflight(
    settings: Settings,
    facts: ClusterFacts,
    identity: StackIdentity,
    images: readonly StackImage[] = [],
): PreflightResult {
    const key = (k: string) => `${identity.keyPrefix}${k}`;
    const errors: string[] = [];
    const warnings: string[] = [];
    const placement = facts.nodes.map((node) => placeNode(settings, node));
    const docsProxies = settings.replaceDocsMetricsProxy ? facts.daemonSets.filter(isDocsProxy) : [];
    checkVersion(facts, key, errors, warnings);
    checkReaders(settings, facts, key, errors, warnings);
    checkVerification(settings, facts, key, errors);
    checkNamespace(settings, facts, identity, key, errors, warnings);
    checkControlPlane(settings, facts, placement, key, errors);
    checkHostPorts(settings, facts, placement, identity, key, errors);
    checkExternalEtcd(settings, facts, key, errors);
    errors.push(...operatorCrdProblems(settings.prometheusOperator.enabled, facts.crds ?? [], key));
    const controllers = checkControllers(settings, facts, key, errors, warnings);
    warnings.push(...mirrorWarnings(images, facts.registryMirrors ?? [], MIRROR_KEY, key));
    if (facts.registryMirrorsUnreadable !== undefined) {
        warnings.push(
            `the cluster's EKS Anywhere Cluster objects could not be read (${facts.registryMirrorsUnreadable}), so the images were not checked against a registry mirror it may declare. Grant the kubeconfig's user list on clusters.anywhere.eks.amazonaws.com`,
        );
    }
    if (settings.replaceDocsMetricsProxy && docsProxies.length === 0) {
        warnings.push(
            `${key("replaceDocsMetricsProxy")}: the cluster has no ${DOCS_PROXY_NAME} DaemonSet of the EKS Anywhere docs page, so there is nothing to replace. Remove the key once the migration is done`,
        );
    }
    for (const p of placement.filter((p) => p.skipped?.startsWith("taint"))) {
        warnings.push(
            `node ${p.node}: skipped, ${p.skipped}: its metrics will not be served. Add a toleration to ${key("tolerations")} if the proxy should run there`,
        );
    }
    return { errors, warnings, placement, docsProxies, controllers };
}

/** For the offline preview's list: what the kubeconfig's user's rights for the verification were not checked for. */
function verificationRights(settings: Settings): string {
    const namespaces = [...verificationAccounts(settings).keys()].join(" and ");
    if (namespaces === "") {
        return "";
    }
    return settings.verify.mode === "cluster"
        ? `, the right to create, get, list and delete the verification's pods and read their logs in ${namespaces}`
        : `, the right to request the verification's tokens in ${namespaces}`;
}

/** When the cluster cannot be read: preview fails unless offline preview was asked for; `up` always fails. */
export function unreadable(settings: Settings, reason: string, identity: StackIdentity): PreflightResult {
    const key = (k: string) => `${identity.keyPrefix}${k}`;
    if (identity.dryRun && settings.offlinePreview) {
        return {
            errors: [],
            warnings: [
                `${key("offlinePreview")}: the cluster could not be read (${reason}); not checked: its Kubernetes version, the readers' and the verification's service accounts${verificationRights(settings)}, the nodes and where the proxy runs, free host ports, the namespace and its Pod Security level${settings.etcd.topology === "external" ? ", external etcd against the nodes" : ""}${settings.controllers.expect?.length === 0 ? "" : `, the controllers (could not be listed: this preview scrapes ${settings.controllers.expect === undefined ? "none of them" : `those in ${key("controllers.expect")}`})`}. \`pulumi up\` checks them all and stops on any problem`,
            ],
            placement: [],
            docsProxies: [],
            controllers: [],
        };
    }
    const offline = identity.dryRun ? `, or set ${key("offlinePreview")} true to preview without the cluster` : "";
    return {
        errors: [
            `${key("kubeconfig")}: the cluster could not be read: ${reason}. Fix the server or credentials (pulumi config set --secret ${key("kubeconfig")} < kubeconfig)${offline}`,
        ],
        warnings: [],
        placement: [],
        docsProxies: [],
        controllers: [],
    };
}

/** One line per node for the preview's log: what runs where, and what is skipped and why. */
export function describePlacement(result: PreflightResult): string[] {
    const lines = result.placement.map((p) =>
        p.skipped
            ? `node ${p.node}: no proxy (${p.skipped})`
            : `node ${p.node} (${p.role}): proxy for ${p.components.join(", ")}`,
    );
    for (const { entry, deployments } of result.controllers) {
        lines.push(
            `controller ${entry.name}: Deployment ${deployments.map((d) => `${d.namespace}/${d.name}`).join(", ")}, scraped on its pods' :${entry.port} (pod discovery)`,
        );
    }
    for (const ds of result.docsProxies) {
        lines.push(
            `replaceDocsMetricsProxy: \`pulumi up\` deletes DaemonSet ${ds.namespace}/${ds.name}${ds.configMaps.map((cm) => ` and ConfigMap ${ds.namespace}/${cm}`).join("")} before the proxy rolls out`,
        );
    }
    return lines;
}
