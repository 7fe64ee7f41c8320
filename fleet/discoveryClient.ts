/**
 * Reads what discovery needs from the management cluster, through kubectl with the `discover:`
 * kubeconfig: the `Cluster` objects of each namespace (one list each, at the API server's preferred
 * version) and the kubeconfig Secret of each Cluster that can get a stack (one get each). Nothing
 * else is read and nothing is written; the Secrets' values stay in this process's memory (kubectl's
 * standard output), never in a file, an argument or a log.
 */
import { kubectl } from "../core/kubectl";
import {
    ClusterObject,
    DiscoverSpec,
    kubeconfigSecretName,
    ListedCluster,
    SecretAnswer,
    wantsSecret,
} from "./discovery";
import { runBounded } from "./pool";

/** The Cluster API resource, without a version: the API server answers in its preferred one (v1beta2, or v1beta1 on older Cluster API). */
export const CLUSTER_RESOURCE = "clusters.cluster.x-k8s.io";
/** Secrets read at once. */
const SECRET_READS = 8;

/** kubectl's reason for a failure, e.g. "Forbidden", "NotFound", from `Error from server (Reason): ...`. */
function serverReason(err: Error): string | undefined {
    return /Error from server \((\w+)\)/.exec(err.message)?.[1];
}

export interface Listing {
    clusters: ListedCluster[];
    problems: string[];
}

export async function listClusters(spec: DiscoverSpec): Promise<Listing> {
    const problems: string[] = [];
    const clusters: ListedCluster[] = [];
    for (const namespace of spec.namespaces) {
        let items: ClusterObject[];
        try {
            items = JSON.parse(
                await kubectl(spec.kubeconfigPath, ["get", CLUSTER_RESOURCE, "-n", namespace, "-o", "json"]),
            ).items;
        } catch (err) {
            const message = (err as Error).message;
            const reason = serverReason(err as Error);
            const fix =
                reason === "Forbidden"
                    ? `bind the discovery's Role (fleet/rbac/discovery.yaml) in ${namespace} to the kubeconfig's user`
                    : /doesn't have a resource type/.test(message)
                      ? "the cluster has no Cluster API CRDs: is discover.kubeconfig the management cluster's?"
                      : "check discover.kubeconfig and that the management cluster is reachable";
            problems.push(
                `discover: cannot list ${CLUSTER_RESOURCE} in namespace ${namespace}: ${message}. Fix: ${fix}`,
            );
            continue;
        }
        clusters.push(...items.map((object) => ({ object, namespace })));
    }

    const wanted = clusters.filter((c) => wantsSecret(spec, c.object));
    await runBounded(
        wanted,
        SECRET_READS,
        async (c) => {
            c.secret = await readSecret(spec, c.namespace, kubeconfigSecretName(c.object.metadata.name), problems);
        },
        () => undefined,
    );
    return { clusters, problems };
}

async function readSecret(
    spec: DiscoverSpec,
    namespace: string,
    name: string,
    problems: string[],
): Promise<SecretAnswer> {
    let secret: { data?: Record<string, string> };
    try {
        secret = JSON.parse(await kubectl(spec.kubeconfigPath, ["get", "secret", name, "-n", namespace, "-o", "json"]));
    } catch (err) {
        const reason = serverReason(err as Error);
        if (reason === "NotFound") {
            return { kind: "missing" };
        }
        if (reason === "Forbidden") {
            // A missing right is the fleet's problem, not the cluster's: it stops the run.
            problems.push(
                `discover: cannot get Secret ${namespace}/${name}: ${(err as Error).message}. Fix: bind the discovery's Role (fleet/rbac/discovery.yaml) in ${namespace}`,
            );
        }
        return { kind: "not read", why: (err as Error).message };
    }
    const value = secret.data?.value;
    return { kind: "found", value: value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8") };
}
