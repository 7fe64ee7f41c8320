/**
 * Run by `pulumi up` before the proxy's DaemonSets when `replaceDocsMetricsProxy` is set: deletes
 * the EKS Anywhere docs page's metrics-proxy DaemonSet (once its pods are gone, so its host ports
 * are free) and the ConfigMap it mounts. Prints what it removed. Kubeconfig: EKSA_METRICS_KUBECONFIG.
 */
import { daemonSetFact, Item } from "./clusterFacts";
import { docsProxyRemovalArgs, isDocsProxy } from "./preflight";
import { kubectl, privateKubeconfigFile } from "../core/kubectl";

async function main(): Promise<void> {
    const kubeconfig = privateKubeconfigFile(process.env.EKSA_METRICS_KUBECONFIG ?? "");
    try {
        const list = JSON.parse(
            await kubectl(kubeconfig.file, ["get", "daemonsets.apps", "--all-namespaces", "--output", "json"]),
        ) as { items: Item[] };
        const found = list.items.map(daemonSetFact).filter(isDocsProxy);
        for (const ds of found) {
            for (const args of docsProxyRemovalArgs(ds)) {
                process.stdout.write(await kubectl(kubeconfig.file, args));
            }
        }
        if (found.length === 0) {
            process.stdout.write("no metrics-proxy DaemonSet of the EKS Anywhere docs page: nothing to remove\n");
        }
    } finally {
        kubeconfig.remove();
    }
}

main().catch((err: Error) => {
    process.stderr.write(`replacing the docs page's metrics-proxy failed: ${err.message}\n`);
    process.exitCode = 1;
});
