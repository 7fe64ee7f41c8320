/**
 * The cluster mode's pure parts: the short-lived pods that run the checks from inside the cluster,
 * the shell script they run, and reading their logs back into answers. A pod presents its own
 * service account's projected token, so no token is ever minted for, or seen by, this machine.
 */
import { Answer, Check, Credential, VerificationPlan } from "./plan";
import { curlAnswer, curlArguments, ProbeFiles } from "./probe";
import { CONTROL_PLANE_LABELS } from "../core/kubernetes";
import { imagePullHint, PULL_FAILURES } from "../cluster/rolloutWatch";
import { CONFIG_NAMESPACE } from "../config/stackConfig";

export const VERIFICATION_POD_LABEL = "app.kubernetes.io/name";
export const VERIFICATION_POD_NAME = "eksa-metrics-verification";
/** The stack's namespace: a run deletes the pods an earlier, killed run of the same stack left. */
export const VERIFICATION_OF_LABEL = "eksa-metrics/verification-of";
/** One run's pods: a stopped run deletes them by it, including one whose creation was still on its way. */
export const VERIFICATION_RUN_LABEL = "eksa-metrics/verification-run";
export const CONTAINER = "curl";
/** The line that starts each check's result in the pod's log. */
export const RESULT_MARKER = "EKSA-METRICS-CHECK";
/** Enough of a /metrics body to judge it; keeps a pod's log (a line per check) under the kubelet's 10 MiB rotation for a few hundred nodes. */
export const BODY_LIMIT = 16 * 1024;
const STDERR_LIMIT = 2048;
const TOKEN_DIR = "/var/run/secrets/eksa-metrics";
/** The kubelet's minimum for a projected token. */
const TOKEN_SECONDS = 600;

/** One pod: a service account and the checks that present its token, or none. */
export interface PodRun {
    namespace: string;
    serviceAccount: string;
    credential: Exclude<Credential, "none">;
    /** Indices into the round's checks. */
    checks: number[];
}

/** The reader's pod takes the reader and no-token checks, the unbound account's pod the rest; a pod with no check is not made. */
export function podRuns(
    plan: Pick<VerificationPlan, "serviceAccount" | "unboundServiceAccount">,
    checks: Check[],
): PodRun[] {
    const indices = (wanted: Credential[]) => checks.flatMap((c, i) => (wanted.includes(c.credential) ? [i] : []));
    const runs: PodRun[] = [
        {
            namespace: plan.serviceAccount.namespace,
            serviceAccount: plan.serviceAccount.name,
            credential: "reader",
            checks: indices(["reader", "none"]),
        },
        {
            namespace: plan.unboundServiceAccount.namespace,
            serviceAccount: plan.unboundServiceAccount.name,
            credential: "unbound",
            checks: indices(["unbound"]),
        },
    ];
    return runs.filter((r) => r.checks.length > 0);
}

/** Where the script keeps its files: the pod's /tmp (an emptyDir), or a test's directory. */
export function podFiles(
    dir: string,
    plan: Pick<VerificationPlan, "controllerTls">,
    credential: PodRun["credential"],
): ProbeFiles {
    return {
        dir,
        caFile: `${dir}/ca.crt`,
        controllersCaFile: plan.controllerTls.caCertificate ? `${dir}/controllers-ca.crt` : undefined,
        authHeaderFiles: { [credential]: `${dir}/authorization` },
    };
}

const quote = (word: string) => `'${word.replaceAll("'", "'\\''")}'`;

/**
 * The script for `sh -c`: POSIX sh and the tools both busybox (the curl image) and coreutils
 * have. The CAs come in as environment values (they are public); the token file is read by the
 * shell into a 0600 header file, so it is on no command line and never printed. One result line
 * per check, in order: marker, index, curl's exit status, HTTP status, body size, then base64 of
 * the header dump, of the body's first BODY_LIMIT bytes and of curl's stderr ("-" when empty).
 */
