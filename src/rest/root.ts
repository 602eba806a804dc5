/** `GET /` (server info) and `GET /health` (KIP-1017). */
import type { RouteTable, ServerDeps } from './server';
import { CONNECT_API_VERSION, buildCommit } from './version';

export function rootRoutes(routes: RouteTable, deps: ServerDeps): void {
  let clusterId: string | undefined;
  routes.add('GET', '/', async () => {
    clusterId ??= await deps.clusterId();
    return { version: CONNECT_API_VERSION, commit: buildCommit(), kafka_cluster_id: clusterId };
  });
  routes.add('GET', '/health', async (_req, reply) => {
    if (!deps.herder.ready) {
      return reply.code(503).send({ status: 'starting', message: 'Worker is still starting up.' });
    }
    return { status: 'healthy', message: 'Worker has completed startup and is ready to handle requests.' };
  });
}
