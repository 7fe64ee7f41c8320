/**
 * Renders what MetricsStack registers as Kubernetes manifests, for the end-to-end tests to apply
 * with kubectl: the kubernetes and command provider plugins cannot be built on this machine (the
 * Go module proxy refuses their modules), so the Pulumi engine runs with mocks and everything
 * below it — API server, controllers, proxy processes, verification — is real.
 *
 * Usage: node -r ts-node/register/transpile-only test/e2e/renderStack.ts ARGS.json CERT.json
 * Prints {"manifests": [...], "verification": {"create", "environment"}} on stdout: the objects the
 * kubernetes provider would apply, and the command and environment @pulumi/command would run.
 * Auto-names follow the provider's rule (logical name + suffix); immutable objects get a suffix
 * from their content, so a changed ConfigMap or Secret gets a new name, as a replacement would.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { unwrapSecrets as unwrap } from "../support/mockSecrets";

const [argsFile, certFile] = process.argv.slice(2);
const manifests: any[] = [];
let verification: { create: string; environment: Record<string, string> } | undefined;

const suffix = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 8);
pulumi.runtime.setMocks({
    newResource(args) {
        const inputs = unwrap(args.inputs);
        if (args.type === "command:local:Command") {
            if (args.name.endsWith("-certificate")) {
                return { id: args.name, state: { ...inputs, stdout: fs.readFileSync(certFile, "utf8"), stderr: "" } };
            }
            verification = { create: inputs.create, environment: inputs.environment };
            return { id: args.name, state: { ...inputs, stdout: "", stderr: "" } };
        }
        if (!args.type.startsWith("kubernetes:")) {
            return { id: args.name, state: inputs };
        }
        const manifest = { ...inputs, metadata: { ...inputs.metadata } };
        if (!manifest.metadata.name) {
            manifest.metadata.name = `${args.name}-${suffix(manifest.immutable ? JSON.stringify(inputs) : args.name)}`;
        }
        manifests.push(manifest);
        return { id: manifest.metadata.name, state: manifest };
    },
    call: (args) => args.inputs,
}, "eksa-metrics", "e2e", false);

// After setMocks, as the mocks require.
import { MetricsStack } from "../../components/metricsStack";

const stack = new MetricsStack("eksa-metrics", JSON.parse(fs.readFileSync(argsFile, "utf8")));
stack.verificationPlan.apply(() => {
    // Let the last registrations (the verification command) land first.
    setTimeout(() => {
        if (verification === undefined && stack.verificationReport !== undefined) {
            throw new Error("the verification command was not registered");
        }
        process.stdout.write(JSON.stringify({ manifests, verification }));
    }, 500);
});
