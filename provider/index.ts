export { MetricsStack } from "../components/metricsStack";
