/**
 * The library's entry point (package.json `exports`): `import { MetricsStack } from "eksa-metrics"` in any
 * Pulumi TypeScript or JavaScript program. The program of this repository (index.ts) is one such user.
 */
export {
    MetricsStack,
    endpointsOf,
    DEFAULT_GATE_IMAGE,
    DEFAULT_PROXY_IMAGE,
    DEFAULT_VERIFY_IMAGE,
} from "./metricsStack";
export type { EndpointInfo, MetricsStackArgs } from "./metricsStack";
