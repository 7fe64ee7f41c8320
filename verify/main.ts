/**
 * The verification: run by the stack's command on every `pulumi up` that changes what it verifies,
 * and on demand by `npm run verify`. Input: EKSA_METRICS_VERIFY_PLAN (JSON, see plan.ts) and the
 * cluster's kubeconfig in EKSA_METRICS_KUBECONFIG (its content) or KUBECONFIG (a path);
 * EKSA_METRICS_VERIFY_TIMEOUT_SECONDS overrides the plan's deadline (npm run verify --timeout-seconds),
 * EKSA_METRICS_VERIFY_MODE its mode (npm run verify --mode): "cluster", from pods in the cluster with
 * their own tokens, or "local", from this machine with TokenRequest tokens.
 * Prints the table; exits non-zero when any check fails.
 */
import * as os from "os";
import * as path from "path";
import { listControllerPods, listNodes, privateKubeconfigFile, requestToken } from "../core/kubectl";
import { verifyFromCluster } from "./clusterMode";
import { VerificationPlan } from "./plan";
import { verify } from "./localMode";

async function main(): Promise<number> {
    const planJson = process.env.EKSA_METRICS_VERIFY_PLAN;
    if (!planJson) {
        throw new Error("EKSA_METRICS_VERIFY_PLAN is not set");
    }
    const plan = JSON.parse(planJson) as VerificationPlan;
    const timeoutSeconds = Number(process.env.EKSA_METRICS_VERIFY_TIMEOUT_SECONDS ?? plan.timeoutSeconds);
    if (!(timeoutSeconds > 0)) {
        throw new Error(
            `EKSA_METRICS_VERIFY_TIMEOUT_SECONDS: "${process.env.EKSA_METRICS_VERIFY_TIMEOUT_SECONDS}" is not a positive number of seconds`,
        );
    }
    const mode = process.env.EKSA_METRICS_VERIFY_MODE ?? plan.mode;
    if (mode !== "cluster" && mode !== "local") {
        throw new Error(`EKSA_METRICS_VERIFY_MODE: "${mode}" is not "cluster" or "local"`);
    }
    const started = Date.now();
    const written = process.env.EKSA_METRICS_KUBECONFIG
        ? privateKubeconfigFile(process.env.EKSA_METRICS_KUBECONFIG)
        : undefined;
    const kubeconfig = written?.file ?? process.env.KUBECONFIG ?? path.join(os.homedir(), ".kube", "config");
    // Stopped (pulumi cancelled, Ctrl-C): the cluster mode deletes its pods, then the kubeconfig goes.
    const onSignal = new Set<() => void>();
    for (const [signal, code] of [
        ["SIGTERM", 143],
        ["SIGINT", 130],
    ] as const) {
        process.once(signal, () => {
            onSignal.forEach((hook) => hook());
            written?.remove();
            process.exit(code);
        });
    }
    const deadline = started + timeoutSeconds * 1000;
    const seconds = () => ((Date.now() - started) / 1000).toFixed(1);
    try {
        const [nodes, pods] = await Promise.all([
            listNodes(kubeconfig),
            listControllerPods(kubeconfig, plan.controllers),
        ]);
        if (mode === "cluster") {
            const { text, ok, pods: made } = await verifyFromCluster(plan, kubeconfig, nodes, pods, deadline, onSignal);
            process.stdout.write(
                `${text}\n(${seconds()} s, from pods in the cluster (cluster mode): ${made.join(", ") || "none"})\n`,
            );
            return ok ? 0 : 1;
        }
        const [reader, unbound] = await Promise.all([
            requestToken(kubeconfig, plan.serviceAccount),
            requestToken(kubeconfig, plan.unboundServiceAccount),
        ]);
        const { text, ok } = await verify(plan, nodes, pods, { reader, unbound }, deadline);
        process.stdout.write(
            `${text}\n(${seconds()} s, from this machine (local mode), token of ${plan.serviceAccount.namespace}/${plan.serviceAccount.name})\n`,
        );
        return ok ? 0 : 1;
    } finally {
        written?.remove();
    }
}

// exitCode, not exit(): let piped output drain first.
main().then(
    (code) => {
        process.exitCode = code;
    },
    (err: Error) => {
        process.stderr.write(`verification failed: ${err.message}\n`);
        process.exitCode = 2;
    },
);
