/** `GET /metrics`: the server's metrics in the Prometheus text format (docs/metrics.md). */
import { PROMETHEUS_CONTENT_TYPE } from '../common/prometheus-text.js';
import { sendText } from './http-io.js';
import type { Route } from './http-router.js';
import type { ServerMetrics } from './server-metrics.js';

/**
 * The route of `/metrics`: a user (or admin) token by default, as for reading any fleet data;
 * public with `--metrics-public`, for a scraper on a trusted network without a token.
 */
export function metricsRoute(metrics: ServerMetrics, isPublic: boolean): Route {
  return {
    method: 'GET',
    path: '/metrics',
    need: isPublic ? 'public' : 'user',
    handle: ({ res }) => sendText(res, 200, PROMETHEUS_CONTENT_TYPE, metrics.registry.render()),
  };
}
