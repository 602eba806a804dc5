/** The `/admin/loggers` resource (KIP-495, scopes from KIP-976). */
import { LogRegistry } from '../logging/logger';
import { RestError, type Req, type RouteTable, type ServerDeps } from './server';


export function loggerRoutes(routes: RouteTable, deps: ServerDeps): void {
  routes.add('GET', '/admin/loggers', async () => deps.logs.list());

  routes.add('GET', '/admin/loggers/:logger', async (req: Req) => {
    const name = req.params['logger']!;
    if (!deps.logs.has(name)) throw new RestError(404, `Logger ${name} not found.`);
    const s = deps.logs.effective(name);
    return { level: s.level, last_modified: s.lastModified };
  });

  routes.add('PUT', '/admin/loggers/:logger', async (req: Req, reply) => {
    const name = req.params['logger']!;
    const body = req.body as { level?: unknown } | undefined;
    const raw = body && typeof body === 'object' ? body.level : undefined;
    if (raw === undefined || raw === null) throw new RestError(400, "Desired 'level' parameter was not specified in request.");
    const level = LogRegistry.parseLevel(String(raw));
    // Connect answers an invalid level with 404 (sic).
    if (!level) throw new RestError(404, `invalid log level '${String(raw)}'.`);
    const scope = String(req.query['scope'] ?? 'worker').toLowerCase();
    if (scope === 'cluster') {
      deps.logs.setLevel(name, level);
      await deps.publishClusterLogLevel?.(name, level);
      return reply.code(204).send();
    }
    return deps.logs.setLevel(name, level);
  });
}
