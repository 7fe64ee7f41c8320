// `nonResourceURLs: ["*"]` grants every non-resource endpoint — /metrics, /debug/pprof, /logs —
// on every component that authorises with the API server. Fine for administrators; a warning
// (advisory) for anyone else, who should get the URLs they need by name.

import { ReportViolation, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { describeSubject, isEveryone, nonResourceWildcards, Subject } from "../lib/rbac";
import { PolicyDocs, StackFinding, StackResource, stackResources } from "../lib/preview";
import { boundClusterRoles } from "./metricsNotReadableByEveryone";

export const NON_RESOURCE_WILDCARD = "non-resource-wildcard-for-admins-only";

export const nonResourceWildcardDocs: PolicyDocs = {
    reference: "CIS Kubernetes Benchmark 5.1.1 (cluster-admin only where required) and 5.1.3 (minimise wildcards)",
    looksAt: [
        "ClusterRoleBinding, judged against the ClusterRole it references (the program's, or the built-in cluster-admin)",
    ],
};

export interface AdminSubjectsConfig {
    /** Subjects written as `Kind:name` (`ServiceAccount:namespace/name`). */
    readonly adminSubjects?: readonly string[];
}

/** kubeadm's administrators: the superuser group and the group of its admin.conf (1.29+). */
export const DEFAULT_ADMIN_SUBJECTS = ["Group:system:masters", "Group:kubeadm:cluster-admins"];

const subjectKey = (s: Subject) =>
    s.kind === "ServiceAccount" ? `ServiceAccount:${s.namespace ?? ""}/${s.name}` : `${s.kind}:${s.name}`;

export function assessNonResourceWildcards(
    resources: readonly StackResource[],
    config: AdminSubjectsConfig,
): StackFinding[] {
    const admins = new Set(config.adminSubjects ?? DEFAULT_ADMIN_SUBJECTS);
    return boundClusterRoles(resources).flatMap(({ resource, description, binding, role }) => {
        const wildcards = nonResourceWildcards(role.rules);
        if (wildcards.length === 0) {
            return [];
        }
        // Everyone-subjects with get on /metrics are the mandatory policy's; here the rest.
        return binding.subjects
            .filter((s) => !admins.has(subjectKey(s)) && !isEveryone(s))
            .map((subject) => ({
                urn: resource.urn,
                message:
                    `every non-resource URL granted to a non-admin: ${description} binds ${binding.roleRef!.name} to ` +
                    `${describeSubject(subject)} (${subject.path}), and ${role.resource} grants nonResourceURLs "*" ` +
                    `(${wildcards.map((w) => w.path).join(", ")}): /metrics, /debug/pprof and /logs of every component ` +
                    `(${nonResourceWildcardDocs.reference}). Grant the URLs it needs by name — for scraping, the eksa-metrics ` +
                    `metrics-reader role (get on /metrics) — or list the subject in adminSubjects if it is an administrator.`,
            }));
    });
}

export const nonResourceWildcardForAdminsOnly: StackValidationPolicy = {
    name: NON_RESOURCE_WILDCARD,
    displayName: 'nonResourceURLs "*" for administrators only',
    description:
        'Warns when a ClusterRoleBinding grants a ClusterRole with nonResourceURLs "*" (cluster-admin included) to a ' +
        "subject that is not an administrator (configurable: adminSubjects).",
    severity: "medium",
    enforcementLevel: "advisory",
    remediationSteps: "Grant named non-resource URLs (e.g. get on /metrics) instead of *.",
    configSchema: {
        properties: {
            adminSubjects: {
                type: "array",
                items: { type: "string" },
                default: DEFAULT_ADMIN_SUBJECTS,
                description: "Administrators, as Kind:name (Group:system:masters, User:alice, ServiceAccount:ns/name).",
            },
        },
    },
    validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
        for (const finding of assessNonResourceWildcards(stackResources(args), args.getConfig<AdminSubjectsConfig>())) {
            reportViolation(finding.message, finding.urn);
        }
    },
};
