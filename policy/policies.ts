// The CrossGuard policies. index.ts only puts them into the PolicyPack (which starts a server),
// so tests import this module instead.

// UnknownValueError is a runtime export of @pulumi/policy's index; its proxy.d.ts is stripped, so
// TypeScript types it loosely (test/policy/unknownDuringPreview.spec.ts checks it works).
import { EnforcementLevel, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, UnknownValueError } from "@pulumi/policy";
import { COVERED_RESOURCES, UNKNOWN } from "./clusterDefinitions";
import { Assessment, assessResource } from "./findings";

export const NOT_ON_ALL_INTERFACES = "control-plane-metrics-not-on-all-interfaces";
export const UNKNOWN_DURING_PREVIEW = "control-plane-metrics-bind-address-unknown-during-preview";

/** The pack's default; each policy can be set otherwise with `--policy-pack-config`. */
export const PACK_ENFORCEMENT_LEVEL: EnforcementLevel = "mandatory";

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

/** Assesses the resource under validation, or marks the policy not applicable to its type. */
function assess(args: ResourceValidationArgs): Assessment {
    const assessment = assessResource(args.type, args.name, materializePreviewProps(args.props));
    if (!assessment) {
        args.notApplicable(`only ${COVERED_RESOURCES} can set the kube-scheduler / kube-controller-manager bind address`);
    }
    return assessment!;
}

export const controlPlaneMetricsNotOnAllInterfaces: ResourceValidationPolicy = {
    name: NOT_ON_ALL_INTERFACES,
    displayName: "kube-scheduler and kube-controller-manager stay off all interfaces",
    description:
        "kube-scheduler and kube-controller-manager must not bind all interfaces (0.0.0.0, :: and other " +
        "notations of the unspecified address), must not run without --bind-address (it defaults to 0.0.0.0), " +
        "and must be given an IP address (CIS Kubernetes Benchmark 1.3.7 / 1.4.2). Checked in EKS Anywhere " +
        "Clusters, Cluster API kubeadm resources, kubeadm ClusterConfigurations in ConfigMaps, and Pods and " +
        "workloads that run the components. Their metrics are exposed by the eksa-metrics stack instead.",
    severity: "high",
    remediationSteps:
        "Remove the bind-address override or set it to 127.0.0.1, add --bind-address=127.0.0.1 to command " +
        "lines that run the components, and scrape their metrics through the eksa-metrics proxy DaemonSet.",
    // No enforcementLevel here: the pack's default (mandatory) applies unless configured otherwise.
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        for (const message of assess(args).violations) {
            reportViolation(message);
        }
    },
};

export const controlPlaneBindAddressUnknownDuringPreview: ResourceValidationPolicy = {
    name: UNKNOWN_DURING_PREVIEW,
    displayName: "kube-scheduler / kube-controller-manager bind address unknown during preview",
    description:
        `Names the fields that ${NOT_ON_ALL_INTERFACES} cannot check during preview because their values ` +
        "depend on other resources; they are checked on `pulumi up` once known. Advisory by default, so " +
        "that the preview of `pulumi up` is not blocked by values that will be checked anyway.",
    severity: "medium",
    enforcementLevel: "advisory",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        for (const message of assess(args).unknowns) {
            reportViolation(message);
        }
    },
};

export const policies: ResourceValidationPolicy[] = [controlPlaneMetricsNotOnAllInterfaces, controlPlaneBindAddressUnknownDuringPreview];
