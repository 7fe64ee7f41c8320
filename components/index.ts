/**
 * The library's entry point (package.json `exports`): `import { MetricsStack } from "eksa-metrics"` in any
 * Pulumi TypeScript or JavaScript program. The program of this repository (index.ts) is one such user.
 */
export { MetricsStack } from "./metricsStack";
export type { EndpointInfo, MetricsStackArgs } from "./metricsStack";
export { EndpointNodes } from "./endpoints";
export { EtcdTopology, ReaderKind, TaintEffect, TolerationOperator, VerificationMode } from "../config/args";
export type * from "../config/args";
export { DEFAULT_IMAGES } from "../core/versions";
export type { TlsForecast } from "./tlsSchedule";
