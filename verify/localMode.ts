/** The local mode, given the nodes, the controllers' pods and the tokens: plan, probe with curl, judge, report. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { planChecks, report, VerificationPlan } from "./plan";
import { probe, writeProbeFiles } from "./probe";
import { runChecks } from "./run";
import { ClusterNode, ControllerPod } from "../core/kubernetes";

export async function verify(
    plan: VerificationPlan,
    nodes: ClusterNode[],
    pods: ControllerPod[],
    tokens: { reader: string; unbound: string },
    deadline: number,
): Promise<{ text: string; ok: boolean }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eksa-metrics-probe-"));
    try {
        const files = writeProbeFiles(dir, plan, tokens);
        const planned = planChecks(plan, nodes, pods);
        const verdicts = await runChecks(planned.checks, (check) => probe(plan, check, files), {
            concurrency: plan.concurrency,
            deadline,
        });
        return report(plan, planned, verdicts);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
