/** The two questions the verification asks the API server, through the user's own kubectl. */
import { execFile } from "child_process";
import { ClusterNode } from "./plan";

function kubectl(kubeconfig: string, args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
        execFile("kubectl", ["--kubeconfig", kubeconfig, "--request-timeout=20s", ...args], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
            if (error) {
                reject(new Error(`kubectl ${args.slice(0, 2).join(" ")} failed: ${stderr.trim() || error.message}`));
            } else {
                resolve(stdout);
            }
        });
    });
}

/** A short-lived token for the reader, from the TokenRequest API (never stored anywhere). */
export async function requestToken(kubeconfig: string, serviceAccount: { name: string; namespace: string }): Promise<string> {
    const token = (await kubectl(kubeconfig, ["create", "token", serviceAccount.name, "--namespace", serviceAccount.namespace, "--duration=10m"])).trim();
    if (token === "") {
        throw new Error(`TokenRequest for ${serviceAccount.namespace}/${serviceAccount.name} returned no token`);
    }
    return token;
}

interface NodeList {
    items: {
        metadata: { name: string; labels?: Record<string, string> };
        spec?: { taints?: { key: string; value?: string; effect: string }[] };
        status?: { addresses?: { type: string; address: string }[] };
    }[];
}

export function parseNodes(json: string): ClusterNode[] {
    return (JSON.parse(json) as NodeList).items.map((item) => ({
        name: item.metadata.name,
        internalIP: item.status?.addresses?.find((a) => a.type === "InternalIP")?.address,
        labels: item.metadata.labels ?? {},
        taints: item.spec?.taints ?? [],
    }));
}

export async function listNodes(kubeconfig: string): Promise<ClusterNode[]> {
    return parseNodes(await kubectl(kubeconfig, ["get", "nodes", "--output", "json"]));
}
