/**
 * demo/run.sh's work. The stack's objects are those MetricsStack registers, applied with kubectl:
 * `pulumi up` itself needs the kubernetes and command provider plugins, which cannot be built on
 * this machine (the Go module proxy refuses their modules). With the plugins installed, the same
 * program deploys with `pulumi up --policy-pack policy` (README, "Quick start").
 */
import { catalogueEntry, ComponentName } from "../components/catalogue";
import { LocalCluster } from "../test/e2e/cluster";
import { isControlPlane, VerificationPlan } from "../verify/plan";
import { parseNodes } from "../verify/kubectl";

async function ensureReader(cluster: LocalCluster): Promise<void> {
    for (const manifest of [
        { apiVersion: "v1", kind: "Namespace", metadata: { name: "observability" } },
        { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "prometheus-server", namespace: "observability" } },
    ]) {
        await cluster.mustKubectl(["apply", "-f", "-"], JSON.stringify(manifest));
    }
}

async function main(): Promise<number> {
    const cluster = new LocalCluster(process.env.EKSA_LOCALCLUSTER_DIR ?? "/tmp/eksa-metrics-localcluster");
    console.log(`== local control plane (${cluster.dir})`);
    await cluster.up();
    await ensureReader(cluster);

    console.log("== deploying the metrics stack's objects (kubectl server-side apply; see demo/deploy.ts for why not pulumi up)");
    const rendered = await cluster.render({});
    await cluster.apply(rendered);

    console.log("== the stack's verification");
    const result = await cluster.verify(rendered);
    process.stdout.write(result.stdout + result.stderr);

    const plan = JSON.parse(rendered.verification.environment.EKSA_METRICS_VERIFY_PLAN) as VerificationPlan;
    const nodes = parseNodes(await cluster.mustKubectl(["get", "nodes", "-o", "json"]));
    const tlsSecret = rendered.manifests.find((m) => m.kind === "Secret").metadata.name;
    console.log(`\n== endpoints (TLS server name ${plan.tlsServerName}, CA in secret eksa-metrics/${tlsSecret})`);
    for (const node of nodes) {
        for (const component of plan.components) {
            if (component.placement === "control-plane" && !isControlPlane(node)) {
                continue;
            }
            const port = catalogueEntry(component.name as ComponentName).port;
            console.log(`  ${node.name.padEnd(14)} ${component.name.padEnd(24)} https://${node.internalIP}:${port}/metrics`);
        }
    }
    console.log(`
Try one by hand:
  export KUBECONFIG=${cluster.kubeconfigFile}
  kubectl get secret -n eksa-metrics ${tlsSecret} -o jsonpath='{.data.ca\\.crt}' | base64 -d > ca.crt
  TOKEN=$(kubectl create token prometheus-server -n observability)
  curl --cacert ca.crt --resolve ${plan.tlsServerName}:10257:127.0.0.2 -H "Authorization: Bearer $TOKEN" https://${plan.tlsServerName}:10257/metrics

Tear down:   bash localcluster/down.sh
A real cluster instead: see README.md, "Quick start" (pulumi config set --secret eksa-metrics:kubeconfig < kubeconfig; pulumi up --policy-pack policy).`);
    return result.code;
}

main().then((code) => { process.exitCode = code; }, (err: Error) => {
    process.stderr.write(`demo failed: ${err.message}\n`);
    process.exitCode = 1;
});
