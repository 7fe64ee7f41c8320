// The glue between @pulumi/policy and the pure assessments: values unknown during preview, "not
// applicable", and the shape every policy's assessment has.

// UnknownValueError is a runtime export of @pulumi/policy's index; its proxy.d.ts is stripped, so
// TypeScript types it loosely (test/policy/unknownDuringPreview.spec.ts checks it works).
import { ResourceValidationArgs, StackValidationArgs, UnknownValueError } from "@pulumi/policy";
import { UNKNOWN } from "../../core/resources";

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
export type Assess<Config = undefined> = (
    type: string,
    pulumiName: string,
    props: unknown,
    config: Config,
) => Assessment | undefined;

/** Runs an assessment on the resource under validation, or marks the policy not applicable to its type. */
export function assessOrNotApplicable<Config>(
    args: ResourceValidationArgs,
    assess: Assess<Config>,
    config: Config,
    notApplicableReason: string,
): Assessment {
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

/** What a policy file documents next to its policy (the README table is checked against it). */
export interface PolicyDocs {
    /** The benchmark item or other reference the policy implements. */
    readonly reference: string;
    /** The Kubernetes kinds (and fields) the policy looks at. */
    readonly looksAt: readonly string[];
}

/** A team's list of hosts (as written after the port is split off) that a policy lets pass. */
export interface AllowedHostsConfig {
    readonly allowedHosts?: readonly string[];
}

/** configSchema for AllowedHostsConfig. */
export const ALLOWED_HOSTS_SCHEMA = {
    properties: {
        allowedHosts: {
            type: "array" as const,
            items: { type: "string" as const },
            default: [] as string[],
            description:
                "Hosts or address ranges (as written, without port) to let pass, e.g. a firewalled metrics network.",
        },
    },
};

/** Whether a listen host (brackets of IPv6 aside) is one the team allows. */
export function hostAllowed(config: AllowedHostsConfig): (host: string) => boolean {
    const unbracket = (host: string) => host.trim().replace(/^\[(.*)\]$/, "$1");
    const allowed = new Set((config.allowedHosts ?? []).map(unbracket));
    return (host) => allowed.has(unbracket(host));
}

/** A value found at a field (and how it was written there), or a field unknown during preview. */
export type Setting = KnownSetting | { readonly unknown: string };
export interface KnownSetting {
    readonly path: string;
    readonly value: unknown;
    /** The field's whole text when it holds more than the value, e.g. `--metrics-bind-address=:10249`. */
    readonly written?: string;
    /** How the value was obtained, e.g. a `$(VAR)` expansion. */
    readonly note?: string;
}

/** The value as messages quote it: the field's text, and how it was obtained. */
export function quoted(setting: KnownSetting): string {
    return `${JSON.stringify(setting.written ?? setting.value)}${setting.note ? ` (${setting.note})` : ""}`;
}

/** One unknown message per unknown field, and the violations `judge` finds in the known ones. */
export function judgeSettings(
    settings: readonly Setting[],
    unknownOf: (path: string) => string,
    judge: (setting: KnownSetting) => string[],
): Assessment {
    return {
        violations: settings.flatMap((s) => ("unknown" in s ? [] : judge(s))),
        unknowns: settings.flatMap((s) => ("unknown" in s ? [unknownOf(s.unknown)] : [])),
    };
}

/** A resource of the stack, props with UNKNOWN for values unknown during preview. */
export interface StackResource {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    readonly props: unknown;
}

/** The stack's resources as stack policies read them (see materializePreviewProps). */
export function stackResources(args: StackValidationArgs): StackResource[] {
    return args.resources.map((r) => ({
        type: r.type,
        name: r.name,
        urn: r.urn,
        props: materializePreviewProps(r.props),
    }));
}

/** A violation of a stack policy, reported on one resource. */
export interface StackFinding {
    readonly urn: string;
    readonly message: string;
}
