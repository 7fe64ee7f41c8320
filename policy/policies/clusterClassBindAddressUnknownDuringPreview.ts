// Names the ClusterClass bind addresses that cluster-class-control-plane-metrics-not-on-all-interfaces cannot
// check: values unknown during preview, and variables with no default that no Cluster of the program sets
// (known only at run time, from the Cluster that will use the class).

import { ReportViolation, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { stackResources } from "../lib/preview";
import {
    assessClusterClasses,
    CLUSTER_CLASS_BIND_ADDRESS,
    clusterClassBindAddressDocs,
} from "./clusterClassControlPlaneMetricsNotOnAllInterfaces";

export const CLUSTER_CLASS_BIND_ADDRESS_UNKNOWN = "cluster-class-bind-address-unknown-during-preview";

/** It reads what the policy it serves reads. */
export const clusterClassBindAddressUnknownDocs = clusterClassBindAddressDocs;

export const clusterClassBindAddressUnknownDuringPreview: StackValidationPolicy = {
    name: CLUSTER_CLASS_BIND_ADDRESS_UNKNOWN,
    displayName: "ClusterClass bind address unknown during preview or known only at run time",
    description:
        `Names the ClusterClass patch values that ${CLUSTER_CLASS_BIND_ADDRESS} cannot check: values unknown during ` +
        "preview (checked on `pulumi up`), templates it does not evaluate, and variables with no default that no " +
        "Cluster of the program sets (known only at run time). Advisory by default.",
    severity: "medium",
    enforcementLevel: "advisory",
    validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
        for (const { urn, message } of assessClusterClasses(stackResources(args)).unknowns) {
            reportViolation(message, urn);
        }
    },
};
