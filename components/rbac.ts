/**
 * The stack's RBAC: the metrics-reader ClusterRole (GET /metrics) bound to the readers, the proxy's
 * service account and its TokenReview grant for kube-rbac-proxy, and the verification's service accounts.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ReaderSubject, Settings, UNBOUND_SERVICE_ACCOUNT } from "../config/settings";

export interface StackRbac {
    /** The proxy pods' service account (kube-rbac-proxy's TokenReviews run as it). */
    proxyServiceAccount: k8s.core.v1.ServiceAccount;
    readerRole: k8s.rbac.v1.ClusterRole;
    readerBinding: k8s.rbac.v1.ClusterRoleBinding;
    /** system:auth-delegator for the proxy, when a component is behind kube-rbac-proxy. */
    gateBinding?: k8s.rbac.v1.ClusterRoleBinding;
    /** The verification's own reader, when readers may not exist yet. */
    verifier?: k8s.core.v1.ServiceAccount;
    /** Bound to nothing: the verification proves its token is refused. */
    unbound: k8s.core.v1.ServiceAccount;
}

export function rbacSubject(reader: ReaderSubject): k8s.types.input.rbac.v1.Subject {
    return reader.kind === "ServiceAccount"
        ? { kind: reader.kind, name: reader.name, namespace: reader.namespace }
        : { kind: reader.kind, name: reader.name, apiGroup: "rbac.authorization.k8s.io" };
}

export function registerRbac(
    name: string,
    settings: Settings,
    namespace: pulumi.Input<string>,
    opts: pulumi.CustomResourceOptions,
): StackRbac {
    const proxyServiceAccount = new k8s.core.v1.ServiceAccount(
        `${name}-proxy`,
        { metadata: { namespace }, automountServiceAccountToken: false },
        opts,
    );
    // controller-runtime's SubjectAccessReview asks the same (get on the non-resource URL /metrics): one role authorises the controllers too.
    const readerRole = new k8s.rbac.v1.ClusterRole(
        `${name}-metrics-reader`,
        { rules: [{ nonResourceURLs: ["/metrics"], verbs: ["get"] }] },
        opts,
    );
    // Readers that may not exist yet cannot lend their token: the verification reads with one of its own.
    const verifier = settings.verifierServiceAccount
        ? new k8s.core.v1.ServiceAccount(
              `${name}-verifier`,
              {
                  metadata: { name: settings.verifierServiceAccount.name, namespace },
                  automountServiceAccountToken: false,
              },
              opts,
          )
        : undefined;
    // Bound to nothing on purpose: the verification proves that a valid token without the role is refused.
    const unbound = new k8s.core.v1.ServiceAccount(
        `${name}-unbound`,
        { metadata: { name: UNBOUND_SERVICE_ACCOUNT, namespace }, automountServiceAccountToken: false },
        opts,
    );
    const readerBinding = new k8s.rbac.v1.ClusterRoleBinding(
        `${name}-metrics-reader`,
        {
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: readerRole.metadata.name },
            subjects: [
                ...settings.readers.map(rbacSubject),
                ...(settings.verifierServiceAccount
                    ? [rbacSubject({ kind: "ServiceAccount", ...settings.verifierServiceAccount })]
                    : []),
            ],
        },
        opts,
    );
    // kube-rbac-proxy asks the API server who a token belongs to and what it may do.
    const gateBinding = settings.components.some((c) => c.authenticator === "proxy")
        ? new k8s.rbac.v1.ClusterRoleBinding(
              `${name}-token-review`,
              {
                  roleRef: {
                      apiGroup: "rbac.authorization.k8s.io",
                      kind: "ClusterRole",
                      name: "system:auth-delegator",
                  },
                  subjects: [{ kind: "ServiceAccount", name: proxyServiceAccount.metadata.name, namespace }],
              },
              opts,
          )
        : undefined;
    return { proxyServiceAccount, readerRole, readerBinding, gateBinding, verifier, unbound };
}
