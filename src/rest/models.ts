/**
 * The `/models` resource, beside Connect's routes: model versions on the model-control topic.
 *
 *   GET    /models                      every model: versions, the newest, connectors using it
 *   GET    /models/:id                  one model (404 when unknown or retired)
 *   POST   /models                      publish a version (body: model-control JSON) → 201
 *   POST   /models/:id/versions         the same, the id from the path
 *   DELETE /models/:id                  retire: a tombstone on the control topic → 204
 *   POST   /models/:id/challenger       set the challenger {version, mode, share} → 201
 *   DELETE /models/:id/challenger       remove it (rollback: the champion scores alone) → 204
 *   POST   /models/:id/promote          the challenger becomes the serving version → 200
 *   POST   /models/artifacts            the artifact's bytes (application/octet-stream) → 201 with
 *                                       its `kafka-artifact:sha256:<hex>` URI (artifact topic)
 *   GET    /models/artifacts/:sha256    a stored artifact's manifest (404 when not stored)
 *
 * Publishing copies the artifact of a file: or http(s): URI, and of a data: URI over 256 KiB, to
 * the artifact topic when this worker can read it and its sha256 matches, and publishes the
 * version with the kafka-artifact: URI (the given URI stays as `source_uri`): every worker of the
 * cluster then loads the same bytes from Kafka, whatever its disk and its allowed hosts. An artifact
 * this worker cannot read (with the sha256 given) is published as given, as before.
 *
 * Reads follow the control topic (read up to its end before answering, so a publish is visible
 * to the next GET); writes produce to it with acks=all. `connectors` lists connectors whose config
 * names the model in a Score transform (`model.id`), plus those that scored with it in this worker
 * (per-record routing by field or header).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Readable } from 'stream';
import type { FastifyInstance } from 'fastify';
import type { KafkaClient, TopicReader } from '../kafka';
import { ArtifactError, ArtifactStore, describeUri, tmpFileIn } from '../ml/serving/artifacts';
import { chunksOf, fileChunks, type ArtifactManifest, type ArtifactTopic } from '../ml/serving/artifact-topic';
import { artifactSha, artifactUri } from '../ml/serving/artifact-uri';
import { ControlMessageError, sha256Hex, type ModelControl } from '../ml/serving/control';
import { ControlLog, controlRecord, preparePublish } from '../ml/serving/control-log';
import { ChallengerRequestError, challengerRecord, prepareChallenger, promotionRecords, type ChallengerControl } from '../ml/serving/challenger';
import { artifactTopicOf, evaluationOf, peekCatalog, servingSettings, usersOf } from '../ml/serving/hub';
import { SCORE_CLASS } from '../ml/serving/score';
import { RestError, type Req, type RouteTable, type ServerDeps } from './server';
import { spoolToFile, UploadTooLargeError } from './uploads';

/** data: URIs up to this size stay inline in the control message; larger ones go to the artifact topic. */
export const INLINE_ARTIFACT_MAX_BYTES = 256 * 1024;

