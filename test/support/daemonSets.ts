/**
 * What an end-to-end suite checks once `pulumi up` returned: the provider awaited the rollout, so the
 * stack's two proxy DaemonSets (control-plane and worker) are fully available.
 */
import { strict as assert } from "assert";
import { LocalCluster } from "../../dev/localcluster/driver";

export interface DaemonSetObject {
    metadata: { name: string; annotations?: Record<string, string> };
    status: { numberAvailable?: number; desiredNumberScheduled: number };
}

/** The DaemonSets in `namespace`, after asserting that there are the stack's two and each is fully available. */
export async function availableProxyDaemonSets(cluster: LocalCluster, namespace: string): Promise<DaemonSetObject[]> {
    const daemonSets: DaemonSetObject[] = JSON.parse(
        await cluster.mustKubectl(["get", "daemonsets", "-n", namespace, "-o", "json"]),
    ).items;
    assert.equal(daemonSets.length, 2);
    for (const ds of daemonSets) {
        assert.equal(ds.status.numberAvailable, ds.status.desiredNumberScheduled, ds.metadata.name);
    }
    return daemonSets;
}
