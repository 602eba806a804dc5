/**
 * Process-wide serving state: one model catalog per control topic, shared by every scoring task
 * of the worker process (one model serves many streams, loaded once), one InferencePool, and a
 * record of which connectors use which models (for GET /models).
 *
 * The first task that needs a catalog creates it (ensuring the compacted topic exists and
 * following it from the beginning); every task waits until the catalog has read the topic up to
 * its current end, so a model published before the task started is known to it. The last task to
 * release the catalog stops it.
 */
import * as path from 'path';
import type { Logger, PluginKafka } from '../../api';
import { ArtifactPolicy, ArtifactStore } from './artifacts';
import { DEFAULT_HTTP_TIMEOUT_MS, DEFAULT_MAX_ARTIFACT_BYTES, DEFAULT_MAX_REDIRECTS } from './artifact-policy';
import { LinearBackend, OnnxBackend, type ServingModel } from './backends';
import { DEFAULT_REMOTE_SETTINGS, OipBackend, type RemoteSettings } from './remote/oip-backend';
import { ModelCatalog, type CatalogListener, type ExpiredPolicy, type MissingPolicy, type Resolution } from './catalog';
import { DEFAULT_MODEL_TOPIC } from './control';
import { EvaluationTotals, type EvaluationDelta, type VersionEvaluation } from './evaluation';
import { ArtifactTopic, DEFAULT_ARTIFACT_TOPIC, type ArtifactTopicKafka } from './artifact-topic';
import { InferencePool, defaultThreads } from './onnx';

export interface ServingSettings {
  readonly topic: string;
  readonly cacheDir: string | null;
  readonly poolThreads: number;
  readonly batchMaxRecords: number;
  readonly batchMaxWaitMs: number;
  readonly unloadGraceMs: number;
  /** where model URIs may lead (kappa.model.dir, kappa.model.file.allowed.dirs, kappa.model.http.*) */
  readonly policy: ArtifactPolicy;
  /** the compacted topic holding artifacts in chunks (kafka-artifact: URIs) */
  readonly artifactTopic: string;
  /** its replication factor when a worker creates it (-1: the broker's default) */
  readonly artifactReplicationFactor: number;
  /** calls to remote (Open Inference Protocol) models: timeout, retries, concurrency, circuit breaker */
  readonly remote: RemoteSettings;
}

/**
 * The default replication factor of the artifact topic: the broker's default (-1), as for the
 * model-control topic: a single development broker and a production cluster (whose
 * default.replication.factor is set for it) both work without a setting; publishing a model must
 * not fail on a property a user has no reason to know.
 */
export const DEFAULT_ARTIFACT_REPLICATION_FACTOR = -1;

function intSetting(raw: Readonly<Record<string, string>>, key: string, def: number, min: number): number {
  const v = raw[key];
  if (v === undefined || v.trim() === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`Invalid value ${v} for worker property ${key}: must be an integer >= ${min}`);
  return n;
}

