// Runs k8s.yaml.ConfigFile / ConfigGroup (v1, expanded in-process by @pulumi/kubernetes) under
// Pulumi mocks and prints, as JSON, every resource they register: type token, name, whether it
// is a custom resource, and its inputs. This is what the engine hands policies (as props).
//
// Usage: node -r ts-node/register registerYaml.ts <ConfigFile file> <ConfigGroup file>...
// Run in its own process: Pulumi's mocks are process-wide, and other specs use their own.

import * as fs from "fs";
import * as yaml from "js-yaml";
import * as pulumi from "@pulumi/pulumi";

interface Registration {
    type: string;
    name: string;
    custom: boolean;
    props: Record<string, unknown>;
}

const registrations: Registration[] = [];

pulumi.runtime.setMocks(
    {
        newResource: (args: pulumi.runtime.MockResourceArgs) => {
            registrations.push({ type: args.type, name: args.name, custom: args.custom ?? false, props: args.inputs });
            return { id: `${args.name}-id`, state: args.inputs };
        },
        // ConfigFile v1 decodes YAML through the provider's kubernetes:yaml:decode function.
        call: (args: pulumi.runtime.MockCallArgs) =>
            args.token === "kubernetes:yaml:decode" ? { result: yaml.loadAll(args.inputs.text) } : args.inputs,
    },
    "eksa-metrics",
    "policy-test",
    true, // preview
);

function settled<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((value) => resolve(value)));
}

async function main(): Promise<void> {
    // Imported after setMocks, as Pulumi's testing guide requires.
    const k8s = await import("@pulumi/kubernetes");
    const [configFilePath, ...configGroupPaths] = process.argv.slice(2);
    const configFile = new k8s.yaml.ConfigFile("manifests", { file: configFilePath });
    const configGroup = new k8s.yaml.ConfigGroup("cluster-definitions", {
        yaml: configGroupPaths.map((p) => fs.readFileSync(p, "utf8")),
    });
    for (const component of [configFile, configGroup]) {
        const children = await settled(component.resources);
        await Promise.all(Object.values(children).map((child) => settled(child.urn)));
    }
    process.stdout.write(JSON.stringify(registrations));
    process.exit(0);
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
