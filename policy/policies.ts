// The pack's policies, in the order the CLI lists them. index.ts only puts them into the
// PolicyPack (which starts a server), so tests import this module instead.

import { EnforcementLevel, Policy } from "@pulumi/policy";
import { PolicyDocs } from "./lib/preview";
import {
    bindAddressUnknownDocs,
    controlPlaneMetricsBindAddressUnknownDuringPreview,
} from "./policies/controlPlaneMetricsBindAddressUnknownDuringPreview";
import {
    controlPlaneBindAddressDocs,
    controlPlaneMetricsNotOnAllInterfaces,
} from "./policies/controlPlaneMetricsNotOnAllInterfaces";
import {
    clusterClassBindAddressUnknownDocs,
    clusterClassBindAddressUnknownDuringPreview,
} from "./policies/clusterClassBindAddressUnknownDuringPreview";
import {
    clusterClassBindAddressDocs,
    clusterClassControlPlaneMetricsNotOnAllInterfaces,
} from "./policies/clusterClassControlPlaneMetricsNotOnAllInterfaces";
import {
    controllerDiagnosticsAuthenticated,
    controllerDiagnosticsDocs,
} from "./policies/controllerDiagnosticsAuthenticated";
import { etcdMetricsDocs, etcdMetricsNotExposed } from "./policies/etcdMetricsNotExposed";
import {
    kubeProxyMetricsDocs,
    kubeProxyMetricsNotOnAllInterfaces,
} from "./policies/kubeProxyMetricsNotOnAllInterfaces";
import {
    metricsExposureUnknownDocs,
    metricsExposureUnknownDuringPreview,
} from "./policies/metricsExposureUnknownDuringPreview";
import { metricsNotReadableByEveryone, metricsReadableDocs } from "./policies/metricsNotReadableByEveryone";
import { insecureProxyDocs, noInsecureMetricsProxy } from "./policies/noInsecureMetricsProxy";
import { nonResourceWildcardDocs, nonResourceWildcardForAdminsOnly } from "./policies/nonResourceWildcardForAdminsOnly";

/** The pack's default; each policy can be set otherwise with `--policy-pack-config`. */
export const PACK_ENFORCEMENT_LEVEL: EnforcementLevel = "mandatory";

/** Each policy with what its file documents: reference and the resources it looks at (policy/README.md's table). */
export const documentedPolicies: readonly { readonly policy: Policy; readonly docs: PolicyDocs }[] = [
    { policy: controlPlaneMetricsNotOnAllInterfaces, docs: controlPlaneBindAddressDocs },
    { policy: controlPlaneMetricsBindAddressUnknownDuringPreview, docs: bindAddressUnknownDocs },
    { policy: clusterClassControlPlaneMetricsNotOnAllInterfaces, docs: clusterClassBindAddressDocs },
    { policy: clusterClassBindAddressUnknownDuringPreview, docs: clusterClassBindAddressUnknownDocs },
    { policy: kubeProxyMetricsNotOnAllInterfaces, docs: kubeProxyMetricsDocs },
    { policy: etcdMetricsNotExposed, docs: etcdMetricsDocs },
    { policy: controllerDiagnosticsAuthenticated, docs: controllerDiagnosticsDocs },
    { policy: metricsNotReadableByEveryone, docs: metricsReadableDocs },
    { policy: nonResourceWildcardForAdminsOnly, docs: nonResourceWildcardDocs },
    { policy: noInsecureMetricsProxy, docs: insecureProxyDocs },
    { policy: metricsExposureUnknownDuringPreview, docs: metricsExposureUnknownDocs },
];

export const policies: Policy[] = documentedPolicies.map((d) => d.policy);
