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
import { ArtifactStore } from './artifacts';
import { LinearBackend, OnnxBackend, RemoteBackend } from './backends';
import { ModelCatalog } from './catalog';
import { DEFAULT_MODEL_TOPIC } from './control';
import { InferencePool, defaultThreads } from './onnx';

export interface ServingSettings {
  readonly topic: string;
  readonly cacheDir: string | null;
  readonly poolThreads: number;
  readonly batchMaxRecords: number;
  readonly batchMaxWaitMs: number;
  readonly unloadGraceMs: number;
}

function intSetting(raw: Readonly<Record<string, string>>, key: string, def: number, min: number): number {
  const v = raw[key];
  if (v === undefined || v.trim() === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`Invalid value ${v} for worker property ${key}: must be an integer >= ${min}`);
  return n;
}

/** Worker properties of the serving layer (`kappa.model.*`). */
export function servingSettings(raw: Readonly<Record<string, string>>): ServingSettings {
  const cache = raw['kappa.model.cache.dir'];
  return {
    topic: raw['kappa.model.topic']?.trim() || DEFAULT_MODEL_TOPIC,
    cacheDir: cache === undefined ? path.resolve('.cache/models') : cache.trim() === '' || cache.trim() === 'none' ? null : path.resolve(cache.trim()),
    poolThreads: intSetting(raw, 'kappa.model.pool.threads', defaultThreads(), 1),
    batchMaxRecords: intSetting(raw, 'kappa.model.batch.max.records', 256, 1),
    batchMaxWaitMs: intSetting(raw, 'kappa.model.batch.max.wait.ms', 2, 0),
    unloadGraceMs: intSetting(raw, 'kappa.model.unload.grace.ms', 30_000, 0),
  };
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

export interface CatalogLease {
  readonly catalog: ModelCatalog;
  release(): Promise<void>;
}

export interface CatalogContext {
  readonly kafka: PluginKafka;
  readonly workerConfig: Readonly<Record<string, string>>;
  readonly logger: Logger;
}

/** The shared catalog of `topic`, read up to the topic's current end. */
export async function acquireCatalog(topic: string, ctx: CatalogContext): Promise<CatalogLease> {
  let shared = catalogs.get(topic);
  if (!shared) {
    const settings = servingSettings(ctx.workerConfig);
    pool ??= new InferencePool({ threads: settings.poolThreads });
    const catalog = new ModelCatalog({
      artifacts: new ArtifactStore({ cacheDir: settings.cacheDir }),
      backends: {
        onnx: new OnnxBackend(pool, { maxBatchRecords: settings.batchMaxRecords, maxWaitMs: settings.batchMaxWaitMs }),
        linear: new LinearBackend(),
        remote: new RemoteBackend(),
      },
      // The catalog serves every scoring task of the process: its lines ("published", "refused",
      // "now serving") get a context of their own, not that of the task that happened to open it.
      // Tasks that use a model also see its problems in their own status (Score's reportWarning).
      logger: ctx.logger.forContext?.(CATALOG_LOGGER, `model-catalog ${topic}`) ?? ctx.logger,
      unloadGraceMs: settings.unloadGraceMs,
    });
    const started = (async () => {
      await ctx.kafka.ensureTopic(topic, { partitions: 1, compact: true });
      return ctx.kafka.followTopics([topic], (r) => catalog.apply(r.key, r.value));
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

export function recordUse(connector: string, taskId: number, modelId: string): void {
  let byConnector = usage.get(modelId);
  if (!byConnector) usage.set(modelId, (byConnector = new Map()));
  let tasks = byConnector.get(connector);
  if (!tasks) byConnector.set(connector, (tasks = new Set()));
  tasks.add(taskId);
}

export function dropUses(connector: string, taskId: number): void {
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
