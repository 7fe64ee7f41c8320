// Test harness for the CrossGuard policies. @pulumi/policy has no test helper, so — like Pulumi's
// own compliance-policies tests — we build ResourceValidationArgs ourselves and collect reports.
// Props go through @pulumi/policy's own unknownCheckingProxy, exactly as its analyzer server does.

import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
// The pack's own copy of @pulumi/policy (the one policies.ts uses), so UnknownValueError is the same class.
import {
    Policy,
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
    unknownCheckingProxy,
    UnknownValueError,
} from "../../policy/node_modules/@pulumi/policy";

/**
 * The engine's sentinel for a value unknown during preview (plugin.UnknownStringValue), as the
 * analyzer receives it in the resource's properties.
 */
export const UNKNOWN_DURING_PREVIEW = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export const FIXTURES = path.join(__dirname, "fixtures");

/** A resource as Pulumi registers it: type token, resource name, input properties. */
export interface RegisteredResource {
    readonly type: string;
    readonly name: string;
    readonly props: Record<string, unknown>;
}

export interface PolicyRun {
    readonly violations: string[];
    /** Set when the policy called args.notApplicable(reason). */
    readonly notApplicable?: string;
    /** Set when the policy let an UnknownValueError escape (the engine would only note "can't run"). */
    readonly cantRunDuringPreview?: string;
}

class NotApplicable extends Error {
    constructor(readonly reason: string | undefined) {
        super(reason);
    }
}

/** Runs one policy's validateResource on a resource the way @pulumi/policy's analyzer does. */
export async function runPolicy(
    policy: ResourceValidationPolicy,
    resource: RegisteredResource,
    config: object = {},
): Promise<PolicyRun> {
    const props = unknownCheckingProxy(JSON.parse(JSON.stringify(resource.props)));
    const violations: string[] = [];
    const args: ResourceValidationArgs = {
        type: resource.type,
        props,
        urn: `urn:pulumi:test::eksa-metrics::${resource.type}::${resource.name}`,
        name: resource.name,
        opts: {
            protect: false,
            ignoreChanges: [],
            aliases: [],
            customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
            additionalSecretOutputs: [],
        },
        stackTags: new Map(),
        isType: (resourceClass) =>
            (resourceClass as unknown as { __pulumiType?: string }).__pulumiType === resource.type,
        asType: ((resourceClass: unknown) =>
            (resourceClass as { __pulumiType?: string }).__pulumiType === resource.type
                ? props
                : undefined) as ResourceValidationArgs["asType"],
        getConfig: <T extends object>() => config as T,
        notApplicable: (reason?: string): never => {
            throw new NotApplicable(reason);
        },
    };
    const validate = policy.validateResource;
    const validations = Array.isArray(validate) ? validate : validate ? [validate] : [];
    for (const validation of validations) {
        try {
            await validation(args, (message) => violations.push(message));
        } catch (e) {
            if (e instanceof NotApplicable) {
                return { violations, notApplicable: e.reason ?? "" };
            }
            if (e instanceof UnknownValueError) {
                return { violations, cantRunDuringPreview: (e as Error).message };
            }
            throw e;
        }
    }
    return { violations };
}

/** One violation of a stack policy and the resource it names. */
export interface StackViolation {
    readonly message: string;
    /** The Pulumi resource name of the URN the violation was reported on. */
    readonly resource?: string;
}

export const urnOf = (resource: RegisteredResource) =>
    `urn:pulumi:test::eksa-metrics::${resource.type}::${resource.name}`;

/** Runs a stack policy's validateStack on a set of resources the way @pulumi/policy's analyzer does (AnalyzeStack). */
export async function runStackPolicy(
    policy: StackValidationPolicy,
    resources: readonly RegisteredResource[],
    config: object = {},
): Promise<StackViolation[]> {
    const violations: StackViolation[] = [];
    const byUrn = new Map(resources.map((r) => [urnOf(r), r.name]));
    const policyResources = resources.map((resource): PolicyResource => {
        const props = unknownCheckingProxy(JSON.parse(JSON.stringify(resource.props)));
        return {
            type: resource.type,
            props,
            urn: urnOf(resource),
            name: resource.name,
            opts: {
                protect: false,
                ignoreChanges: [],
                aliases: [],
                customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
                additionalSecretOutputs: [],
            },
            dependencies: [],
            propertyDependencies: {},
            isType: () => false,
            asType: (() => undefined) as PolicyResource["asType"],
        };
    });
    await policy.validateStack(
        {
            resources: policyResources,
            getConfig: <T extends object>() => config as T,
            stackTags: new Map(),
            notApplicable: (reason?: string): never => {
                throw new NotApplicable(reason);
            },
        },
        (message, urn) => violations.push({ message, resource: urn === undefined ? undefined : byUrn.get(urn) }),
    );
    return violations;
}