export function podScript(
    plan: Pick<VerificationPlan, "tlsServerName" | "controllerTls" | "concurrency">,
    checks: Check[],
    run: PodRun,
    dir: string,
    tokenFile: string,
): string {
    const files = podFiles(dir, plan, run.credential);
    const lines = [
        "umask 077",
        `printf '%s\\n' "$EKSA_METRICS_CA" > ${quote(files.caFile)}`,
        ...(files.controllersCaFile
            ? [`printf '%s\\n' "$EKSA_METRICS_CONTROLLERS_CA" > ${quote(files.controllersCaFile)}`]
            : []),
        `{ printf 'Authorization: Bearer '; tr -d '\\r\\n' < ${quote(tokenFile)}; printf '\\n'; } > ${quote(files.authHeaderFiles[run.credential]!)}`,
        `b64() { if [ -s "$1" ]; then head -c "$2" "$1" | base64 | tr -d '\\n'; else printf '%s' -; fi; }`,
        "check() {",
        `  i=$1; shift; out=${quote(dir)}/$i`,
        `  curl "$@" > "$out.o" 2> "$out.e"; rc=$?`,
        `  code=$(tail -n 1 "$out.o"); size=$(($(wc -c < "$out.o")))`,
        `  printf '${RESULT_MARKER} %s %s %s %s %s %s %s\\n' "$i" "$rc" "\${code:--}" "$size" "$(b64 "$out.h" ${BODY_LIMIT})" "$(b64 "$out.o" ${BODY_LIMIT})" "$(b64 "$out.e" ${STDERR_LIMIT})" > "$out.line"`,
        "}",
    ];
    // Batches of `concurrency` checks in parallel; each batch's lines printed whole, in order.
    const batch = Math.max(1, plan.concurrency);
    for (let start = 0; start < run.checks.length; start += batch) {
        const group = run.checks.slice(start, start + batch);
        for (const index of group) {
            const args = curlArguments(plan, checks[index], files, `${dir}/${index}.h`);
            lines.push(`check ${index} ${args.map(quote).join(" ")} &`);
        }
        lines.push("wait", `cat ${group.map((index) => quote(`${dir}/${index}.line`)).join(" ")}`);
    }
    return lines.join("\n") + "\n";
}

export interface PodManifestInput {
    plan: Pick<
        VerificationPlan,
        | "image"
        | "imagePullSecrets"
        | "caCertificate"
        | "controllerTls"
        | "tlsServerName"
        | "concurrency"
        | "tolerations"
        | "unboundServiceAccount"
    >;
    checks: Check[];
    run: PodRun;
    /** The pod ends (Failed, DeadlineExceeded) after this long, even if nobody is left to delete it. */
    activeDeadlineSeconds: number;
    runId: string;
}

/** A pod that Pod Security `restricted` admits, that runs on control-plane nodes too (single-node clusters) and mounts only its own token. */
export function podManifest({
    plan,
    checks,
    run,
    activeDeadlineSeconds,
    runId,
}: PodManifestInput): Record<string, unknown> {
    const tokenFile = `${TOKEN_DIR}/token`;
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
            generateName: run.credential === "reader" ? "eksa-metrics-verify-" : "eksa-metrics-verify-unbound-",
            namespace: run.namespace,
            labels: {
                [VERIFICATION_POD_LABEL]: VERIFICATION_POD_NAME,
                "app.kubernetes.io/managed-by": "eksa-metrics",
                [VERIFICATION_OF_LABEL]: plan.unboundServiceAccount.namespace,
                [VERIFICATION_RUN_LABEL]: runId,
            },
        },
        spec: {
            serviceAccountName: run.serviceAccount,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            ...(plan.imagePullSecrets?.length
                ? { imagePullSecrets: plan.imagePullSecrets.map((name) => ({ name })) }
                : {}),
            restartPolicy: "Never",
            activeDeadlineSeconds,
            terminationGracePeriodSeconds: 1,
            tolerations: [
                ...CONTROL_PLANE_LABELS.map((key) => ({ key, operator: "Exists", effect: "NoSchedule" })),
                ...plan.tolerations,
            ],
            securityContext: {
                runAsNonRoot: true,
                runAsUser: 65534,
                runAsGroup: 65534,
                fsGroup: 65534,
                seccompProfile: { type: "RuntimeDefault" },
            },
            containers: [
                {
                    name: CONTAINER,
                    image: plan.image,
                    command: ["/bin/sh", "-c", podScript(plan, checks, run, "/tmp", tokenFile)],
                    env: [
                        { name: "EKSA_METRICS_CA", value: plan.caCertificate },
                        ...(plan.controllerTls.caCertificate
                            ? [{ name: "EKSA_METRICS_CONTROLLERS_CA", value: plan.controllerTls.caCertificate }]
                            : []),
                    ],
                    resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
                    securityContext: {
                        allowPrivilegeEscalation: false,
                        readOnlyRootFilesystem: true,
                        capabilities: { drop: ["ALL"] },
                    },
                    volumeMounts: [
                        { name: "tmp", mountPath: "/tmp" },
                        { name: "token", mountPath: TOKEN_DIR, readOnly: true },
                    ],
                },
            ],
            volumes: [
                { name: "tmp", emptyDir: {} },
                {
                    name: "token",
                    projected: {
                        sources: [{ serviceAccountToken: { path: "token", expirationSeconds: TOKEN_SECONDS } }],
                    },
                },
            ],
        },
    };
}

