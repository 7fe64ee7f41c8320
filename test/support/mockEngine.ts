/**
 * Runs one of the component's steps (components/namespace.ts, rbac.ts, ...) under Pulumi's mock engine and
 * returns what it registered, read through a transformation on a parent component: its children's type,
 * name, inputs (resolved) and options. Pulumi's mocks are process-wide and test/components/metricsStack.spec.ts
 * installs its own, so this installs mocks only when none are, and reads nothing from them but the
 * certificate command's output, which both give in the same shape.
 */
import * as pulumi from "@pulumi/pulumi";
import { FAKE_CERTIFICATE } from "./fakeCertificate";

if (!pulumi.runtime.hasMonitor()) {
    pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs) {
                const state = { ...args.inputs };
                if (args.type === "command:local:Command") {
                    state.stdout = args.name.endsWith("-certificate") ? JSON.stringify(FAKE_CERTIFICATE) : "verified";
                    state.stderr = "";
                }
                if (args.type.startsWith("kubernetes:")) {
                    state.metadata = {
                        ...args.inputs.metadata,
                        name: args.inputs.metadata?.name ?? `${args.name}-abc123`,
                    };
                }
                return { id: `${args.name}-id`, state };
            },
            call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
        },
        "eksa-metrics",
        "test",
        false,
    );
}

export interface Child {
    type: string;
    name: string;
    /** The inputs as the step passed them, every Output resolved (secrets unwrapped). */
    props: any;
    /** Which inputs were secret Outputs, by top-level key and one level down ("environment.X"). */
    secretKeys: string[];
    opts: pulumi.CustomResourceOptions;
    resource: pulumi.Resource;
}

/** The value of an Output (for the specs). */
export function valueOf<T>(o: pulumi.Input<T>): Promise<T> {
    return new Promise((resolve) =>
        pulumi.output(o).apply((v) => {
            resolve(v as T);
            return v;
        }),
    );
}

async function secretKeysOf(props: Record<string, unknown>): Promise<string[]> {
    const keys: string[] = [];
    for (const [key, value] of Object.entries(props ?? {})) {
        if (pulumi.Output.isInstance(value) && (await pulumi.isSecret(value))) {
            keys.push(key);
        } else if (typeof value === "object" && value !== null && !pulumi.Output.isInstance(value)) {
            for (const [inner, v] of Object.entries(value)) {
                if (pulumi.Output.isInstance(v) && (await pulumi.isSecret(v))) {
                    keys.push(`${key}.${inner}`);
                }
            }
        }
    }
    return keys;
}

class Parent extends pulumi.ComponentResource {
    constructor(name: string, opts: pulumi.ComponentResourceOptions) {
        super("eksa-metrics:test:Parent", name, {}, opts);
    }
}

/**
 * Calls `step` with `{ parent }` options and returns its result and every child it registered, once the
 * engine has registered them all (each child's URN is known).
 */
export async function registerUnder<T>(
    step: (opts: pulumi.CustomResourceOptions) => T,
): Promise<{ result: T; children: Child[] }> {
    const transformed: { args: pulumi.ResourceTransformationArgs }[] = [];
    const parent = new Parent("step", {
        transformations: [
            (args) => {
                if (args.type !== "eksa-metrics:test:Parent") {
                    transformed.push({ args });
                }
                return undefined;
            },
        ],
    });
    const result = step({ parent });
    const children: Child[] = [];
    for (const { args } of transformed) {
        await valueOf(args.resource.urn);
        children.push({
            type: args.type,
            name: args.name,
            props: await valueOf(args.props as pulumi.Input<any>),
            secretKeys: await secretKeysOf(args.props),
            opts: args.opts,
            resource: args.resource,
        });
    }
    return { result, children };
}

/** The one child of that type (and name), or a failed assertion naming those there are. */
export function only(children: Child[], type: string, name?: string): Child {
    const found = children.filter((c) => c.type === type && (name === undefined || c.name === name));
    if (found.length !== 1) {
        throw new Error(
            `expected one ${type} ${name ?? ""}, got ${children.map((c) => `${c.type} ${c.name}`).join(", ")}`,
        );
    }
    return found[0];
}
