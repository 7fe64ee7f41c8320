/**
 * What the end-to-end suites expect the verification to report: as many checks as the stack's own plan
 * (its verificationPlan output) makes of the cluster's nodes and controller pods, rather than a count
 * written by hand that every new component or node would have to update.
 */
import { strict as assert } from "assert";
import { listControllerPods, listNodes } from "../../core/kubectl";
import { LocalCluster, ProgramStack } from "../../dev/localcluster/driver";
import { planChecks, VerificationPlan } from "../../verify/plan";

/** The number of checks the verification of `stack` makes on `cluster` as it stands. */
export async function plannedCheckCount(stack: ProgramStack, cluster: LocalCluster): Promise<number> {
    const plan: VerificationPlan = await stack.output("verificationPlan");
    const nodes = await listNodes(cluster.kubeconfigFile);
    const pods = await listControllerPods(cluster.kubeconfigFile, plan.controllers);
    const count = planChecks(plan, nodes, pods).checks.length;
    assert.ok(count > 0, "the plan checks something");
    return count;
}

/** The verification's closing line for `count` checks ("verified: N checks passed"); `wholeLine`: alone on its line. */
export function verifiedPattern(count: number, wholeLine = false): RegExp {
    const line = `verified: ${count} checks passed`;
    return wholeLine ? new RegExp(`^${line}$`, "m") : new RegExp(line);
}
