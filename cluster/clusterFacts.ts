/**
 * The preflight's reads of the cluster, read-only, through the user's kubectl with the stack's own
 * kubeconfig (the one the provider gets): /version, one list of the objects the checks look at,
 * whether the kubeconfig's user may do what the verification's mode does (its pods, or its tokens:
 * one request for all of them), the Deployments (where the catalogue's controllers run) unless
 * controllers.expect is [], and with prometheusOperator.enabled the CRDs' names.
 */
import * as fs from "fs";
import * as path from "path";
import { DeploymentFact } from "../config/controllers";
import {
    canICommand,
    ClusterFacts,
    DaemonSetFact,
    Permission,
    PermissionAnswer,
    PodFact,
    verificationPermissions,
} from "./preflight";
import { Settings } from "../config/settings";
import { HOST_PORTS_ANNOTATION } from "../core/labels";
import { kubectlSync, parseNodes, privateKubeconfigFile } from "../core/kubectl";
import { RegistryMirror, registryMirrorOf } from "../core/images";

/** An unreachable server should fail a preview in seconds, not in kubectl's default minute. */
const REQUEST_TIMEOUT_SECONDS = 10;
const LISTED = "nodes,namespaces,serviceaccounts,daemonsets.apps,pods";

export interface Item {
    kind: string;
    metadata: {
        name: string;
        namespace?: string;
        labels?: Record<string, string>;
        annotations?: Record<string, string>;
        ownerReferences?: { kind: string; name: string; controller?: boolean }[];
    };
    spec?: any;
    status?: any;
}

function declaredHostPorts(podSpec: any, annotations: Record<string, string> | undefined): number[] {
    const ports = new Set<number>();
    // Our proxy pods declare none: they say which they listen on in an annotation.
    for (const text of (annotations?.[HOST_PORTS_ANNOTATION] ?? "").split(",")) {
        const port = Number(text);
        if (text !== "" && Number.isInteger(port) && port > 0) {
            ports.add(port);
        }
    }
    for (const container of podSpec?.containers ?? []) {
        for (const p of container.ports ?? []) {
            if ((p.protocol ?? "TCP") !== "TCP") {
                continue;
            }
            // A host-network container listens on the node itself: its container port is a host port.
            const port = podSpec.hostNetwork ? (p.hostPort ?? p.containerPort) : p.hostPort;
            if (typeof port === "number" && port > 0) {
                ports.add(port);
            }
        }
    }
    return [...ports];
}

/** The node a Pending DaemonSet pod is pinned to (the DaemonSet controller's node affinity). */
function pinnedNode(podSpec: any): string | undefined {
    const terms =
        podSpec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    for (const term of terms) {
        const field = (term.matchFields ?? []).find(
            (f: any) => f.key === "metadata.name" && f.operator === "In" && f.values?.length === 1,
        );
        if (field) {
            return field.values[0];
        }
    }
    return undefined;
}

function podFact(item: Item): PodFact {
    const owner = item.metadata.ownerReferences?.find((o) => o.controller) ?? item.metadata.ownerReferences?.[0];
    return {
        namespace: item.metadata.namespace ?? "",
        name: item.metadata.name,
        labels: item.metadata.labels ?? {},
        node: item.spec?.nodeName || pinnedNode(item.spec),
        phase: item.status?.phase,
        owner: owner ? { kind: owner.kind, name: owner.name } : undefined,
        hostPorts: declaredHostPorts(item.spec, item.metadata.annotations),
    };
}

export function daemonSetFact(item: Item): DaemonSetFact {
    const podSpec = item.spec?.template?.spec;
    return {
        namespace: item.metadata.namespace ?? "",
        name: item.metadata.name,
        podLabels: item.spec?.template?.metadata?.labels ?? {},
        hostNetwork: podSpec?.hostNetwork === true,
        configMaps: (podSpec?.volumes ?? []).filter((v: any) => v.configMap?.name).map((v: any) => v.configMap.name),
    };
}

/** EKS Anywhere's API group and version, where its Cluster objects are. */
export const EKSA_API = "anywhere.eks.amazonaws.com/v1alpha1";

