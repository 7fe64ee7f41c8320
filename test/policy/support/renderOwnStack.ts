/**
 * Renders what MetricsStack registers as Kubernetes manifests under Pulumi's mock engine, for the
 * policy pack's check of the project's own objects (ownStack.spec.ts). The real engine runs the
 * same pack over the same objects in the end-to-end `pulumi up --policy-pack policy`.
 *
 * Usage: node -r ts-node/register/transpile-only test/policy/support/renderOwnStack.ts ARGS.json CERT.json
 * Prints {"manifests": [...]} on stdout. Auto-names follow the provider's rule (logical name + suffix).
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { unwrapSecrets as unwrap } from "../../support/mockSecrets";

const [argsFile, certFile] = process.argv.slice(2);
const manifests: any[] = [];

const suffix = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 8);
pulumi.runtime.setMocks(
    {
        newResource(args) {
            const inputs = unwrap(args.inputs);
            if (args.type === "command:local:Command") {
                const stdout = args.name.endsWith("-certificate") ? fs.readFileSync(certFile, "utf8") : "";
                return { id: args.name, state: { ...inputs, stdout, stderr: "" } };
            }
            if (!args.type.startsWith("kubernetes:")) {
                return { id: args.name, state: inputs };
            }
            const manifest = { ...inputs, metadata: { ...inputs.metadata } };
            manifest.metadata.name ??= `${args.name}-${suffix(args.name)}`;
            manifests.push(manifest);
            return { id: manifest.metadata.name, state: manifest };
        },
        call: (args) => args.inputs,
    },
    "eksa-metrics",
    "e2e",
    false,
);

// After setMocks, as the mocks require.
import { MetricsStack } from "../../../components/metricsStack";
import { checkedElsewhere } from "../../../cluster/preflightRun";

const args = JSON.parse(fs.readFileSync(argsFile, "utf8"));
// What is rendered is the point here, not the cluster (there is none): as after the program's preflight.
if (args.kubeconfig !== undefined) {
    checkedElsewhere(args.kubeconfig);
}
new MetricsStack("eksa-metrics", args);
// Print once every registration has reached the mocks: disconnect() waits for the runtime's queue of
// resource operations to drain, those registered in an apply (the verification command) included.
pulumi.runtime.disconnect().then(() => process.stdout.write(JSON.stringify({ manifests })));
