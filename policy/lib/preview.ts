// The glue between @pulumi/policy and the pure assessments: values unknown during preview, "not
// applicable", and the shape every policy's assessment has.

// UnknownValueError is a runtime export of @pulumi/policy's index; its proxy.d.ts is stripped, so
// TypeScript types it loosely (test/policy/unknownDuringPreview.spec.ts checks it works).
import { ResourceValidationArgs, UnknownValueError } from "@pulumi/policy";
import { UNKNOWN } from "./resources";

/** What a policy found on one resource: violations, and relevant fields unknown during preview. */
export interface Assessment {
    readonly violations: readonly string[];
    readonly unknowns: readonly string[];
}

/**
 * Copies a resource's props into plain data, replacing every value that is unknown during preview
 * with UNKNOWN. @pulumi/policy hands policies a proxy that throws UnknownValueError when such a
 * value is read (the engine then only notes "can't run policy during preview"); reading through
 * this copy lets the policies check everything that is known and name what is not.
 */
export function materializePreviewProps(props: unknown): unknown {
    if (Array.isArray(props)) {
        return Array.from({ length: props.length }, (_, i) => readField(props, i));
    }
    if (!isPlainData(props)) {
        return props;
    }
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(props)) {
        copy[key] = readField(props, key);
    }
    return copy;
}

function readField(container: unknown, key: string | number): unknown {
    try {
        return materializePreviewProps((container as Record<string | number, unknown>)[key]);
    } catch (e) {
        if (e instanceof UnknownValueError) {
            return UNKNOWN;
        }
        throw e;
    }
}

function isPlainData(value: unknown): value is Record<string, unknown> {
    if (typeof value !== "object" || value === null) {
        return false;
    }
    const prototype = Object.getPrototypeOf(value);
    return prototype === Object.prototype || prototype === null;
}

/** A pure assessment of one resource: undefined when the resource type is not one it looks at. */
export type Assess<Config = undefined> = (type: string, pulumiName: string, props: unknown, config: Config) => Assessment | undefined;

/** Runs an assessment on the resource under validation, or marks the policy not applicable to its type. */
export function assessOrNotApplicable<Config>(args: ResourceValidationArgs, assess: Assess<Config>, config: Config, notApplicableReason: string): Assessment {
    const assessment = assess(args.type, args.name, materializePreviewProps(args.props), config);
    if (!assessment) {
        args.notApplicable(notApplicableReason);
    }
    return assessment!;
}

/** The message for a field unknown during preview, as every policy words it. */
export function unknownMessage(resource: string, path: string, what: string, rule: string): string {
    return (
        `${resource}: ${path} is unknown during preview, so the policy cannot check ${what}. ` +
        `It will be checked on \`pulumi up\`, when the value is known, before the resource is created (${rule}).`
    );
}