function listSetting(raw: Readonly<Record<string, string>>, key: string): string[] {
  return (raw[key] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** Worker properties of the serving layer (`kappa.model.*`); throws naming the key of an invalid value. */
export function servingSettings(raw: Readonly<Record<string, string>>): ServingSettings {
  const cache = raw['kappa.model.cache.dir'];
  const modelDir = path.resolve(raw['kappa.model.dir']?.trim() || 'models');
  let policy: ArtifactPolicy;
  try {
    policy = new ArtifactPolicy({
      fileDirs: [modelDir, ...listSetting(raw, 'kappa.model.file.allowed.dirs').map((d) => path.resolve(d))],
      baseDir: modelDir,
      httpHosts: listSetting(raw, 'kappa.model.http.allowed.hosts'),
      maxRedirects: intSetting(raw, 'kappa.model.http.max.redirects', DEFAULT_MAX_REDIRECTS, 0),
      maxBytes: intSetting(raw, 'kappa.model.artifact.max.bytes', DEFAULT_MAX_ARTIFACT_BYTES, 1),
      timeoutMs: intSetting(raw, 'kappa.model.http.timeout.ms', DEFAULT_HTTP_TIMEOUT_MS, 1),
    });
  } catch (e) {
    if ((e as Error).message.startsWith('Invalid value')) throw e;
    throw new Error(`Invalid value ${raw['kappa.model.http.allowed.hosts']} for worker property kappa.model.http.allowed.hosts: ${(e as Error).message}`);
  }
  return {
    policy,
    topic: raw['kappa.model.topic']?.trim() || DEFAULT_MODEL_TOPIC,
    cacheDir: cache === undefined ? path.resolve('.cache/models') : cache.trim() === '' || cache.trim() === 'none' ? null : path.resolve(cache.trim()),
    poolThreads: intSetting(raw, 'kappa.model.pool.threads', defaultThreads(), 1),
    batchMaxRecords: intSetting(raw, 'kappa.model.batch.max.records', 256, 1),
    batchMaxWaitMs: intSetting(raw, 'kappa.model.batch.max.wait.ms', 2, 0),
    unloadGraceMs: intSetting(raw, 'kappa.model.unload.grace.ms', 30_000, 0),
    artifactTopic: raw['kappa.model.artifact.topic']?.trim() || DEFAULT_ARTIFACT_TOPIC,
    artifactReplicationFactor: replicationSetting(raw, 'kappa.model.artifact.topic.replication.factor', DEFAULT_ARTIFACT_REPLICATION_FACTOR),
    remote: {
      timeoutMs: intSetting(raw, 'kappa.model.remote.timeout.ms', DEFAULT_REMOTE_SETTINGS.timeoutMs, 1),
      retries: intSetting(raw, 'kappa.model.remote.retries', DEFAULT_REMOTE_SETTINGS.retries, 0),
      retryBackoffMs: intSetting(raw, 'kappa.model.remote.retry.backoff.ms', DEFAULT_REMOTE_SETTINGS.retryBackoffMs, 0),
      retryBackoffMaxMs: intSetting(raw, 'kappa.model.remote.retry.backoff.max.ms', DEFAULT_REMOTE_SETTINGS.retryBackoffMaxMs, 0),
      maxInFlight: intSetting(raw, 'kappa.model.remote.max.in.flight', DEFAULT_REMOTE_SETTINGS.maxInFlight, 1),
      batchMaxRecords: intSetting(raw, 'kappa.model.remote.batch.max.records', DEFAULT_REMOTE_SETTINGS.batchMaxRecords, 1),
      circuitFailures: intSetting(raw, 'kappa.model.remote.circuit.failures', DEFAULT_REMOTE_SETTINGS.circuitFailures, 1),
      circuitOpenMs: intSetting(raw, 'kappa.model.remote.circuit.open.ms', DEFAULT_REMOTE_SETTINGS.circuitOpenMs, 0),
    },
  };
}

function replicationSetting(raw: Readonly<Record<string, string>>, key: string, def: number): number {
  const v = raw[key];
  if (v === undefined || v.trim() === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n === 0 || n < -1 || n > 32767) throw new Error(`Invalid value ${v} for worker property ${key}: must be -1 (the broker's default) or a replication factor >= 1`);
  return n;
}

/** The worker's artifact topic, reached through `kafka`. */
export function artifactTopicOf(settings: ServingSettings, kafka: ArtifactTopicKafka, logger?: Logger): ArtifactTopic {
  return new ArtifactTopic({ topic: settings.artifactTopic, replicationFactor: settings.artifactReplicationFactor, kafka, logger });
}

/** Logger name of the shared model catalogs (settable through /admin/loggers). */
export const CATALOG_LOGGER = 'io.kappa.connect.ml.ModelCatalog';

interface Shared {
  readonly catalog: ModelCatalog;
  readonly started: Promise<{ readToEnd(): Promise<void>; stop(): Promise<void> }>;
  refs: number;
}

const catalogs = new Map<string, Shared>();
let pool: InferencePool | undefined;
const usage = new Map<string, Map<string, Set<number>>>(); // model id → connector → task ids
const evaluations = new EvaluationTotals();

/** What a scoring transform needs of a catalog: the version to score with, and its warnings. */
export interface CatalogView {
  resolve(id: string, expiredPolicy?: ExpiredPolicy, missingPolicy?: MissingPolicy): Promise<Resolution>;
  onWarning(listener: CatalogListener): () => void;
  /** a model handed out as ready could not score: report it and load it again (ModelCatalog.recover) */
  recover(model: ServingModel, reason: string): void;
}

export interface CatalogLease {
  readonly catalog: CatalogView;
  release(): Promise<void>;
}

/**
 * Where scoring transforms get catalogs from: in the worker's main thread, the process's own
 * catalogs (below); in a task's worker thread, the main thread's, over its channel
 * (src/ml/serving/remote-hub.ts), so a model is fetched, verified and loaded once per process.
 */
export interface ServingHub {
  acquire(topic: string, ctx: CatalogContext): Promise<CatalogLease>;
  recordUse(connector: string, taskId: number, modelId: string): void;
  dropUses(connector: string, taskId: number): void;
  /** counts of a version scored or evaluated by a task, added to this process's totals */
  recordOutcome(modelId: string, version: string, delta: EvaluationDelta): void;
}

export interface CatalogContext {
  readonly kafka: PluginKafka;
  readonly workerConfig: Readonly<Record<string, string>>;
  readonly logger: Logger;
}

/** The shared catalog of `topic`, read up to the topic's current end. */
export function acquireCatalog(topic: string, ctx: CatalogContext): Promise<CatalogLease> {
  return hub.acquire(topic, ctx);
}

export function recordUse(connector: string, taskId: number, modelId: string): void {
  hub.recordUse(connector, taskId, modelId);
}

export function dropUses(connector: string, taskId: number): void {
  hub.dropUses(connector, taskId);
}

export function recordOutcome(modelId: string, version: string, delta: EvaluationDelta): void {
  hub.recordOutcome(modelId, version, delta);
}

/** Per-version counts and metrics of `modelId` in this process (GET /models/<id>, `evaluation`). */
export function evaluationOf(modelId: string): Record<string, VersionEvaluation> {
  return evaluations.of(modelId);
}

/** The catalog of this process (main thread): the lease keeps the real ModelCatalog. */
export async function acquireLocalCatalog(topic: string, ctx: CatalogContext): Promise<{ readonly catalog: ModelCatalog; release(): Promise<void> }> {
  let shared = catalogs.get(topic);
  if (!shared) {
    const settings = servingSettings(ctx.workerConfig);
    pool ??= new InferencePool({ threads: settings.poolThreads });
    // The catalog serves every scoring task of the process: its lines ("published", "refused",
    // "now serving") get a context of their own, not that of the task that happened to open it.
    // Tasks that use a model also see its problems in their own status (Score's reportWarning).
    const catalogLogger = ctx.logger.forContext?.(CATALOG_LOGGER, `model-catalog ${topic}`) ?? ctx.logger;
    const catalog = new ModelCatalog({
      artifacts: new ArtifactStore({ cacheDir: settings.cacheDir, policy: settings.policy, topic: artifactTopicOf(settings, ctx.kafka, catalogLogger), logger: catalogLogger }),
      backends: {
        onnx: new OnnxBackend(pool, { maxBatchRecords: settings.batchMaxRecords, maxWaitMs: settings.batchMaxWaitMs }),
        linear: new LinearBackend(),
        // remote endpoints follow the same allowed hosts as artifact downloads
        remote: new OipBackend(settings.policy, settings.remote, catalogLogger),
      },
      logger: catalogLogger,
      unloadGraceMs: settings.unloadGraceMs,
    });
    const started = (async () => {
      await ctx.kafka.ensureTopic(topic, { partitions: 1, compact: true });
      return ctx.kafka.followTopics([topic], (r) => catalog.apply(r.key, r.value, { partition: r.partition, offset: r.offset }));
    })();
    shared = { catalog, started, refs: 0 };
    catalogs.set(topic, shared);
  }
  shared.refs++;
  const mine = shared;
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    mine.refs--;
    if (mine.refs > 0) return;
    if (catalogs.get(topic) === mine) catalogs.delete(topic);
    // decide synchronously: a catalog created while this one closes must get a fresh pool
    const closingPool = catalogs.size === 0 ? pool : undefined;
    if (closingPool) pool = undefined;
    await mine.started.then((f) => f.stop()).catch(() => undefined);
    await mine.catalog.close();
    await closingPool?.close().catch(() => undefined);
  };
  try {
    const follower = await shared.started;
    await follower.readToEnd();
  } catch (e) {
    if (catalogs.get(topic) === mine && mine.refs === 1) catalogs.delete(topic); // let the next task try again
    await release();
    throw e;
  }
  return { catalog: shared.catalog, release };
}

/** The catalog of `topic` in this process, if a scoring task has one open. */
export function peekCatalog(topic: string): ModelCatalog | undefined {
  return catalogs.get(topic)?.catalog;
}

function recordLocalUse(connector: string, taskId: number, modelId: string): void {
  let byConnector = usage.get(modelId);
  if (!byConnector) usage.set(modelId, (byConnector = new Map()));
  let tasks = byConnector.get(connector);
  if (!tasks) byConnector.set(connector, (tasks = new Set()));
  tasks.add(taskId);
}

function dropLocalUses(connector: string, taskId: number): void {
  for (const [modelId, byConnector] of usage) {
    const tasks = byConnector.get(connector);
    if (!tasks) continue;
    tasks.delete(taskId);
    if (tasks.size === 0) byConnector.delete(connector);
    if (byConnector.size === 0) usage.delete(modelId);
  }
}

/** Connectors of this process that scored with (or are configured for) `modelId`. */
export function usersOf(modelId: string): string[] {
  return [...(usage.get(modelId)?.keys() ?? [])].sort();
}

export const localHub: ServingHub = {
  acquire: (topic, ctx) => acquireLocalCatalog(topic, ctx),
  recordUse: recordLocalUse,
  dropUses: dropLocalUses,
  recordOutcome: (modelId, version, delta) => evaluations.add(modelId, version, delta),
};

let hub: ServingHub = localHub;

/** A task thread installs the hub that reaches the main thread's catalogs. */
export function installServingHub(h: ServingHub): void {
  hub = h;
}