const SHA_RE = /^[0-9a-f]{64}$/;

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
    securityProps: { ...deps.config.securityProps },
    consumerProps: { ...deps.config.consumerProps },
    producerProps: { ...deps.config.producerProps },
    adminProps: { ...deps.config.adminProps },
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
  const artifactLog = deps.logs.logger('io.kappa.connect.rest.models');
  const artifactTopic: ArtifactTopic = artifactTopicOf(settings, {
    ensureTopic: (t, o) => client().ensureTopics([{ topic: t, partitions: o.partitions, replicationFactor: o.replicationFactor, config: o.compact ? { 'cleanup.policy': 'compact' } : undefined }]),
    readPartition: (t, p, onRecords, o) => client().readPartition(t, p, onRecords, o),
  }, artifactLog);
  const maxArtifactBytes = settings.policy.maxBytes;
  const artifactTooLarge = `HTTP 413 Request Entity Too Large: the model artifact is larger than kappa.model.artifact.max.bytes (limit ${maxArtifactBytes} bytes)`;

  /** Writes an artifact to the artifact topic with a producer of its own (pipelined chunks). */
  const storeArtifact = async (sha256: string, size: number, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<ArtifactManifest> => {
    const producer = client().producer({ clientId: `connect-${deps.config.groupId}-artifacts`, maxInFlightBytes: 4 * 1024 * 1024 });
    try {
      return await artifactTopic.write(producer, sha256, size, chunks);
    } catch (e) {
      if (e instanceof ArtifactError && e.code !== 'UNREACHABLE') throw e;
      throw new RestError(500, `Cannot store the model artifact in topic ${artifactTopic.topic}: ${(e as Error).message}`);
    } finally {
      await producer.close().catch(() => undefined);
    }
  };

  /**
   * The version as it goes to the control topic: its artifact copied to the artifact topic where
   * that helps other workers (see the header), a kafka-artifact: URI checked to be stored.
   */
  const placeArtifact = async (control: ModelControl, fetchOnce: (uri: string) => Promise<Uint8Array>, shaGiven: boolean): Promise<ModelControl> => {
    if (control.format === 'remote') return control; // its uri is an inference endpoint, not an artifact
    const named = artifactSha(control.uri);
    if (named !== null) {
      const manifest = await artifactTopic.stat(named);
      if (!manifest) throw new ArtifactError('NOT_FOUND', `artifact ${control.uri} is not in topic ${artifactTopic.topic}; upload it first with POST /models/artifacts`);
      if (manifest.size > maxArtifactBytes) throw new ArtifactError('TOO_LARGE', `artifact ${control.uri} is ${manifest.size} bytes, more than ${maxArtifactBytes} bytes (worker property kappa.model.artifact.max.bytes)`);
      return control;
    }
    const inline = /^data:/i.test(control.uri);
    let bytes: Uint8Array;
    try {
      bytes = await fetchOnce(control.uri);
    } catch (e) {
      // not readable here, sha256 given: published as given (each worker reads it itself, as before)
      if (e instanceof ArtifactError && e.code === 'UNREACHABLE' && shaGiven) {
        artifactLog.warn(`model ${control.id} version ${control.version}: ${e.message}; published with its URI as given, not copied to topic ${artifactTopic.topic}`);
        return control;
      }
      throw e;
    }
    if (inline && bytes.length <= INLINE_ARTIFACT_MAX_BYTES) return control;
    // another sha256 than the message's: published as given, refused by the workers that activate it
    if (sha256Hex(bytes) !== control.sha256) return control;
    await storeArtifact(control.sha256, bytes.length, chunksOf(bytes));
    const { uri, ...rest } = control;
    return { ...rest, uri: artifactUri(control.sha256), ...(inline ? {} : { source_uri: describeUri(uri) }) };
  };

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
    const challenger = log.challenger(id);
    return {
      id,
      latest_version: latest.version,
      serving_version: live?.serving ?? null,
      connectors: [...new Set([...fixed, ...scored])].sort(),
      routing_connectors: routing.filter((c) => !fixed.includes(c) && !scored.includes(c)).sort(),
      challenger: challenger ? renderChallenger(challenger, live?.challenger) : null,
      // this worker's counts since it started, per version (scored, labels, accuracy | mae)
      evaluation: evaluationOf(id),
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

  const renderChallenger = (c: ChallengerControl, live?: { version: string; state: string; error?: string }) => ({
    version: c.version,
    mode: c.mode,
    share: c.share,
    set_at: c.set_at,
    sha256: c.model.sha256,
    uri: describeUri(c.model.uri),
    ...(live && live.version === c.version ? { state: live.state, ...(live.error ? { error: live.error } : {}) } : {}),
  });

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

  const artifactError = (e: unknown): never => {
    if (e instanceof ControlMessageError) throw new RestError(400, `Invalid model-control message: ${e.message}`);
    if (e instanceof ArtifactError) throw new RestError(e.code === 'FORBIDDEN' ? 403 : e.code === 'TOO_LARGE' ? 413 : 400, `Cannot use the model artifact: ${e.message}`);
    throw e;
  };

  const publish = async (req: Req, reply: { code(n: number): unknown }, idFromPath?: string) => {
    let body = req.body;
    if (idFromPath !== undefined) {
      if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new RestError(400, 'the request body must be a JSON model-control message');
      const given = (body as Record<string, unknown>)['id'];
      if (given !== undefined && given !== idFromPath) throw new RestError(400, `the body's id ${JSON.stringify(given)} does not match the path's ${JSON.stringify(idFromPath)}`);
      body = { ...(body as Record<string, unknown>), id: idFromPath };
    }
    let control: ModelControl;
    // the artifact is read at most once per request (for its sha256 and for the copy)
    const fetched = new Map<string, Promise<Uint8Array>>();
    const fetchOnce = (uri: string) => {
      let p = fetched.get(uri);
      if (!p) fetched.set(uri, (p = artifacts.fetch(uri)));
      return p;
    };
    const shaGiven = body !== null && typeof body === 'object' && typeof (body as Record<string, unknown>)['sha256'] === 'string';
    try {
      control = await preparePublish(body, fetchOnce);
      // refused here already (not only when a task activates it), so the publisher learns at once
      settings.policy.checkUri(control.uri);
    } catch (e) {
      return artifactError(e);
    }
    await upToDate();
    const existing = log.versions(control.id)?.find((v) => v.version === control.version);
    if (existing && existing.sha256 !== control.sha256) {
      throw new RestError(409, `Model ${control.id} version ${control.version} already exists with sha256 ${existing.sha256}; publish a new version`);
    }
    try {
      control = await placeArtifact(control, fetchOnce, shaGiven);
    } catch (e) {
      return artifactError(e);
    }
    await client().send([controlRecord(topic, control.id, control)]);
    reply.code(201);
    return { ...control, uri: describeUri(control.uri) };
  };

  routes.add('POST', '/models/artifacts', async (req, reply) => {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/octet-stream') {
      throw new RestError(415, `POST /models/artifacts takes the artifact's bytes with Content-Type application/octet-stream${type ? `, not ${type}` : ''}`);
    }
    // spooled in the cache directory (then renamed into the cache), or the system's temp directory
    const cacheUsable = settings.cacheDir !== null && await fs.promises.mkdir(settings.cacheDir, { recursive: true })
      .then(() => fs.promises.access(settings.cacheDir!, fs.constants.W_OK)).then(() => true, () => false);
    const file = tmpFileIn(cacheUsable ? settings.cacheDir : null, 'upload');
    let spooled;
    try {
      try {
        spooled = await spoolToFile(req.body as Readable, file, maxArtifactBytes);
      } catch (e) {
        if (!(e instanceof UploadTooLargeError)) throw e;
        reply.header('Connection', 'close'); // the rest of the body is not wanted
        throw new RestError(413, artifactTooLarge);
      }
      if (spooled.size === 0) throw new RestError(400, 'The request body is empty: send the artifact\'s bytes');
      const manifest = await storeArtifact(spooled.sha256, spooled.size, fileChunks(file));
      // into this worker's disk cache: its catalog need not read the artifact back from Kafka
      if (cacheUsable) await fs.promises.rename(file, path.join(settings.cacheDir!, spooled.sha256)).catch(() => undefined);
      reply.code(201);
      return { sha256: manifest.sha256, size: manifest.size, chunks: manifest.chunks, topic: artifactTopic.topic, uri: artifactUri(manifest.sha256) };
    } finally {
      await fs.promises.rm(file, { force: true }).catch(() => undefined);
    }
  }, { rawBody: { maxBytes: maxArtifactBytes, tooLarge: artifactTooLarge } });

  routes.add('GET', '/models/artifacts/:sha256', async (req: Req) => {
    const sha = req.params['sha256']!.toLowerCase();
    if (!SHA_RE.test(sha)) throw new RestError(400, `${JSON.stringify(req.params['sha256']!.slice(0, 100))} is not a sha256 (64 hex digits)`);
    let manifest: ArtifactManifest | undefined;
    try {
      manifest = await artifactTopic.stat(sha);
    } catch (e) {
      if (e instanceof ArtifactError) throw new RestError(500, e.message);
      throw e;
    }
    if (!manifest) throw new RestError(404, `Artifact ${sha} not found in topic ${artifactTopic.topic}`);
    return { ...manifest, topic: artifactTopic.topic, uri: artifactUri(sha) };
  });

  routes.add('POST', '/models', async (req, reply) => publish(req, reply));
  routes.add('POST', '/models/:id/versions', async (req, reply) => publish(req, reply, req.params['id']!));

  routes.add('DELETE', '/models/:id', async (req: Req, reply) => {
    const id = req.params['id']!;
    await upToDate();
    if (!log.versions(id)) throw new RestError(404, `Model ${id} not found`);
    // the challenger goes with its model (its record would otherwise outlive the retirement)
    await client().send([controlRecord(topic, id, null), ...(log.challenger(id) ? [challengerRecord(topic, id, null)] : [])]);
    return reply.code(204).send();
  });

  routes.add('POST', '/models/:id/challenger', async (req: Req, reply) => {
    const id = req.params['id']!;
    await upToDate();
    // a new version given with its artifact is prepared as a publish is (sha256, policy, copy to the artifact topic)
    const fetched = new Map<string, Promise<Uint8Array>>();
    const fetchOnce = (uri: string) => {
      let p = fetched.get(uri);
      if (!p) fetched.set(uri, (p = artifacts.fetch(uri)));
      return p;
    };
    const prepareVersion = async (body: Record<string, unknown>): Promise<ModelControl> => {
      try {
        const control = await preparePublish(body, fetchOnce);
        settings.policy.checkUri(control.uri);
        return await placeArtifact(control, fetchOnce, typeof body['sha256'] === 'string');
      } catch (e) {
        return artifactError(e);
      }
    };
    let challenger: ChallengerControl;
    try {
      challenger = await prepareChallenger(id, req.body, log, prepareVersion);
    } catch (e) {
      if (e instanceof ChallengerRequestError) throw new RestError(e.status, e.message);
      if (e instanceof ControlMessageError) throw new RestError(400, `Invalid challenger: ${e.message}`);
      throw e;
    }
    await client().send([challengerRecord(topic, id, challenger)]);
    reply.code(201);
    return { id, ...renderChallenger(challenger) };
  });

  const challengerOf = async (id: string): Promise<ChallengerControl> => {
    await upToDate();
    if (!log.versions(id)) throw new RestError(404, `Model ${id} not found`);
    const c = log.challenger(id);
    if (!c) throw new RestError(404, `Model ${id} has no challenger`);
    return c;
  };

  routes.add('DELETE', '/models/:id/challenger', async (req: Req, reply) => {
    const id = req.params['id']!;
    await challengerOf(id);
    await client().send([challengerRecord(topic, id, null)]);
    return reply.code(204).send();
  });

  routes.add('POST', '/models/:id/promote', async (req: Req) => {
    const id = req.params['id']!;
    const c = await challengerOf(id);
    // a version this worker could not load would be refused as the serving version too
    const live = peekCatalog(topic)?.snapshot(id)[0]?.challenger;
    if (live?.version === c.version && live.state === 'refused') {
      throw new RestError(409, `Model ${id} challenger version ${c.version} was refused by this worker (${live.error}); set another challenger or remove it`);
    }
    const previous = log.latest(id)!.version;
    await client().send(promotionRecords(topic, c));
    return { id, promoted_version: c.version, previous_version: previous, mode: c.mode };
  });
}