/** Whether /apis/<EKSA_API>'s discovery document (an APIResourceList) lists the Cluster resource. Pure. */
export function servesEksaClusters(discoveryJson: string): boolean {
    const resources = (JSON.parse(discoveryJson) as { resources?: { name?: string }[] }).resources ?? [];
    return resources.some((r) => r.name === "clusters");
}

/**
 * The registry mirrors in `kubectl get clusters.anywhere.eks.amazonaws.com --all-namespaces --output
 * json`: those of the cluster's own Cluster objects (self-managed: no spec.managementCluster, or it
 * names the object itself). A management cluster also holds its workload clusters' objects, whose
 * mirrors are theirs, not its own. Pure.
 */
export function parseRegistryMirrors(listJson: string): RegistryMirror[] {
    return (JSON.parse(listJson) as { items: Item[] }).items.flatMap((item) => {
        const manager = item.spec?.managementCluster?.name;
        if (manager !== undefined && manager !== item.metadata.name) {
            return [];
        }
        const mirror = registryMirrorOf(
            `Cluster ${item.metadata.namespace ?? ""}/${item.metadata.name}`,
            item.spec?.registryMirrorConfiguration,
        );
        return mirror ? [mirror] : [];
    });
}

/** The Deployments in `kubectl get deployments.apps --all-namespaces --output json`. Pure. */
export function parseDeployments(listJson: string): DeploymentFact[] {
    return (JSON.parse(listJson) as { items: Item[] }).items.map((item) => ({
        namespace: item.metadata.namespace ?? "",
        name: item.metadata.name,
        podLabels: item.spec?.template?.metadata?.labels ?? {},
        podSpec: item.spec?.template?.spec,
    }));
}

/**
 * The SelfSubjectAccessReviews that ask for `permissions`, one List: `kubectl create` sends each, as
 * `kubectl auth can-i` would, and the API server answers for a namespace that does not exist too.
 */
export function accessReviews(permissions: Permission[]): object {
    return {
        apiVersion: "v1",
        kind: "List",
        items: permissions.map(({ verb, resource, subresource, namespace }) => ({
            apiVersion: "authorization.k8s.io/v1",
            kind: "SelfSubjectAccessReview",
            spec: {
                resourceAttributes: { namespace, verb, group: "", resource, ...(subresource ? { subresource } : {}) },
            },
        })),
    };
}

/** One line per review `kubectl create --output jsonpath=` prints: namespace|verb|resource|subresource|allowed. */
export const ACCESS_REVIEW_LINE =
    '{.spec.resourceAttributes.namespace}|{.spec.resourceAttributes.verb}|{.spec.resourceAttributes.resource}|{.spec.resourceAttributes.subresource}|{.status.allowed}{"\\n"}';

const permissionKey = (p: Permission) => [p.namespace, p.verb, p.resource, p.subresource ?? ""].join("|");

/** The answers to `permissions` in that output, matched by what each line asked, or what has none. Pure. */
export function parseAccessReviews(
    output: string,
    permissions: Permission[],
): { answers: PermissionAnswer[] } | { unanswered: Permission[] } {
    const allowed = new Map<string, boolean>();
    for (const line of output.split("\n")) {
        const fields = line.trim().split("|");
        if (fields.length === 5 && (fields[4] === "true" || fields[4] === "false")) {
            allowed.set(fields.slice(0, 4).join("|"), fields[4] === "true");
        }
    }
    const unanswered = permissions.filter((p) => !allowed.has(permissionKey(p)));
    return unanswered.length > 0
        ? { unanswered }
        : { answers: permissions.map((p) => ({ ...p, allowed: allowed.get(permissionKey(p))! })) };
}

/** The facts in `kubectl get <LISTED> --all-namespaces --output json` and /version's answer. Pure. */
export function parseFacts(
    listJson: string,
    versionJson: string,
    permissions: PermissionAnswer[] | undefined,
): ClusterFacts {
    const items = (JSON.parse(listJson) as { items: Item[] }).items;
    const of = (kind: string) => items.filter((i) => i.kind === kind);
    return {
        version: JSON.parse(versionJson),
        nodes: parseNodes(JSON.stringify({ items: of("Node") })),
        namespaces: of("Namespace").map((i) => ({ name: i.metadata.name, labels: i.metadata.labels ?? {} })),
        serviceAccounts: of("ServiceAccount").map((i) => ({
            namespace: i.metadata.namespace ?? "",
            name: i.metadata.name,
        })),
        daemonSets: of("DaemonSet").map(daemonSetFact),
        pods: of("Pod").map(podFact),
        verificationPermissions: permissions,
    };
}

