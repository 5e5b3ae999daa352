/** GET /metrics (spec §5): the gateway's own registry in Prometheus text format. */
import { Router } from 'express';
import type { GatewayMetrics } from './gateway-metrics';

export function metricsRouter(metrics: GatewayMetrics): Router {
  const r = Router();
  r.get('/metrics', async (_req, res) => {
    const body = await metrics.registry.metrics();
    res.type(metrics.registry.contentType).send(body);
  });
  return r;
}
