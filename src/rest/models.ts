/**
 * The `/models` resource, beside Connect's routes: model versions on the model-control topic.
 *
 *   GET    /models                      every model: versions, the newest, connectors using it
 *   GET    /models/:id                  one model (404 when unknown or retired)
 *   POST   /models                      publish a version (body: model-control JSON) → 201
 *   POST   /models/:id/versions         the same, the id from the path
 *   DELETE /models/:id                  retire: a tombstone on the control topic → 204
 *
 * Reads follow the control topic (read up to its end before answering, so a publish is visible
 * to the next GET); writes produce to it with acks=all. `connectors` lists connectors whose config
 * names the model in a Score transform (`model.id`), plus those that scored with it in this worker
 * (per-record routing by field or header).
 */
import type { FastifyInstance } from 'fastify';
import type { KafkaClient, TopicReader } from '../kafka';
import { ArtifactError, ArtifactStore, describeUri } from '../ml/serving/artifacts';
import { ControlMessageError, type ModelControl } from '../ml/serving/control';
import { ControlLog, controlRecord, preparePublish } from '../ml/serving/control-log';
import { peekCatalog, servingSettings, usersOf } from '../ml/serving/hub';
import { SCORE_CLASS } from '../ml/serving/score';
import { RestError, type Req, type RouteTable, type ServerDeps } from './server';

export function modelRoutes(routes: RouteTable, deps: ServerDeps, app?: FastifyInstance): void {
  const settings = servingSettings(deps.config.raw);
  const topic = settings.topic;
  const log = new ControlLog();
  let kafka: KafkaClient | undefined;
  let reader: TopicReader | undefined;
  let starting: Promise<void> | undefined;
  // loaded on the first /models request: the REST layer stays loadable without the Kafka client
  // (the unit tests of the REST server run under jest, which cannot load the ESM-only client)
  const client = () => (kafka ??= (require('../kafka') as typeof import('../kafka')).createKafkaClient(deps.config.kafkaClient, {
    bootstrapServers: deps.config.bootstrapServers,
    clientId: `connect-${deps.config.groupId}-models`,
    logger: deps.logs.logger('io.kappa.connect.rest.models'),
  }));
  const start = () => (starting ??= (async () => {
    const k = client();
    await k.ensureTopics([{ topic, partitions: 1, replicationFactor: -1, config: { 'cleanup.policy': 'compact' } }]);
    reader = k.topicReader([topic], (m) => log.apply(m.key, m.value, m), `connect-${deps.config.groupId}-models-rest-${process.pid}-${Date.now()}`);
  })().catch((e) => {
    starting = undefined;
    throw e;
  }));
  const upToDate = async () => {
    await start();
    await reader!.readToEnd();
  };
  app?.addHook('onClose', async () => {
    await reader?.stop().catch(() => undefined);
    await kafka?.close().catch(() => undefined);
  });
  const artifacts = new ArtifactStore({ cacheDir: null, policy: settings.policy });

  /** connectors whose config names the model in a Score transform */
  const configuredUsers = (id: string): { fixed: string[]; routing: string[] } => {
    const fixed: string[] = [];
    const routing: string[] = [];
    for (const name of deps.herder.connectorNames()) {
      let config: Record<string, string>;
      try {
        config = deps.herder.connectorConfig(name);
      } catch {
        continue;
      }
      const aliases = (config['transforms'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      for (const alias of aliases) {
        const cls = config[`transforms.${alias}.type`];
        if (!cls || deps.registry.findAny(cls)?.descriptor.className !== SCORE_CLASS) continue;
        const t = (k: string) => config[`transforms.${alias}.${k}`]?.trim();
        if ((t('model.topic') || topic) !== topic) continue;
        if (t('model.id') === id) fixed.push(name);
        else if (!t('model.id') && (t('model.id.field') || t('model.id.header'))) routing.push(name);
      }
    }
    return { fixed: [...new Set(fixed)], routing: [...new Set(routing)] };
  };

  const render = (id: string, versions: readonly ModelControl[]) => {
    const live = peekCatalog(topic)?.snapshot(id)[0];
    const { fixed, routing } = configuredUsers(id);
    const scored = usersOf(id);
    const latest = versions[versions.length - 1]!;
    const now = Date.now();
    return {
      id,
      latest_version: latest.version,
      serving_version: live?.serving ?? null,
      connectors: [...new Set([...fixed, ...scored])].sort(),
      routing_connectors: routing.filter((c) => !fixed.includes(c) && !scored.includes(c)).sort(),
      versions: versions.map((v) => {
        const state = live?.versions.find((s) => s.version === v.version);
        const exp = v.exp_date === null ? null : Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v.exp_date) ? `${v.exp_date}T00:00:00Z` : v.exp_date);
        return {
          ...v,
          uri: describeUri(v.uri),
          expired: exp !== null && now >= exp,
          ...(state ? { state: state.state, ...(state.error ? { error: state.error } : {}) } : {}),
        };
      }),
    };
  };

  routes.add('GET', '/models', async () => {
    await upToDate();
    return log.ids().map((id) => render(id, log.versions(id)!));
  });

  routes.add('GET', '/models/:id', async (req: Req) => {
    const id = req.params['id']!;
    await upToDate();
    const versions = log.versions(id);
    if (!versions) throw new RestError(404, `Model ${id} not found`);
    return render(id, versions);
  });

  const publish = async (req: Req, reply: { code(n: number): unknown }, idFromPath?: string) => {
    let body = req.body;
    if (idFromPath !== undefined) {
      if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new RestError(400, 'the request body must be a JSON model-control message');
      const given = (body as Record<string, unknown>)['id'];
      if (given !== undefined && given !== idFromPath) throw new RestError(400, `the body's id ${JSON.stringify(given)} does not match the path's ${JSON.stringify(idFromPath)}`);
      body = { ...(body as Record<string, unknown>), id: idFromPath };
    }
    let control: ModelControl;
    try {
      control = await preparePublish(body, (uri) => artifacts.fetch(uri));
      // refused here already (not only when a task activates it), so the publisher learns at once
      settings.policy.checkUri(control.uri);
    } catch (e) {
      if (e instanceof ControlMessageError) throw new RestError(400, `Invalid model-control message: ${e.message}`);
      if (e instanceof ArtifactError) throw new RestError(e.code === 'FORBIDDEN' ? 403 : 400, `Cannot use the model artifact: ${e.message}`);
      throw e;
    }
    await upToDate();
    const existing = log.versions(control.id)?.find((v) => v.version === control.version);
    if (existing && existing.sha256 !== control.sha256) {
      throw new RestError(409, `Model ${control.id} version ${control.version} already exists with sha256 ${existing.sha256}; publish a new version`);
    }
    await client().send([controlRecord(topic, control.id, control)]);
    reply.code(201);
    return { ...control, uri: describeUri(control.uri) };
  };

  routes.add('POST', '/models', async (req, reply) => publish(req, reply));
  routes.add('POST', '/models/:id/versions', async (req, reply) => publish(req, reply, req.params['id']!));

  routes.add('DELETE', '/models/:id', async (req: Req, reply) => {
    const id = req.params['id']!;
    await upToDate();
    if (!log.versions(id)) throw new RestError(404, `Model ${id} not found`);
    await client().send([controlRecord(topic, id, null)]);
    return reply.code(204).send();
  });
}
