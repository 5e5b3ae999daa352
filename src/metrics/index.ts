/** Metrics of a gateway: `gw.metrics` (one Registry per Gateway) and its /metrics router. */
export { GatewayMetrics, type MetricsSources } from './gateway-metrics';
export { metricsRouter } from './metrics-router';
