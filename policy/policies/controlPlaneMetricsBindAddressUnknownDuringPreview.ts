// Names the kube-scheduler / kube-controller-manager bind-address fields that are unknown during
// preview; control-plane-metrics-not-on-all-interfaces checks them on `pulumi up`.

import { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { assessOrNotApplicable } from "../lib/preview";
import {
    assessBindAddress,
    controlPlaneBindAddressDocs,
    NOT_APPLICABLE,
    NOT_ON_ALL_INTERFACES,
} from "./controlPlaneMetricsNotOnAllInterfaces";

export const UNKNOWN_DURING_PREVIEW = "control-plane-metrics-bind-address-unknown-during-preview";

/** It reads what the policy it serves reads. */
export const bindAddressUnknownDocs = controlPlaneBindAddressDocs;

export const controlPlaneMetricsBindAddressUnknownDuringPreview: ResourceValidationPolicy = {
    name: UNKNOWN_DURING_PREVIEW,
    displayName: "kube-scheduler / kube-controller-manager bind address unknown during preview",
    description:
        `Names the fields that ${NOT_ON_ALL_INTERFACES} cannot check during preview because their values ` +
        "depend on other resources; they are checked on `pulumi up` once known. Advisory by default, so " +
        "that the preview of `pulumi up` is not blocked by values that will be checked anyway.",
    severity: "medium",
    enforcementLevel: "advisory",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        for (const message of assessOrNotApplicable(args, assessBindAddress, undefined, NOT_APPLICABLE).unknowns) {
            reportViolation(message);
        }
    },
};