export const isStackPolicy = (policy: Policy): policy is StackValidationPolicy => "validateStack" in policy;

/** Every violation a policy of either kind reports on a set of resources (a program's). */
export async function programViolations(
    policy: Policy,
    resources: readonly RegisteredResource[],
    config: object = {},
): Promise<StackViolation[]> {
    if (isStackPolicy(policy)) {
        return runStackPolicy(policy, resources, config);
    }
    const runs = await Promise.all(
        resources.map(async (r) => ({ r, run: await runPolicy(policy as ResourceValidationPolicy, r, config) })),
    );
    return runs.flatMap(({ r, run }) => run.violations.map((message) => ({ message, resource: r.name })));
}

/** All YAML documents of a fixture file. */
export function fixtureDocuments(file: string): Record<string, unknown>[] {
    return yaml
        .loadAll(fs.readFileSync(path.join(FIXTURES, file), "utf8"))
        .filter((d): d is Record<string, unknown> => !!d);
}

/** One fixture object: the only document of the file, or the one with that metadata.name. */
export function fixture(file: string, name?: string): Record<string, unknown> {
    const documents = fixtureDocuments(file);
    const found =
        name === undefined
            ? documents.length === 1
                ? documents[0]
                : undefined
            : documents.find((d) => metadataOf(d).name === name);
    if (!found) {
        throw new Error(`fixture ${file}: no document ${name ?? "(file has several)"}`);
    }
    return found;
}

function metadataOf(object: Record<string, unknown>): { name?: string; namespace?: string } {
    return (object.metadata ?? {}) as { name?: string; namespace?: string };
}

/**
 * Registers a Kubernetes object the way k8s.yaml.ConfigFile / ConfigGroup do: type token
 * `kubernetes:core/v1:Pod` for built-in kinds (core group spelled "core") and
 * `kubernetes:<apiVersion>:<kind>` for CustomResources; resource name `<namespace>/<name>`;
 * props the object itself (typed classes keep apiVersion, kind, metadata and their spec fields).
 */
export function asConfigFileChild(object: Record<string, unknown>): RegisteredResource {
    const apiVersion = String(object.apiVersion);
    const kind = String(object.kind);
    const type = `kubernetes:${apiVersion.includes("/") ? apiVersion : `core/${apiVersion}`}:${kind}`;
    const { name, namespace } = metadataOf(object);
    const props = { ...object };
    delete props.status; // an output: the SDK registers it as undefined, which the analyzer drops
    return { type, name: namespace ? `${namespace}/${name}` : String(name), props };
}

/** Deep copy with edits: `at` walks the object, `edit` replaces the value found there. */
export function withValue(
    object: Record<string, unknown>,
    at: (string | number)[],
    value: unknown,
): Record<string, unknown> {
    const copy = JSON.parse(JSON.stringify(object));
    let current = copy;
    for (const segment of at.slice(0, -1)) {
        current = current[segment];
    }
    current[at[at.length - 1]] = value;
    return copy;
}

/** Asserts the violations found, in order: each on `resource`, its message holding every part. */
export function assertFindings(found: StackViolation[], expected: [resource: string, ...parts: string[]][]): void {
    assert.strictEqual(found.length, expected.length, found.map((f) => f.message).join("\n"));
    expected.forEach(([resource, ...parts], i) => {
        assert.strictEqual(found[i].resource, resource, found[i].message);
        for (const part of parts) {
            assert.ok(found[i].message.includes(part), `${found[i].message}\nlacks ${part}`);
        }
    });
}
