// The pack's policies, in the order the CLI lists them. index.ts only puts them into the
// PolicyPack (which starts a server), so tests import this module instead.

import { EnforcementLevel, Policy } from "@pulumi/policy";
import { controlPlaneBindAddressUnknownDuringPreview } from "./policies/controlPlaneBindAddressUnknownDuringPreview";
import { controlPlaneMetricsNotOnAllInterfaces } from "./policies/controlPlaneNotOnAllInterfaces";
import { controllerDiagnosticsAuthenticated } from "./policies/controllerDiagnosticsAuthenticated";
import { etcdMetricsNotExposed } from "./policies/etcdMetricsNotExposed";
import { kubeProxyMetricsNotOnAllInterfaces } from "./policies/kubeProxyMetricsNotOnAllInterfaces";
import { metricsExposureUnknownDuringPreview } from "./policies/metricsExposureUnknownDuringPreview";
import { metricsNotReadableByEveryone } from "./policies/metricsNotReadableByEveryone";
import { noInsecureMetricsProxy } from "./policies/noInsecureMetricsProxy";
import { nonResourceWildcardForAdminsOnly } from "./policies/nonResourceWildcardForAdminsOnly";

/** The pack's default; each policy can be set otherwise with `--policy-pack-config`. */
export const PACK_ENFORCEMENT_LEVEL: EnforcementLevel = "mandatory";

export const policies: Policy[] = [
    controlPlaneMetricsNotOnAllInterfaces,
    controlPlaneBindAddressUnknownDuringPreview,
    kubeProxyMetricsNotOnAllInterfaces,
    etcdMetricsNotExposed,
    controllerDiagnosticsAuthenticated,
    metricsNotReadableByEveryone,
    nonResourceWildcardForAdminsOnly,
    noInsecureMetricsProxy,
    metricsExposureUnknownDuringPreview,
];
