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
import { kubectl, kubectlSync, kubectlWatch } from "../core/kubectl";
import { runRounds } from "./run";
import { ClusterNode, ControllerPod } from "../core/kubernetes";

/** How often the wait holds its limits against the pod's last state (no request: the watch brings the states). */
const CHECK_MS = 1000;
/** How long a pod may stay unschedulable before the run gives up on it (the scheduler retries meanwhile). */
const UNSCHEDULABLE_GRACE_MS = 15_000;
/** How long one watch of a verification pod is trusted before a fresh one replaces it. */
const RESYNC_MS = 5000;
/** Per batch of checks: curl's --max-time and some. */
const BATCH_SECONDS = 10;
/** Starting the pod: scheduling, the image, the projected token. */
const START_SECONDS = 60;

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

/**
 * Waits for the pod to end, from a `kubectl get --watch` (each change of the pod as it happens)
 * rather than a `kubectl get` every second. A timer (no process) holds the limits against the last
 * state seen: unschedulable for UNSCHEDULABLE_GRACE_MS, or not ended within `limitSeconds`. A watch
 * can miss a change: on a loaded machine, a pod's Succeeded status, written 0.5 s after it started,
 * never reached a watch begun before it in 85 s. So a watch is replaced by a fresh one, which begins
 * with the pod's current state, every RESYNC_MS, and one that ends early without an error (the API
 * server closed it) after CHECK_MS. `signal` (the run stopped) ends the watch, so no kubectl outlives the
 * verification.
 */
export function waitForEnd(
    kubeconfig: string,
    pod: MadePod,
    limitSeconds: number,
    signal: AbortSignal,
): Promise<{ phase: string; reason?: string }> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
        let unschedulableSince: number | undefined;
        let why = "not seen yet";
        let settled = false;
        let watch: ReturnType<typeof kubectlWatch> | undefined;
        let watchStarted = 0;
        // Only the current watch's end matters: a replaced one was stopped on purpose.
        let generation = 0;
        const settle = (outcome: () => void) => {
            if (!settled) {
                settled = true;
                clearInterval(timer);
                watch?.stop();
                outcome();
            }
        };
        const onState = (json: string) => {
            const progress = podProgress(json);
            if (progress.state === "ended") {
                settle(() => resolve(progress));
            } else if (progress.state === "cannot-run") {
                settle(() =>
                    reject(new Error(`verification pod ${pod.namespace}/${pod.name} cannot run: ${progress.why}`)),
                );
            } else {
                why = progress.why;
                unschedulableSince = progress.unschedulable ? (unschedulableSince ?? Date.now()) : undefined;
            }
        };
        const check = () => {
            if (unschedulableSince !== undefined && Date.now() - unschedulableSince >= UNSCHEDULABLE_GRACE_MS) {
                settle(() =>
                    reject(new Error(`verification pod ${pod.namespace}/${pod.name} cannot be scheduled: ${why}`)),
                );
            } else if (Date.now() - started >= limitSeconds * 1000) {
                settle(() =>
                    reject(
                        new Error(
                            `verification pod ${pod.namespace}/${pod.name} did not finish within ${limitSeconds} s: ${why}`,
                        ),
                    ),
                );
            } else if (Date.now() - watchStarted >= RESYNC_MS) {
                const stale = watch;
                startWatch();
                stale?.stop();
            }
        };
        const timer = setInterval(check, CHECK_MS);
        signal.addEventListener("abort", () =>
            settle(() => reject(new Error(`verification stopped while pod ${pod.namespace}/${pod.name} ran`))),
        );
        const startWatch = () => {
            const mine = ++generation;
            const current = () => !settled && mine === generation;
            watchStarted = Date.now();
            // Its own request timeout a little past the limit: the timer, not kubectl, says when time is up.
            const remaining = Math.max(1, Math.ceil(limitSeconds - (Date.now() - started) / 1000) + 5);
            watch = kubectlWatch(
                kubeconfig,
                ["get", "pod", pod.name, "--namespace", pod.namespace],
                remaining,
                (json) => current() && onState(json),
            );
            watch.ended.then(
                () => {
                    if (current()) {
                        setTimeout(() => current() && startWatch(), CHECK_MS);
                    }
                },
                (err: Error) => current() && settle(() => reject(err)),
            );
        };
        if (signal.aborted) {
            settle(() => reject(new Error(`verification stopped before pod ${pod.namespace}/${pod.name} ran`)));
        } else {
            startWatch();
        }
    });
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
            const end = await waitForEnd(kubeconfig, pod, activeDeadlineSeconds + 15, stopping.signal);
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
