// RBAC as the API server's authorizer reads it, for non-resource URLs such as /metrics. Pure.
//
// Non-resource URLs are granted only by ClusterRoleBindings: a RoleBinding is namespaced, and
// requests for /metrics have no namespace, so the authorizer never applies it to them.

import { formatPath, isObject, lookup, parseKubernetesType, UNKNOWN } from "../../core/resources";

export const RBAC_GROUP = "rbac.authorization.k8s.io";
export type RbacKind = "ClusterRole" | "Role" | "ClusterRoleBinding" | "RoleBinding";
const RBAC_KINDS: readonly RbacKind[] = ["ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding"];

/** The RBAC kind of a type token (any version; patches are not full objects and are left out). */
export function rbacKind(type: string): RbacKind | undefined {
    const parsed = parseKubernetesType(type);
    return parsed?.group === RBAC_GROUP && (RBAC_KINDS as readonly string[]).includes(parsed.kind)
        ? (parsed.kind as RbacKind)
        : undefined;
}

/**
 * Default ClusterRoles that grant non-resource URLs (the API server creates them, so a program
 * binds them without defining them). cluster-admin grants everything; system:monitoring the
 * health and metrics endpoints.
 */
export const BUILT_IN_CLUSTER_ROLES: Readonly<Record<string, readonly unknown[]>> = {
    "cluster-admin": [
        { apiGroups: ["*"], resources: ["*"], verbs: ["*"] },
        { nonResourceURLs: ["*"], verbs: ["*"] },
    ],
    "system:monitoring": [
        {
            nonResourceURLs: [
                "/healthz",
                "/healthz/*",
                "/livez",
                "/livez/*",
                "/readyz",
                "/readyz/*",
                "/metrics",
                "/metrics/slis",
            ],
            verbs: ["get"],
        },
    ],
};

/** Kubernetes non-resource URL matching: exact, "*", or a prefix ending in "*". */
export function nonResourceUrlMatches(pattern: string, url: string): boolean {
    return pattern === "*" || pattern === url || (pattern.endsWith("*") && url.startsWith(pattern.slice(0, -1)));
}

export interface Grant {
    /** The rule's field path within the role, e.g. `rules[1].nonResourceURLs[0]`. */
    readonly path: string;
    readonly pattern: string;
}

/** The rules' entries that grant `verb` on the non-resource `url`. */
export function nonResourceGrants(rules: unknown, verb: string, url: string): Grant[] {
    if (!Array.isArray(rules)) {
        return [];
    }
    return rules.flatMap((rule: unknown, i): Grant[] => {
        if (
            !isObject(rule) ||
            !Array.isArray(rule.verbs) ||
            !rule.verbs.some((v) => v === verb || v === "*") ||
            !Array.isArray(rule.nonResourceURLs)
        ) {
            return [];
        }
        return rule.nonResourceURLs.flatMap((pattern: unknown, k): Grant[] =>
            typeof pattern === "string" && nonResourceUrlMatches(pattern, url)
                ? [{ path: formatPath(["rules", i, "nonResourceURLs", k]), pattern }]
                : [],
        );
    });
}

/** The rules' `nonResourceURLs: ["*"]` entries (any verb). */
export function nonResourceWildcards(rules: unknown): Grant[] {
    if (!Array.isArray(rules)) {
        return [];
    }
    return rules.flatMap((rule: unknown, i): Grant[] =>
        isObject(rule) && Array.isArray(rule.nonResourceURLs)
            ? rule.nonResourceURLs.flatMap((pattern: unknown, k): Grant[] =>
                  pattern === "*" ? [{ path: formatPath(["rules", i, "nonResourceURLs", k]), pattern }] : [],
              )
            : [],
    );
}

export interface Subject {
    readonly kind: string;
    readonly name: string;
    readonly namespace?: string;
    readonly path: string;
}

/** `Group system:authenticated`, `ServiceAccount observability/prometheus-server`. */
export function describeSubject(subject: Subject): string {
    return subject.kind === "ServiceAccount"
        ? `ServiceAccount ${subject.namespace ?? "(no namespace)"}/${subject.name}`
        : `${subject.kind} ${subject.name}`;
}

/** What a binding says, or the fields unknown during preview. */
export interface Binding {
    readonly roleRef?: { readonly kind: string; readonly name: string };
    readonly subjects: readonly Subject[];
    readonly unknowns: readonly string[];
}

export function readBinding(props: unknown): Binding {
    const unknowns: string[] = [];
    const roleKind = lookup(props, ["roleRef", "kind"]);
    const roleName = lookup(props, ["roleRef", "name"]);
    for (const found of [roleKind, roleName]) {
        if ("unknownAt" in found) {
            unknowns.push(formatPath(found.unknownAt));
        }
    }
    const roleRef =
        "value" in roleKind &&
        "value" in roleName &&
        typeof roleKind.value === "string" &&
        typeof roleName.value === "string"
            ? { kind: roleKind.value, name: roleName.value }
            : undefined;
    const subjects: Subject[] = [];
    const list = lookup(props, ["subjects"]);
    if ("unknownAt" in list) {
        unknowns.push(formatPath(list.unknownAt));
    } else if (Array.isArray(list.value)) {
        list.value.forEach((subject: unknown, i) => {
            const path = formatPath(["subjects", i]);
            if (subject === UNKNOWN || (isObject(subject) && (subject.kind === UNKNOWN || subject.name === UNKNOWN))) {
                unknowns.push(path);
            } else if (isObject(subject) && typeof subject.kind === "string" && typeof subject.name === "string") {
                subjects.push({
                    kind: subject.kind,
                    name: subject.name,
                    namespace: typeof subject.namespace === "string" ? subject.namespace : undefined,
                    path,
                });
            }
        });
    }
    return { roleRef, subjects, unknowns };
}

/** The subjects that stand for everyone: the anonymous user, and the groups every request is in. */
export const EVERYONE: Readonly<Record<string, string>> = {
    "system:anonymous": "the anonymous user (every request without credentials)",
    "system:unauthenticated": "the group of every request without credentials",
    "system:authenticated": "the group of every authenticated user and service account in the cluster",
};

export function isEveryone(subject: Subject): boolean {
    return (subject.kind === "User" || subject.kind === "Group") && subject.name in EVERYONE;
}
