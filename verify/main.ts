/**
 * The verification: run by the stack's command on every `pulumi up` that changes what it verifies,
 * and on demand by `npm run verify`. Input: EKSA_METRICS_VERIFY_PLAN (JSON, see plan.ts) and the
 * cluster's kubeconfig in EKSA_METRICS_KUBECONFIG (its content) or KUBECONFIG (a path).
 * Prints the table; exits non-zero when any check fails.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { listNodes, requestToken } from "./kubectl";
import { planChecks, report, VerificationPlan } from "./plan";
import { probe, writeProbeFiles } from "./probe";
import { runChecks } from "./run";

async function main(): Promise<number> {
    const planJson = process.env.EKSA_METRICS_VERIFY_PLAN;
    if (!planJson) {
        throw new Error("EKSA_METRICS_VERIFY_PLAN is not set");
    }
    const plan = JSON.parse(planJson) as VerificationPlan;
    const started = Date.now();
    const deadline = started + plan.timeoutSeconds * 1000;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eksa-metrics-verify-"));
    try {
        let kubeconfig = process.env.KUBECONFIG ?? path.join(os.homedir(), ".kube", "config");
        if (process.env.EKSA_METRICS_KUBECONFIG) {
            kubeconfig = path.join(dir, "kubeconfig");
            fs.writeFileSync(kubeconfig, process.env.EKSA_METRICS_KUBECONFIG, { mode: 0o600 });
        }
        const [nodes, token] = await Promise.all([listNodes(kubeconfig), requestToken(kubeconfig, plan.serviceAccount)]);
        const files = writeProbeFiles(dir, plan.caCertificate, token);
        const planned = planChecks(plan, nodes);
        const verdicts = await runChecks(planned.checks, (check) => probe(plan, check, files), { concurrency: plan.concurrency, deadline });
        const { text, ok } = report(plan, planned, verdicts);
        process.stdout.write(`${text}\n(${((Date.now() - started) / 1000).toFixed(1)} s, token of ${plan.serviceAccount.namespace}/${plan.serviceAccount.name})\n`);
        return ok ? 0 : 1;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

main().then((code) => process.exit(code), (err: Error) => {
    process.stderr.write(`verification failed: ${err.message}\n`);
    process.exit(2);
});