const decode = (field: string | undefined) =>
    field === undefined || field === "-" ? "" : Buffer.from(field, "base64").toString("utf8");

/**
 * The answers of one pod's checks from its log; a check with no result line (the pod ended or was
 * cut short before it) gets an error answer naming `missing`.
 */
export function parsePodLog(log: string, run: PodRun, missing: string): Map<number, Answer> {
    const answers = new Map<number, Answer>();
    for (const line of log.split("\n")) {
        const fields = line.trim().split(" ");
        if (fields[0] !== RESULT_MARKER || fields.length !== 8) {
            continue;
        }
        const [, index, exit, code, size, headers, body, stderr] = fields;
        let stdout = decode(body);
        if (Number(size) > BODY_LIMIT) {
            // Cut at BODY_LIMIT: keep whole lines, then the status curl wrote after the body.
            stdout = `${stdout.slice(0, Math.max(stdout.lastIndexOf("\n"), 0))}\n${code}`;
        }
        answers.set(
            Number(index),
            curlAnswer(exit !== "0", stdout, decode(stderr), decode(headers), `curl exited with status ${exit}`),
        );
    }
    for (const index of run.checks) {
        if (!answers.has(index)) {
            answers.set(index, { status: 0, headers: {}, body: "", error: missing });
        }
    }
    return answers;
}

interface PodStatusJson {
    spec?: { containers?: { image?: string }[] };
    status?: {
        phase?: string;
        reason?: string;
        message?: string;
        conditions?: { type: string; status: string; reason?: string; message?: string }[];
        containerStatuses?: { state?: { waiting?: { reason?: string; message?: string } } }[];
    };
}

/** Waiting reasons after which the container will not start by itself. */
const CANNOT_START = [
    "ErrImagePull",
    "ImagePullBackOff",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

export type PodProgress =
    | { state: "ended"; phase: string; reason?: string }
    | { state: "waiting"; why: string; unschedulable: boolean }
    | { state: "cannot-run"; why: string };

/** Where a verification pod is, from `kubectl get pod -o json`. */
export function podProgress(json: string): PodProgress {
    const pod = JSON.parse(json) as PodStatusJson;
    const status = pod.status ?? {};
    const phase = status.phase ?? "Pending";
    if (phase === "Succeeded" || phase === "Failed") {
        return {
            state: "ended",
            phase,
            reason: [status.reason, status.message].filter(Boolean).join(": ") || undefined,
        };
    }
    const waiting = status.containerStatuses?.[0]?.state?.waiting;
    if (waiting?.reason && CANNOT_START.includes(waiting.reason)) {
        const image = pod.spec?.containers?.[0]?.image;
        const hint =
            PULL_FAILURES.includes(waiting.reason) && image
                ? `; ${imagePullHint(image, (k) => `${CONFIG_NAMESPACE}:${k}`)}`
                : "";
        return { state: "cannot-run", why: [waiting.reason, waiting.message].filter(Boolean).join(": ") + hint };
    }
    const scheduled = status.conditions?.find((c) => c.type === "PodScheduled");
    if (scheduled?.status === "False") {
        return {
            state: "waiting",
            why: [scheduled.reason, scheduled.message].filter(Boolean).join(": ") || "not scheduled",
            unschedulable: scheduled.reason === "Unschedulable",
        };
    }
    return { state: "waiting", why: waiting?.reason ?? phase, unschedulable: false };
}
