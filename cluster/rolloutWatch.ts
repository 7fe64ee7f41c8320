/**
 * While `pulumi up` waits for the proxy's DaemonSets, says why their pods are not running: the
 * scheduler's reason for a Pending pod (e.g. "didn't have free ports for the requested pod ports"),
 * a container's waiting reason (ImagePullBackOff, CrashLoopBackOff). Without it a rollout that
 * cannot finish ends in the provider's bare timeout, rolloutTimeoutMinutes later.
 */
import * as pulumi from "@pulumi/pulumi";
import { STACK_LABEL } from "../core/labels";
import { kubectl, privateKubeconfigFile } from "../core/kubectl";
import { registryOf } from "../core/images";
import { MIRROR_KEY, PULL_SECRETS_KEY } from "../config/images";

const POLL_MS = 10_000;
/** What every starting container goes through: not a problem. */
const STARTING = ["ContainerCreating", "PodInitializing"];

/** Waiting reasons of a container whose image the node cannot pull (or may not, or cannot parse). */
export const PULL_FAILURES = ["ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName"];

/**
 * After a pull failure's own message: which image, from which registry, and the keys that fix it
 * on a cluster without internet or with a private registry. Pure.
 */
export function imagePullHint(image: string, key: (k: string) => string = (k) => k): string {
    const registry = registryOf(image);
    return `the nodes cannot pull image ${image}${registry ? ` from ${registry}` : ""}. Without internet access (an air-gapped cluster), set ${key(MIRROR_KEY)} to your registry mirror, which must hold the image: every default image is then pulled from it; for a registry that asks for credentials, name a pull secret in ${key(PULL_SECRETS_KEY)}`;
}

interface PodItem {
    metadata: { name: string; namespace: string };
    spec?: { containers?: { name: string; image?: string }[] };
    status?: {
        conditions?: { type: string; status: string; reason?: string; message?: string }[];
        containerStatuses?: {
            name: string;
            image?: string;
            state?: { waiting?: { reason?: string; message?: string } };
        }[];
    };
}

/** One line per problem of a pod in `kubectl get pods --output json`; `key` spells a config key. Pure. */
export function podProblems(podListJson: string, key: (k: string) => string = (k) => k): string[] {
    const problems: string[] = [];
    for (const pod of (JSON.parse(podListJson) as { items: PodItem[] }).items) {
        const name = `pod ${pod.metadata.namespace}/${pod.metadata.name}`;
        const unscheduled = pod.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
        if (unscheduled) {
            problems.push(
                `${name} is not scheduled: ${unscheduled.message ?? unscheduled.reason ?? "no reason given"}`,
            );
        }
        for (const container of pod.status?.containerStatuses ?? []) {
            const waiting = container.state?.waiting;
            if (waiting?.reason && !STARTING.includes(waiting.reason)) {
                const image = pod.spec?.containers?.find((c) => c.name === container.name)?.image ?? container.image;
                const hint = PULL_FAILURES.includes(waiting.reason) && image ? `; ${imagePullHint(image, key)}` : "";
                problems.push(
                    `${name}, container ${container.name}: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ""}${hint}`,
                );
            }
        }
    }
    return problems;
}

/**
 * Polls this stack's proxy pods until the DaemonSets are registered (their ids resolve) or the
 * rollout timeout has passed, and warns each new problem once. Never keeps the program alive.
 */
export function watchRollout(
    kubeconfigText: string,
    namespace: string,
    stackLabel: string,
    daemonSets: pulumi.Resource[],
    timeoutMinutes: number,
    key: (k: string) => string = (k) => k,
): void {
    const kubeconfig = privateKubeconfigFile(kubeconfigText);
    // The file holds credentials: gone when the watch ends, or with the program whatever happens.
    process.once("exit", kubeconfig.remove);
    const reported = new Set<string>();
    let done = false;
    const stop = () => {
        done = true;
        clearInterval(timer);
        kubeconfig.remove();
    };
    const poll = async () => {
        try {
            const pods = await kubectl(kubeconfig.file, [
                "get",
                "pods",
                "--namespace",
                namespace,
                "--selector",
                `${STACK_LABEL}=${stackLabel}`,
                "--output",
                "json",
            ]);
            for (const line of podProblems(pods, key).filter((l) => !reported.has(l))) {
                reported.add(line);
                if (!done) {
                    pulumi.log.warn(`rollout: ${line}`);
                }
            }
        } catch {
            // A failed poll is no news; the provider reports a cluster it cannot reach.
        }
    };
    const timer = setInterval(poll, POLL_MS);
    timer.unref();
    setTimeout(stop, timeoutMinutes * 60_000).unref();
    pulumi.all(daemonSets.map((d) => (d as pulumi.CustomResource).id)).apply(stop);
}
