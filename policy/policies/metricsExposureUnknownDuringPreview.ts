// Names the fields that the kube-proxy, etcd, controller, RBAC and proxy policies cannot check during
// preview; they check them on `pulumi up`, when the values are known.

import { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { Assessment, assessOrNotApplicable, PolicyDocs } from "../lib/preview";
import {
    assessControllerDiagnostics,
    CONTROLLER_DIAGNOSTICS,
    controllerDiagnosticsDocs,
} from "./controllerDiagnosticsAuthenticated";
import { assessEtcdMetrics, ETCD_METRICS, etcdMetricsDocs } from "./etcdMetricsNotExposed";
import { assessKubeProxyMetrics, KUBE_PROXY_METRICS, kubeProxyMetricsDocs } from "./kubeProxyMetricsNotOnAllInterfaces";
import { assessRbacUnknowns, METRICS_READABLE, metricsReadableDocs } from "./metricsNotReadableByEveryone";
import { assessProxyUnknowns, INSECURE_PROXY, insecureProxyDocs } from "./noInsecureMetricsProxy";

export const METRICS_EXPOSURE_UNKNOWN = "metrics-exposure-unknown-during-preview";

const CHECKS: readonly {
    readonly policy: string;
    readonly docs: PolicyDocs;
    readonly assess: (type: string, name: string, props: unknown) => Assessment | undefined;
}[] = [
    {
        policy: KUBE_PROXY_METRICS,
        docs: kubeProxyMetricsDocs,
        assess: (type, name, props) => assessKubeProxyMetrics(type, name, props, {}),
    },
    {
        policy: ETCD_METRICS,
        docs: etcdMetricsDocs,
        assess: (type, name, props) => assessEtcdMetrics(type, name, props, {}),
    },
    { policy: CONTROLLER_DIAGNOSTICS, docs: controllerDiagnosticsDocs, assess: assessControllerDiagnostics },
    { policy: METRICS_READABLE, docs: metricsReadableDocs, assess: assessRbacUnknowns },
    { policy: INSECURE_PROXY, docs: insecureProxyDocs, assess: assessProxyUnknowns },
];

export const metricsExposureUnknownDocs: PolicyDocs = {
    reference: `the policies it serves: ${CHECKS.map((c) => c.policy).join(", ")}`,
    looksAt: [...new Set(CHECKS.flatMap((c) => c.docs.looksAt))],
};

/** The unknowns of every check, each message prefixed with the policy that will check it. */
function assessUnknowns(type: string, name: string, props: unknown): Assessment | undefined {
    const results = CHECKS.map((check) => ({ policy: check.policy, assessment: check.assess(type, name, props) }));
    if (results.every((r) => r.assessment === undefined)) {
        return undefined;
    }
    return {
        violations: [],
        unknowns: results.flatMap((r) => (r.assessment?.unknowns ?? []).map((message) => `[${r.policy}] ${message}`)),
    };
}

export const metricsExposureUnknownDuringPreview: ResourceValidationPolicy = {
    name: METRICS_EXPOSURE_UNKNOWN,
    displayName: "metrics exposure settings unknown during preview",
    description:
        `Names the fields that ${CHECKS.map((c) => c.policy).join(", ")} cannot check during preview because their values ` +
        "depend on other resources; they are checked on `pulumi up` once known. Advisory by default.",
    severity: "medium",
    enforcementLevel: "advisory",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        const reason =
            "only ConfigMaps, Cluster API kubeadm resources, Pods / workloads and ClusterRoles / ClusterRoleBindings are looked at";
        assessOrNotApplicable(args, assessUnknowns, undefined, reason).unknowns.forEach((message) =>
            reportViolation(message),
        );
    },
};
