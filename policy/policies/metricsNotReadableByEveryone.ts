// /metrics of kube-controller-manager and kube-scheduler (and of everything behind the
// eksa-metrics proxy) is authorised by RBAC: a ClusterRoleBinding that grants `get` on it to
// everyone undoes the token check. A binding names its role only by name, so this is a stack
// policy: it sees the roles the program defines next to the bindings that reference them.

import { ReportViolation, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import {
    Binding,
    BUILT_IN_CLUSTER_ROLES,
    describeSubject,
    EVERYONE,
    isEveryone,
    nonResourceGrants,
    rbacKind,
    readBinding,
} from "../lib/rbac";
import { describeResource, formatPath, lookup } from "../../core/resources";
import { Assessment, PolicyDocs, StackFinding, StackResource, stackResources, unknownMessage } from "../lib/preview";

export const METRICS_READABLE = "metrics-not-readable-by-everyone";

export const metricsReadableDocs: PolicyDocs = {
    reference: "CIS Kubernetes Benchmark 5.1.3 (minimise wildcards); related: 1.2.1 (anonymous requests)",
    looksAt: [
        "ClusterRoleBinding (judged against the ClusterRole it references: one of the program's, or the built-in cluster-admin / system:monitoring); ClusterRole",
    ],
};

const RULE = "bind get on /metrics to named readers only";

/** A role the program defines (or a built-in one), with its rules. */
export interface KnownRole {
    readonly resource: string;
    readonly rules: unknown;
}

/** ClusterRoles by name: the program's (which win: they replace a built-in on apply) and the built-in ones. */
export function clusterRoles(resources: readonly StackResource[]): Map<string, KnownRole> {
    const roles = new Map<string, KnownRole>(
        Object.entries(BUILT_IN_CLUSTER_ROLES).map(([name, rules]) => [
            name,
            { resource: `the built-in ClusterRole ${name}`, rules },
        ]),
    );
    for (const r of resources) {
        const name = lookup(r.props, ["metadata", "name"]);
        if (rbacKind(r.type) === "ClusterRole" && "value" in name && typeof name.value === "string") {
            const rules = lookup(r.props, ["rules"]);
            roles.set(name.value, {
                resource: describeResource(r.type, r.name, r.props),
                rules: "value" in rules ? rules.value : undefined,
            });
        }
    }
    return roles;
}

/** The ClusterRoleBindings of the stack with the ClusterRole each references, where the program (or Kubernetes) defines it. */
export function boundClusterRoles(
    resources: readonly StackResource[],
): { resource: StackResource; description: string; binding: Binding; role: KnownRole }[] {
    const roles = clusterRoles(resources);
    return resources.flatMap((r) => {
        if (rbacKind(r.type) !== "ClusterRoleBinding") {
            return [];
        }
        const binding = readBinding(r.props);
        const role = binding.roleRef?.kind === "ClusterRole" ? roles.get(binding.roleRef.name) : undefined;
        return role ? [{ resource: r, description: describeResource(r.type, r.name, r.props), binding, role }] : [];
    });
}

export function assessMetricsReadable(resources: readonly StackResource[]): StackFinding[] {
    return boundClusterRoles(resources).flatMap(({ resource, description, binding, role }) => {
        const grants = nonResourceGrants(role.rules, "get", "/metrics");
        if (grants.length === 0) {
            return [];
        }
        const granted = grants.map((g) => `${g.path} = ${JSON.stringify(g.pattern)}`).join(", ");
        return binding.subjects.filter(isEveryone).map((subject) => ({
            urn: resource.urn,
            message:
                `metrics readable by everyone: ${description} binds ${binding.roleRef!.name} to ${describeSubject(subject)} ` +
                `(${subject.path}), ${EVERYONE[subject.name]}, and ${role.resource} grants get on /metrics (${granted}). ` +
                `Anyone who reaches a component's or the eksa-metrics proxy's port would pass its token check ` +
                `(${metricsReadableDocs.reference}). Bind the role to the scraper's own ServiceAccount instead, as the ` +
                `eksa-metrics stack does with its readers setting (default observability/prometheus-server).`,
        }));
    });
}

/** The RBAC fields unknown during preview that decide who may read /metrics (for the advisory policy). */
export function assessRbacUnknowns(type: string, pulumiName: string, props: unknown): Assessment | undefined {
    const kind = rbacKind(type);
    if (kind !== "ClusterRoleBinding" && kind !== "ClusterRole") {
        return undefined;
    }
    const resource = describeResource(type, pulumiName, props);
    const what = "who may read /metrics";
    if (kind === "ClusterRole") {
        const rules = lookup(props, ["rules"]);
        return {
            violations: [],
            unknowns: "unknownAt" in rules ? [unknownMessage(resource, formatPath(rules.unknownAt), what, RULE)] : [],
        };
    }
    return {
        violations: [],
        unknowns: readBinding(props).unknowns.map((path) => unknownMessage(resource, path, what, RULE)),
    };
}

export const metricsNotReadableByEveryone: StackValidationPolicy = {
    name: METRICS_READABLE,
    displayName: "/metrics is not granted to everyone",
    description:
        "No ClusterRoleBinding may grant get on /metrics (directly, or through a nonResourceURLs wildcard such as * or " +
        "/metrics*) to system:anonymous, system:unauthenticated or system:authenticated. The binding is judged against " +
        "the ClusterRole it references when the program defines it (or it is cluster-admin / system:monitoring).",
    severity: "high",
    remediationSteps:
        "Bind a role granting get on /metrics (the eksa-metrics metrics-reader) to the scraper's ServiceAccount only.",
    validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
        for (const finding of assessMetricsReadable(stackResources(args))) {
            reportViolation(finding.message, finding.urn);
        }
    },
};
