/**
 * `GET /metrics`: the worker's metrics in Prometheus text format, on the REST listener and, when
 * the worker property metrics.listener is set, on a listener of its own that serves nothing else
 * (so a scraper can be given a port without the REST API behind it).
 */
import * as http from 'node:http';
import type { Listener } from '../config/worker-config';
import { METRICS_CONTENT_TYPE, type WorkerMetrics } from '../metrics/worker-metrics';
import type { RouteTable } from './server';

export function metricsRoutes(routes: RouteTable, metrics: WorkerMetrics): void {
  routes.add('GET', '/metrics', async (_req, reply) => reply.type(METRICS_CONTENT_TYPE).send(await metrics.render()));
}

/** Starts the metrics-only listener; resolves once it listens. */
export async function startMetricsListener(listener: Listener, metrics: WorkerMetrics): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '');
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(path === '/metrics' ? 405 : 404, { 'Content-Type': 'text/plain; charset=utf-8' }).end(path === '/metrics' ? 'Method Not Allowed\n' : 'Not Found: this listener serves GET /metrics only\n');
      return;
    }
    metrics.render().then(
      (body) => { res.writeHead(200, { 'Content-Type': METRICS_CONTENT_TYPE }).end(req.method === 'HEAD' ? undefined : body); },
      (e: Error) => { res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`metrics failed: ${e.message}\n`); },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listener.port, listener.host, () => { server.off('error', reject); resolve(); });
  });
  return server;
}
