// A Cluster API ClusterClass writes kube-scheduler's and kube-controller-manager's bind address into its
// control plane template through patches, from literal values or from variables that each Cluster of the
// class sets (or their defaults). Judged across the program: the class with its defaults, and every
// Cluster of the program that uses it with the values it gives (CIS Kubernetes Benchmark 1.3.7 / 1.4.2).

import { ReportViolation, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import {
    clusterVariables,
    CONTROL_PLANE_CLUSTER_CONFIGURATION,
    isCluster,
    isClusterClass,
    objectWith,
    PatchedValue,
    patchedControlPlaneValues,
    UnknownPatchValue,
    usesClass,
} from "../../core/clusterClass";
import { describeResource, extraArgValues, flagKey, formatPath, Found, lookup, UNKNOWN } from "../../core/resources";
import { PolicyDocs, StackFinding, StackResource, stackResources } from "../lib/preview";
import { CIS_RECOMMENDATION, Component, violationMessage } from "./controlPlaneMetricsNotOnAllInterfaces";

export const CLUSTER_CLASS_BIND_ADDRESS = "cluster-class-control-plane-metrics-not-on-all-interfaces";

export const clusterClassBindAddressDocs: PolicyDocs = {
    reference: "CIS Kubernetes Benchmark 1.3.7 (kube-controller-manager), 1.4.2 (kube-scheduler)",
    looksAt: [
        "Cluster API ClusterClass (v1beta1, v1beta2): inline `spec.patches[].definitions[].jsonPatches` (add / replace) selecting the control plane's KubeadmControlPlaneTemplate, that write `clusterConfiguration.{controllerManager,scheduler}.extraArgs` `bind-address` (map and list forms, or any object above them): literal `value`s whatever `enabledIf` says, `valueFrom.variable` and `valueFrom.template` with the variables' defaults",
        "Cluster API Cluster with `spec.topology` (`class` / `classRef`) using a ClusterClass of the program: the values its `topology.variables` and `controlPlane.variables.overrides` give those patches (and their `enabledIf`)",
    ],
};

const COMPONENT_KEYS: readonly [Component, string][] = [
    ["kube-controller-manager", "controllerManager"],
    ["kube-scheduler", "scheduler"],
];

/** The bind addresses a patched template holds, per component (unknown parts included). */
function bindAddresses(patched: unknown): { readonly component: Component; readonly found: Found }[] {
    const document = lookup(patched, CONTROL_PLANE_CLUSTER_CONFIGURATION);
    const root = "unknownAt" in document ? UNKNOWN : document.value;
    return COMPONENT_KEYS.flatMap(([component, key]) =>
        extraArgValues(root, [key, "extraArgs"], flagKey("bind-address"), (sub) =>
            formatPath([...CONTROL_PLANE_CLUSTER_CONFIGURATION, ...sub]),
        ).map((found) => ({ component, found })),
    );
}

/** The components whose bind address a patch to `pointer` may set (whatever value it writes). */
function componentsAt(pointer: string | undefined): Component[] {
    if (pointer === undefined) {
        return COMPONENT_KEYS.map(([component]) => component);
    }
    const components = bindAddresses(objectWith(pointer, UNKNOWN)).map((b) => b.component);
    return COMPONENT_KEYS.map(([c]) => c).filter((c) => components.includes(c));
}

/** Messages for one patched value: the class's own (literal, defaults), or a Cluster's (its variables). */
function judge(value: PatchedValue, classLabel: string, cluster: string | undefined): string[] {
    return bindAddresses(value.patched).flatMap(({ component, found }) => {
        if (found.state === "unknown") {
            return []; // a value unknown inside a literal: reported by the advisory policy
        }
        const where = `${value.op} ${value.pointer} writes the KubeadmControlPlaneTemplate's ${found.path}`;
        const clusterSource = value.sources.find((s) => s.kind === "cluster");
        const defaultSource = value.sources.find((s) => s.kind === "default");
        const message =
            cluster !== undefined && clusterSource?.kind === "cluster"
                ? violationMessage(cluster, {
                      state: "set",
                      component,
                      path: clusterSource.path,
                      value: found.value,
                      note: `variable ${clusterSource.variable}, which ${classLabel} ${value.patchPath} (${where}) uses; the patch is ${value.enabled}`,
                  })
                : defaultSource?.kind === "default"
                  ? violationMessage(classLabel, {
                        state: "set",
                        component,
                        path: defaultSource.path,
                        value: found.value,
                        note:
                            `the default of variable ${defaultSource.variable}, which ${value.valuePath} uses: ${where}, ` +
                            `for every Cluster that does not set the variable; the patch is ${value.enabled}`,
                    })
                  : violationMessage(classLabel, {
                        state: "set",
                        component,
                        path: value.valuePath,
                        value: found.value,
                        note: `${where}; the patch is ${value.enabled}`,
                    });
        return message ? [message] : [];
    });
}

function unknownText(resource: string, unknown: UnknownPatchValue, components: Component[]): string {
    const cis = components.map((c) => CIS_RECOMMENDATION[c].replace("CIS Kubernetes Benchmark ", "")).join(", ");
    const rule = `CIS Kubernetes Benchmark ${cis}: keep --bind-address=127.0.0.1`;
    const what = `the ${components.join(" / ")} bind address that ${unknown.patchPath}${unknown.pointer ? ` (${unknown.pointer})` : ""} writes`;
    if (unknown.runTimeVariable !== undefined) {
        return (
            `${resource}: ${unknown.path} ${unknown.why}; the policy cannot check ${what}. Give the variable a default of 127.0.0.1, ` +
            `or declare the Cluster in this program, to have it checked (${rule}).`
        );
    }
    if (unknown.why === "is unknown during preview") {
        return (
            `${resource}: ${unknown.path} is unknown during preview, so the policy cannot check ${what}. ` +
            `It will be checked on \`pulumi up\`, when the value is known, before the resource is created (${rule}).`
        );
    }
    return `${resource}: ${unknown.path} ${unknown.why}, so the policy cannot check ${what} (${rule}).`;
}

export interface ClusterClassAssessment {
    readonly violations: readonly StackFinding[];
    readonly unknowns: readonly StackFinding[];
}

/** Every ClusterClass of the program with its defaults, and with each of the program's Clusters that use it. */
export function assessClusterClasses(resources: readonly StackResource[]): ClusterClassAssessment {
    const violations: StackFinding[] = [];
    const unknowns: StackFinding[] = [];
    const clusters = resources.filter((r) => isCluster(r.type));
    for (const clusterClass of resources.filter((r) => isClusterClass(r.type))) {
        const classLabel = describeResource(clusterClass.type, clusterClass.name, clusterClass.props);
        const bindings = clusters
            .filter((c) => usesClass(c.props, clusterClass.props))
            .map((c) => ({ resource: c, binding: clusterVariables(c) }));
        const defaults = patchedControlPlaneValues(clusterClass.props, classLabel, undefined);
        for (const value of defaults.values) {
            judge(value, classLabel, undefined).forEach((message) =>
                violations.push({ urn: clusterClass.urn, message }),
            );
        }
        for (const unknown of defaults.unknowns) {
            const setByCluster =
                unknown.runTimeVariable !== undefined &&
                bindings.some(({ binding }) => binding.values.has(unknown.runTimeVariable!));
            const components = componentsAt(unknown.pointer);
            if (!setByCluster && components.length > 0) {
                unknowns.push({ urn: clusterClass.urn, message: unknownText(classLabel, unknown, components) });
            }
        }
        for (const { resource, binding } of bindings) {
            const clusterLabel = describeResource(resource.type, resource.name, resource.props);
            const scan = patchedControlPlaneValues(clusterClass.props, classLabel, binding);
            for (const value of scan.values.filter((v) => v.sources.some((s) => s.kind === "cluster"))) {
                judge(value, classLabel, clusterLabel).forEach((message) =>
                    violations.push({ urn: resource.urn, message }),
                );
            }
            for (const unknown of scan.unknowns) {
                const components = componentsAt(unknown.pointer);
                if (unknown.runTimeVariable === undefined && components.length > 0 && unknown.path !== undefined) {
                    if (defaults.unknowns.some((u) => u.path === unknown.path && u.why === unknown.why)) {
                        continue; // the class's own, reported once on the class
                    }
                    unknowns.push({ urn: resource.urn, message: unknownText(clusterLabel, unknown, components) });
                }
            }
        }
    }
    return { violations, unknowns };
}

export const clusterClassControlPlaneMetricsNotOnAllInterfaces: StackValidationPolicy = {
    name: CLUSTER_CLASS_BIND_ADDRESS,
    displayName: "ClusterClass patches keep kube-scheduler and kube-controller-manager off all interfaces",
    description:
        "Cluster API ClusterClass patches must not bind kube-scheduler or kube-controller-manager to all interfaces, " +
        "by a literal value, a variable's default, or the value a Cluster of the program gives the variable " +
        "(CIS Kubernetes Benchmark 1.3.7 / 1.4.2). Their metrics are exposed by the eksa-metrics stack instead.",
    severity: "high",
    remediationSteps:
        "Remove the bind-address patch or make it write 127.0.0.1 (and default its variable to 127.0.0.1), and scrape " +
        "the components' metrics through the eksa-metrics proxy DaemonSet.",
    validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
        for (const { urn, message } of assessClusterClasses(stackResources(args)).violations) {
            reportViolation(message, urn);
        }
    },
};
