// The eksa-metrics policy pack. Constructing a PolicyPack starts the analyzer server, so this file
// does nothing else; the policies live in policies.ts (which the tests import).

import { PolicyPack } from "@pulumi/policy";
import { PACK_ENFORCEMENT_LEVEL, policies } from "./policies";

new PolicyPack("eksa-metrics", {
    policies,
    enforcementLevel: PACK_ENFORCEMENT_LEVEL,
});
