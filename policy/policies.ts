// The pack's policies, in the order the CLI lists them. index.ts only puts them into the
// PolicyPack (which starts a server), so tests import this module instead.

import { EnforcementLevel, Policy } from "@pulumi/policy";
import { controlPlaneBindAddressUnknownDuringPreview } from "./policies/controlPlaneBindAddressUnknownDuringPreview";
import { controlPlaneMetricsNotOnAllInterfaces } from "./policies/controlPlaneNotOnAllInterfaces";

/** The pack's default; each policy can be set otherwise with `--policy-pack-config`. */
export const PACK_ENFORCEMENT_LEVEL: EnforcementLevel = "mandatory";

export const policies: Policy[] = [controlPlaneMetricsNotOnAllInterfaces, controlPlaneBindAddressUnknownDuringPreview];
