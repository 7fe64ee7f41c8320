// Turns the bind-address settings of one resource into violation and "unknown during preview"
// messages. Pure: no Pulumi import.

import { classifyBindAddress } from "./bindAddress";
import { BindAddressSetting, Component, extractBindAddressSettings, UNKNOWN } from "./clusterDefinitions";

/** CIS Kubernetes Benchmark recommendations: "Ensure that the --bind-address argument is set to 127.0.0.1". */
export const CIS_RECOMMENDATION: Readonly<Record<Component, string>> = {
    "kube-controller-manager": "CIS Kubernetes Benchmark 1.3.7",
    "kube-scheduler": "CIS Kubernetes Benchmark 1.4.2",
};

export interface Assessment {
    /** The resource as named in messages, e.g. `kubernetes:core/v1:Pod kube-system/kube-scheduler`. */
    readonly resource: string;
    readonly settings: readonly BindAddressSetting[];
    /** All-interfaces, unparsable and missing bind addresses: one message each. */
    readonly violations: readonly string[];
    /** Relevant values unknown during preview: one message each. */
    readonly unknowns: readonly string[];
}

/**
 * Assesses one resource as Pulumi registers it (type token, Pulumi resource name, input props with
 * UNKNOWN for values unknown during preview). Returns undefined for resource types that cannot
 * set the scheduler / controller-manager bind address.
 */
export function assessResource(type: string, pulumiName: string, props: unknown): Assessment | undefined {
    const settings = extractBindAddressSettings(type, props);
    if (!settings) {
        return undefined;
    }
    const resource = describeResource(type, pulumiName, props);
    const violations: string[] = [];
    const unknowns: string[] = [];
    for (const setting of settings) {
        if (setting.state === "unknown") {
            unknowns.push(unknownMessage(resource, setting));
        } else {
            const message = violationMessage(resource, setting);
            if (message) {
                violations.push(message);
            }
        }
    }
    return { resource, settings, violations, unknowns };
}

/** `<type> <namespace>/<name>`, from metadata where known, else from the Pulumi resource name. */
export function describeResource(type: string, pulumiName: string, props: unknown): string {
    const metadata = isObject(props) && isObject(props.metadata) ? props.metadata : {};
    const name = typeof metadata.name === "string" ? metadata.name : undefined;
    const namespace = typeof metadata.namespace === "string" ? metadata.namespace : undefined;
    if (name === undefined) {
        return `${type} (Pulumi resource "${pulumiName}")`;
    }
    const objectName = namespace ? `${namespace}/${name}` : name;
    return objectName === pulumiName ? `${type} ${objectName}` : `${type} ${objectName} (Pulumi resource "${pulumiName}")`;
}

function remedy(component: Component): string {
    return (
        `Keep ${component} on --bind-address=127.0.0.1 (${CIS_RECOMMENDATION[component]}) and expose its metrics ` +
        `through the eksa-metrics stack (host-network proxy with token authentication) instead.`
    );
}

function violationMessage(resource: string, setting: Exclude<BindAddressSetting, { state: "unknown" }>): string | undefined {
    const { component } = setting;
    if (setting.state === "missing") {
        return (
            `${component} would listen on all interfaces: ${resource} runs ${component} in ${setting.path} ` +
            `(${setting.program}) without --bind-address, which defaults to 0.0.0.0. ` +
            `Add --bind-address=127.0.0.1 to ${setting.path}.command or .args. ${remedy(component)}`
        );
    }
    if (setting.downwardApi) {
        return undefined; // one pod/node address, chosen at run time
    }
    const verdict = classifyBindAddress(setting.value);
    if (verdict.addressClass === "specific") {
        return undefined;
    }
    const field = setting.written !== undefined ? `${JSON.stringify(setting.written)}` : describeValue(setting.value);
    const how = setting.note ? ` (${setting.note})` : "";
    if (verdict.addressClass === "all-interfaces") {
        return (
            `${component} would listen on all interfaces: ${resource} sets ${setting.path} = ${field}${how}; ` +
            `${unspecified(verdict.text, verdict.canonical!, verdict.family)}. ${remedy(component)}`
        );
    }
    const variable = typeof setting.value === "string" && setting.value.includes("$") ? "; it contains a variable this policy cannot resolve" : "";
    return (
        `${component} bind address is not an IP address: ${resource} sets ${setting.path} = ${field}${how}; ` +
        `${describeValue(setting.value)} is ${verdict.reason}${variable}. The component would refuse to start or listen ` +
        `where this policy cannot verify. ${remedy(component)}`
    );
}

function unspecified(text: string, canonical: string, family: 4 | 6 | undefined): string {
    const what = canonical === "::ffff:0.0.0.0" ? "the IPv4-mapped unspecified address" : `the unspecified IPv${family} address`;
    return text === canonical ? `${text} is ${what}` : `${JSON.stringify(text)} is ${what} ${canonical}`;
}

function unknownMessage(resource: string, setting: Extract<BindAddressSetting, { state: "unknown" }>): string {
    const components = setting.components.join(" / ");
    const cis = setting.components.map((c) => CIS_RECOMMENDATION[c].replace("CIS Kubernetes Benchmark ", "")).join(", ");
    const what =
        setting.question === "program"
            ? `whether it runs ${components} (and with which --bind-address)`
            : `the ${components} bind address`;
    return (
        `${resource}: ${setting.path} is unknown during preview, so the policy cannot check ${what}. ` +
        `It will be checked on \`pulumi up\`, when the value is known, before the resource is created ` +
        `(CIS Kubernetes Benchmark ${cis}: keep --bind-address=127.0.0.1).`
    );
}

function describeValue(value: unknown): string {
    if (value === UNKNOWN) {
        return "(unknown)";
    }
    return typeof value === "string" ? JSON.stringify(value) : value === undefined ? "(nothing)" : JSON.stringify(value) ?? String(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null;
}
