/** The `/connectors` resource: CRUD, lifecycle, status, tasks, topics and offsets. */
import type { InitialState } from '../herder/herder';
import { NotFoundError } from '../herder/errors';
import { checkCreateConnectorRequest } from './bodies';
import { RestError, coerceConfig, queryBool, queryList, type Req, type RouteTable, type ServerDeps } from './server';


function taskId(raw: string | undefined): number {
  // Jersey answers a non-integer {task} path segment with 404.
  if (raw === undefined || !/^-?\d+$/.test(raw)) throw new RestError(404, 'HTTP 404 Not Found');
  return Number(raw);
}

export function connectorRoutes(routes: RouteTable, deps: ServerDeps): void {
  const { herder } = deps;
  const ready = async () => { await deps.ready; };

  routes.add('GET', '/connectors', async (req: Req) => {
    await ready();
    const expand = queryList(req.query['expand']);
    const names = herder.connectorNames();
    if (expand.length === 0) return names;
    const out: Record<string, Record<string, unknown>> = {};
    for (const name of names) {
      const entry: Record<string, unknown> = {};
      try {
        if (expand.includes('status')) entry['status'] = herder.connectorStatus(name);
        if (expand.includes('info')) entry['info'] = herder.connectorInfo(name);
      } catch (e) {
        if (e instanceof NotFoundError) continue; // no status yet: left out, as Connect does
        throw e;
      }
      out[name] = entry;
    }
    return out;
  });

  routes.add('POST', '/connectors', async (req: Req, reply) => {
    await ready();
    checkCreateConnectorRequest(req.body);
    const body = req.body as { name?: string | number | null; config: unknown; initial_state?: string | null };
    const name = body.name == null ? '' : String(body.name).trim();
    // Connect accepts any name its validator does (non-empty, no ISO control characters; KIP-212),
    // '/' included: every route takes the name percent-encoded.
    const config = coerceConfig(body.config);
    if (config['name'] !== undefined && config['name'] !== name) {
      throw new RestError(400, `Connector name configuration (${config['name']}) doesn't match connector name in the URL (${name})`);
    }
    config['name'] = name;
    let initial: InitialState | undefined;
    if (body.initial_state !== undefined && body.initial_state !== null) {
      const s = String(body.initial_state).toUpperCase();
      if (s !== 'RUNNING' && s !== 'PAUSED' && s !== 'STOPPED') {
        throw new RestError(400, `Invalid initial_state '${String(body.initial_state)}': must be one of RUNNING, PAUSED, STOPPED`);
      }
      initial = s;
    }
    const { info } = await herder.putConnectorConfig(name, config, false, initial);
    return reply.code(201).header('Location', `/connectors/${encodeURIComponent(name)}`).send(info);
  });

  routes.add('GET', '/connectors/:name', async (req: Req) => {
    await ready();
    return herder.connectorInfo(req.params['name']!);
  });

  routes.add('DELETE', '/connectors/:name', async (req: Req, reply) => {
    await ready();
    await herder.deleteConnector(req.params['name']!);
    return reply.code(204).send();
  });

  routes.add('GET', '/connectors/:name/config', async (req: Req) => {
    await ready();
    return herder.connectorConfig(req.params['name']!);
  });

  routes.add('PUT', '/connectors/:name/config', async (req: Req, reply) => {
    await ready();
    const name = req.params['name']!;
    const config = coerceConfig(req.body);
    if (config['name'] !== undefined && config['name'] !== name) {
      throw new RestError(400, `Connector name configuration (${config['name']}) doesn't match connector name in the URL (${name})`);
    }
    config['name'] = name;
    const { created, info } = await herder.putConnectorConfig(name, config, true);
    if (created) return reply.code(201).header('Location', `/connectors/${encodeURIComponent(name)}`).send(info);
    return reply.code(200).send(info);
  });

  routes.add('PATCH', '/connectors/:name/config', async (req: Req) => {
    await ready();
    return herder.patchConnectorConfig(req.params['name']!, coerceConfig(req.body));
  });

  routes.add('GET', '/connectors/:name/status', async (req: Req) => {
    await ready();
    return herder.connectorStatus(req.params['name']!);
  });

  routes.add('GET', '/connectors/:name/tasks', async (req: Req) => {
    await ready();
    return herder.taskInfos(req.params['name']!);
  });

  routes.add('GET', '/connectors/:name/tasks/:task/status', async (req: Req) => {
    await ready();
    return herder.taskStatus(req.params['name']!, taskId(req.params['task']));
  });

  routes.add('POST', '/connectors/:name/tasks/:task/restart', async (req: Req, reply) => {
    await ready();
    await herder.restartTask(req.params['name']!, taskId(req.params['task']), queryList(req.query['forward']).some((f) => f.toLowerCase() === 'false'));
    return reply.code(204).send();
  });

  routes.add('POST', '/connectors/:name/restart', async (req: Req, reply) => {
    await ready();
    const body = await herder.restartConnector(req.params['name']!, queryBool(req.query['includeTasks']), queryBool(req.query['onlyFailed']));
    if (body === null) return reply.code(204).send();
    return reply.code(202).send(body);
  });

  routes.add('PUT', '/connectors/:name/pause', async (req: Req, reply) => {
    await ready();
    await herder.pauseConnector(req.params['name']!);
    return reply.code(202).send();
  });

  routes.add('PUT', '/connectors/:name/resume', async (req: Req, reply) => {
    await ready();
    await herder.resumeConnector(req.params['name']!);
    return reply.code(202).send();
  });

  routes.add('PUT', '/connectors/:name/stop', async (req: Req, reply) => {
    await ready();
    await herder.stopConnectorRequest(req.params['name']!);
    return reply.code(204).send();
  });

  routes.add('GET', '/connectors/:name/topics', async (req: Req) => {
    await ready();
    const name = req.params['name']!;
    return { [name]: { topics: herder.activeTopics(name) } };
  });

  routes.add('PUT', '/connectors/:name/topics/reset', async (req: Req, reply) => {
    await ready();
    await herder.resetActiveTopics(req.params['name']!);
    return reply.code(202).send();
  });

  routes.add('GET', '/connectors/:name/offsets', async (req: Req) => {
    await ready();
    return herder.connectorOffsets(req.params['name']!);
  });

  routes.add('PATCH', '/connectors/:name/offsets', async (req: Req) => {
    await ready();
    await herder.alterOffsets(req.params['name']!, req.body ?? null);
    return { message: 'The offsets for this connector have been altered successfully' };
  });

  routes.add('DELETE', '/connectors/:name/offsets', async (req: Req) => {
    await ready();
    await herder.resetOffsets(req.params['name']!);
    return { message: 'The offsets for this connector have been reset successfully' };
  });
}
