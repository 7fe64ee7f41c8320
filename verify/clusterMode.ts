/**
 * The cluster mode: the checks run from short-lived pods in the cluster, as the reader's (and the
 * unbound account's) own service account; this machine only talks to the API server. Every pod
 * made is deleted, on success, on failure and on SIGTERM/SIGINT (through the caller's hooks); a run
 * first deletes what an earlier, killed run of the same stack left.
 */
import { randomBytes } from "crypto";
import { Answer, Check, planChecks, report, VerificationPlan } from "./plan";
import {
    CONTAINER,
    parsePodLog,
    podManifest,
    podProgress,
    PodRun,
    podRuns,
    VERIFICATION_OF_LABEL,
    VERIFICATION_POD_LABEL,
    VERIFICATION_POD_NAME,
    VERIFICATION_RUN_LABEL,
} from "./clusterPods";
import { kubectl, kubectlSync } from "../core/kubectl";
import { runRounds } from "./run";
import { ClusterNode, ControllerPod } from "../core/kubernetes";

const POLL_MS = 1000;
/** How long a pod may stay unschedulable before the run gives up on it (the scheduler retries meanwhile). */
const UNSCHEDULABLE_GRACE_MS = 15_000;
/** Per batch of checks: curl's --max-time and some. */
const BATCH_SECONDS = 10;
/** Starting the pod: scheduling, the image, the projected token. */
const START_SECONDS = 60;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface ClusterVerification {
    text: string;
    ok: boolean;
    /** "namespace/name (token of namespace/account)" of every pod the run made. */
    pods: string[];
}

interface MadePod {
    namespace: string;
    name: string;
}

function selector(plan: Pick<VerificationPlan, "unboundServiceAccount">): string {
    return `${VERIFICATION_POD_LABEL}=${VERIFICATION_POD_NAME},${VERIFICATION_OF_LABEL}=${plan.unboundServiceAccount.namespace}`;
}

function namespaces(plan: Pick<VerificationPlan, "serviceAccount" | "unboundServiceAccount">): string[] {
    return [...new Set([plan.serviceAccount.namespace, plan.unboundServiceAccount.namespace])];
}

const deleteArgs = (pod: MadePod) => [
    "delete",
    "pod",
    pod.name,
    "--namespace",
    pod.namespace,
    "--ignore-not-found",
    "--wait=false",
];

async function waitForEnd(
    kubeconfig: string,
    pod: MadePod,
    limitSeconds: number,
): Promise<{ phase: string; reason?: string }> {
    const started = Date.now();
    let unschedulableSince: number | undefined;
    for (;;) {
        const progress = podProgress(
            await kubectl(kubeconfig, ["get", "pod", pod.name, "--namespace", pod.namespace, "--output", "json"]),
        );
        if (progress.state === "ended") {
            return progress;
        }
        if (progress.state === "cannot-run") {
            throw new Error(`verification pod ${pod.namespace}/${pod.name} cannot run: ${progress.why}`);
        }
        unschedulableSince = progress.unschedulable ? (unschedulableSince ?? Date.now()) : undefined;
        if (unschedulableSince !== undefined && Date.now() - unschedulableSince >= UNSCHEDULABLE_GRACE_MS) {
            throw new Error(`verification pod ${pod.namespace}/${pod.name} cannot be scheduled: ${progress.why}`);
        }
        if (Date.now() - started >= limitSeconds * 1000) {
            throw new Error(
                `verification pod ${pod.namespace}/${pod.name} did not finish within ${limitSeconds} s: ${progress.why}`,
            );
        }
        await sleep(POLL_MS);
    }
}

/**
 * `onSignal`: the caller's hooks for SIGTERM/SIGINT, run synchronously before it exits; while it
 * runs, the verification keeps one there that deletes this run's pods.
 */
export async function verifyFromCluster(
    plan: VerificationPlan,
    kubeconfig: string,
    nodes: ClusterNode[],
    controllerPods: ControllerPod[],
    deadline: number,
    onSignal: Set<() => void>,
): Promise<ClusterVerification> {
    const runId = randomBytes(4).toString("hex");
    const made: string[] = [];
    // Kills a creation still on its way, then deletes whatever of this run exists.
    const stopping = new AbortController();
    const deleteRun = () => {
        stopping.abort();
        for (const namespace of namespaces(plan)) {
            kubectlSync(
                kubeconfig,
                [
                    "delete",
                    "pods",
                    "--namespace",
                    namespace,
                    "--selector",
                    `${VERIFICATION_RUN_LABEL}=${runId}`,
                    "--ignore-not-found",
                    "--wait=false",
                ],
                10,
            );
        }
    };
    onSignal.add(deleteRun);

    const runPod = async (checks: Check[], run: PodRun, named: (pod: string) => void): Promise<Map<number, Answer>> => {
        const batches = Math.ceil(run.checks.length / Math.max(1, plan.concurrency));
        const activeDeadlineSeconds = START_SECONDS + batches * BATCH_SECONDS;
        const manifest = podManifest({ plan, checks, run, activeDeadlineSeconds, runId });
        const created = await kubectl(
            kubeconfig,
            ["create", "--filename", "-", "--output", "jsonpath={.metadata.name}"],
            { input: JSON.stringify(manifest), signal: stopping.signal },
        );
        const pod = { namespace: run.namespace, name: created.trim() };
        named(`${pod.namespace}/${pod.name} (token of ${run.namespace}/${run.serviceAccount})`);
        try {
            // The pod ends by itself at activeDeadlineSeconds; a little longer for its status to say so.
            const end = await waitForEnd(kubeconfig, pod, activeDeadlineSeconds + 15);
            const missing = `pod ${pod.namespace}/${pod.name} ended (${end.phase}${end.reason ? `: ${end.reason}` : ""}) before answering`;
            const log = await kubectl(kubeconfig, [
                "logs",
                pod.name,
                "--namespace",
                pod.namespace,
                "--container",
                CONTAINER,
            ]).catch((err: Error) => `log unreadable: ${err.message}`);
            return parsePodLog(log, run, missing);
        } finally {
            await kubectl(kubeconfig, deleteArgs(pod));
        }
    };

    const sendRound = async (checks: Check[]): Promise<Answer[]> => {
        const answers = new Map<number, Answer>();
        const runs = podRuns(plan, checks);
        // Named in the runs' order (the reader's first), not in the order the API server answered.
        const names: string[] = new Array(runs.length);
        const results = await Promise.allSettled(
            runs.map((run, k) =>
                runPod(checks, run, (pod) => {
                    names[k] = pod;
                }),
            ),
        );
        made.push(...names.filter((pod) => pod !== undefined));
        for (const result of results) {
            if (result.status === "rejected") {
                throw result.reason;
            }
            for (const [index, answer] of result.value) {
                answers.set(index, answer);
            }
        }
        return checks.map((_, index) => answers.get(index)!);
    };

    try {
        await Promise.all(
            namespaces(plan).map((namespace) =>
                kubectl(kubeconfig, [
                    "delete",
                    "pods",
                    "--namespace",
                    namespace,
                    "--selector",
                    selector(plan),
                    "--ignore-not-found",
                    "--wait=false",
                ]),
            ),
        );
        const planned = planChecks(plan, nodes, controllerPods);
        const verdicts = await runRounds(planned.checks, sendRound, { deadline });
        return { ...report(plan, planned, verdicts), pods: made };
    } finally {
        onSignal.delete(deleteRun);
    }
}