/**
 * The registry mirrors of the cluster's EKS Anywhere Cluster objects, when it serves them: first
 * the group's discovery (any authenticated user may read it; a 404 means no EKS Anywhere CRDs),
 * then the objects. A refusal is no stop: the preflight warns that the mirror was not checked.
 */
function readMirrors(
    ask: (args: string[]) => { stdout: string; error?: Error },
): Pick<ClusterFacts, "registryMirrors" | "registryMirrorsUnreadable"> {
    const discovery = ask(["get", "--raw", `/apis/${EKSA_API}`]);
    if (discovery.error) {
        return /\(NotFound\)/.test(discovery.error.message)
            ? { registryMirrors: [] }
            : { registryMirrorsUnreadable: discovery.error.message };
    }
    if (!servesEksaClusters(discovery.stdout)) {
        return { registryMirrors: [] };
    }
    const [group, version] = EKSA_API.split("/");
    const listed = ask(["get", `clusters.${version}.${group}`, "--all-namespaces", "--output", "json"]);
    return listed.error
        ? { registryMirrorsUnreadable: listed.error.message }
        : { registryMirrors: parseRegistryMirrors(listed.stdout) };
}

/** The cluster's facts, or why they could not be read. */
export function readClusterFacts(
    kubeconfigText: string,
    settings: Settings,
): { facts: ClusterFacts } | { unreadable: string } {
    const kubeconfig = privateKubeconfigFile(kubeconfigText);
    try {
        const ask = (args: string[]) => kubectlSync(kubeconfig.file, args, REQUEST_TIMEOUT_SECONDS);
        const version = ask(["get", "--raw", "/version"]);
        if (version.error) {
            return { unreadable: version.error.message };
        }
        const list = ask(["get", LISTED, "--all-namespaces", "--output", "json"]);
        if (list.error) {
            return { unreadable: list.error.message };
        }
        let permissions: PermissionAnswer[] | undefined;
        const wanted = verificationPermissions(settings);
        if (wanted.length > 0) {
            // Next to the kubeconfig, in its private directory: removed with it.
            const reviews = path.join(path.dirname(kubeconfig.file), "access-reviews.json");
            fs.writeFileSync(reviews, JSON.stringify(accessReviews(wanted)), { mode: 0o600 });
            const asked = ask(["create", "--filename", reviews, "--output", `jsonpath=${ACCESS_REVIEW_LINE}`]);
            if (asked.error) {
                return { unreadable: asked.error.message };
            }
            const parsed = parseAccessReviews(asked.stdout, wanted);
            if ("unanswered" in parsed) {
                return {
                    unreadable: `no answer to ${parsed.unanswered.map(canICommand).join("; ")} (kubectl create of SelfSubjectAccessReviews printed: ${JSON.stringify(asked.stdout.slice(0, 200))})`,
                };
            }
            permissions = parsed.answers;
        }
        let crds: string[] | undefined;
        if (settings.prometheusOperator.enabled) {
            const names = ask(["get", "customresourcedefinitions", "--output", "name"]);
            if (names.error) {
                return { unreadable: names.error.message };
            }
            crds = names.stdout
                .split("\n")
                .filter(Boolean)
                .map((n) => n.replace(/^customresourcedefinition\.apiextensions\.k8s\.io\//, ""));
        }
        let deployments: Pick<ClusterFacts, "deployments" | "deploymentsUnreadable"> = {};
        if (settings.controllers.expect?.length !== 0) {
            // Its own request: a user who may not list Deployments still gets the other checks.
            const listed = ask(["get", "deployments.apps", "--all-namespaces", "--output", "json"]);
            deployments = listed.error
                ? { deploymentsUnreadable: listed.error.message }
                : { deployments: parseDeployments(listed.stdout) };
        }
        return {
            facts: {
                ...parseFacts(list.stdout, version.stdout, permissions),
                crds,
                ...deployments,
                ...readMirrors(ask),
            },
        };
    } finally {
        kubeconfig.remove();
    }
}
