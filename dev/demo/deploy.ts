/**
 * dev/demo/run.sh's work: the main job on a local control plane, through the real engine. Boots
 * dev/localcluster/ (if not running), runs `pulumi up --policy-pack policy` of the project's own
 * program on a local stack, and prints the verification table from the stack's output, the
 * endpoints, how to tear down and how to point a stack at a real cluster.
 */
import * as fs from "fs";
import * as path from "path";
import { catalogueEntry, ComponentName } from "../../core/catalogue";
import { commandProvider, LocalCluster, ProgramStack } from "../localcluster/driver";
import { VerificationPlan } from "../../verify/plan";
import { parseNodes } from "../../core/kubectl";
import { isControlPlane } from "../../core/kubernetes";

const STATE = process.env.EKSA_DEMO_DIR ?? "/tmp/eksa-metrics-demo";

async function main(): Promise<number> {
    const cluster = new LocalCluster(process.env.EKSA_LOCALCLUSTER_DIR ?? "/tmp/eksa-metrics-localcluster");
    console.log(`== local control plane (${cluster.dir})`);
    await cluster.up();
    // Prometheus' service account, which the stack binds by default (Prometheus itself is not part of the demo).
    await cluster.createDefaultReaders();

    const command = commandProvider();
    const stack = new ProgramStack("demo", { dir: path.join(STATE, "project") });
    if (!fs.existsSync(stack.configFile)) {
        await stack.init(cluster.kubeconfig());
    }
    console.log(
        command.kind === "real"
            ? `== pulumi up --policy-pack policy (stack "demo", command provider: the real pulumi-command v${command.version})`
            : `== pulumi up --policy-pack policy (stack "demo"; command provider: eksa-metrics' STAND-IN for pulumi-command v${command.version}, ` +
                  `${command.path}: the real plugin is not installed here)`,
    );
    const up = await stack.up();
    process.stdout.write(up.stdout + up.stderr);
    if (up.code !== 0) {
        return up.code;
    }

    console.log("== the verification (pulumi stack output verificationReport)");
    console.log(await stack.output("verificationReport"));

    const plan = (await stack.output("verificationPlan")) as VerificationPlan;
    const nodes = parseNodes(await cluster.mustKubectl(["get", "nodes", "-o", "json"]));
    console.log(`\n== endpoints (TLS server name ${plan.tlsServerName}; CA: pulumi stack output caCertificate)`);
    for (const node of nodes) {
        for (const component of plan.components) {
            if (component.placement === "control-plane" && !isControlPlane(node)) {
                continue;
            }
            const port = catalogueEntry(component.name as ComponentName).port;
            console.log(
                `  ${node.name.padEnd(14)} ${component.name.padEnd(24)} https://${node.internalIP}:${port}/metrics`,
            );
        }
    }
    const env = `PULUMI_BACKEND_URL=${stack.env.PULUMI_BACKEND_URL} PULUMI_CONFIG_PASSPHRASE=${stack.env.PULUMI_CONFIG_PASSPHRASE}`;
    console.log(`
Try one by hand (source dev/toolchain/env.sh first):
  cd ${stack.dir}
  export ${env} KUBECONFIG=${cluster.kubeconfigFile}
  pulumi stack output caCertificate --stack demo > ca.crt
  TOKEN=$(kubectl create token prometheus-server -n observability)
  curl --cacert ca.crt --resolve ${plan.tlsServerName}:10257:127.0.0.2 -H "Authorization: Bearer $TOKEN" https://${plan.tlsServerName}:10257/metrics

Tear down:   (cd ${stack.dir} && ${env} pulumi destroy --yes --stack demo); bash dev/localcluster/down.sh
A real cluster instead: README.md, "Quick start" (pulumi stack init; pulumi config set --secret eksa-metrics:kubeconfig < kubeconfig; pulumi up --policy-pack policy).`);
    return 0;
}

main().then(
    (code) => {
        process.exitCode = code;
    },
    (err: Error) => {
        process.stderr.write(`demo failed: ${err.message}\n`);
        process.exitCode = 1;
    },
);
