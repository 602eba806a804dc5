/**
 * Scoring from a task's worker thread with the main thread's catalogs: one catalog per control
 * topic per process, each model version fetched, verified and loaded once, whatever thread scores
 * with it. The thread asks the main thread which version to use (per batch, so a swap reaches it at
 * the next batch) and sends its rows there; the main thread scores them in the inference pool and
 * sends the prediction back (both directions transfer the typed arrays instead of copying them).
 *
 *   thread                         main thread
 *   ServingHub.acquire  ─────────► catalogServer: acquireLocalCatalog(topic)
 *   resolve(id) per batch ───────► catalog.resolve → a description of the version
 *   model.score(rows)   ─────────► the version's ServingModel.score (InferencePool)
 *   warnings            ◄───────── catalog.onWarning
 */
import type { Channel } from '../../runtime/threads/channel';
import { Transfer } from '../../runtime/threads/channel';
import type { ModelControl } from './control';
import type { ChallengerMode } from './challenger';
import type { ExpiredPolicy, MissingPolicy, Resolution, CatalogListener } from './catalog';
import type { EvaluationDelta } from './evaluation';
import { ModelUnavailableError } from './catalog';
import { ServingError } from './onnx/types';
import type { Prediction, ServingModel } from './backends';
import type { ScoreKind } from './onnx';
import { acquireLocalCatalog, localHub, type CatalogContext, type CatalogLease, type ServingHub } from './hub';

interface ModelDescription {
  readonly key: string;
  readonly id: string;
  readonly version: string;
  readonly control: ModelControl;
  readonly kind: 'classifier' | 'regressor';
  readonly classLabels?: readonly (number | string)[];
  readonly scores?: ScoreKind;
  readonly nFeatures: number;
}

type RemoteResolution =
  | { kind: 'model'; model: ModelDescription; challenger?: { mode: ChallengerMode; share: number; model: ModelDescription } }
  | { kind: 'error'; error: { name: string; message: string } }
  | { kind: 'passthrough'; reason: string };

const modelKey = (m: { id: string; version: string }) => `${m.id}\u0000${m.version}`;

/** Model ids (with their policies) a task thread remembers the resolution of; more are forgotten at once. */
const MAX_REMEMBERED_RESOLUTIONS = 1000;

/** What a score request asks the main thread to resolve again before it scores (see remoteServingHub). */
interface ResolutionCheck {
  readonly lease: number;
  readonly id: string;
  readonly expired: ExpiredPolicy;
  readonly missing: MissingPolicy;
}

function ownsBuffer(a: Float32Array): boolean {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.buffer instanceof ArrayBuffer;
}

/** Main thread: answers one task thread's serving requests with this process's catalogs. */
export function serveCatalogs(channel: Channel, ctx: CatalogContext): { close(): Promise<void> } {
  const leases = new Map<number, { lease: Awaited<ReturnType<typeof acquireLocalCatalog>>; unsubscribe: () => void }>();
  const models = new Map<string, ServingModel>();
  const uses = new Set<string>();
  let nextLease = 1;
  channel.handle('serving.acquire', async (p: { topic: string }) => {
    const lease = await acquireLocalCatalog(p.topic, ctx);
    const id = nextLease++;
    const unsubscribe = lease.catalog.onWarning((modelId, message) => channel.notify('serving.warning', { lease: id, modelId, message }));
    leases.set(id, { lease, unsubscribe });
    return id;
  });
  channel.handle('serving.resolve', async (p: { lease: number; id: string; expired: ExpiredPolicy; missing: MissingPolicy }): Promise<RemoteResolution> => {
    const entry = leases.get(p.lease);
    if (!entry) return { kind: 'error', error: { name: 'ModelUnavailableError', message: 'the model catalog is closed' } };
    const res = await entry.lease.catalog.resolve(p.id, p.expired, p.missing);
    if (res.kind === 'error') return { kind: 'error', error: { name: res.error.name, message: res.error.message } };
    if (res.kind === 'passthrough') return res;
    const describe = (m: ServingModel): ModelDescription => {
      models.set(modelKey(m), m);
      return { key: modelKey(m), id: m.id, version: m.version, control: m.control, kind: m.kind, classLabels: m.classLabels, scores: m.scores, nFeatures: m.nFeatures };
    };
    const ch = res.challenger;
    return { kind: 'model', model: describe(res.model), ...(ch ? { challenger: { mode: ch.mode, share: ch.share, model: describe(ch.model) } } : {}) };
  });
  channel.handle('serving.score', async (p: { key: string; rows: Float32Array; n: number; check?: ResolutionCheck }) => {
    if (p.check) {
      // the thread built the rows for the resolution it had last time: resolve now, as a separate
      // request would have, and score only if the answer is still that version alone
      const entry = leases.get(p.check.lease);
      const res = entry ? await entry.lease.catalog.resolve(p.check.id, p.check.expired, p.check.missing) : undefined;
      if (!res || res.kind !== 'model' || res.challenger || modelKey(res.model) !== p.key) return { changed: true };
      models.set(p.key, res.model);
    }
    const m = models.get(p.key);
    if (!m) throw new ServingError('MODEL_NOT_LOADED', `model ${p.key.replace('\u0000', '@')} is not loaded in this worker`);
    const pred = await m.score(p.rows, p.n);
    const list: ArrayBuffer[] = [];
    if (pred.probabilities && ownsBuffer(pred.probabilities)) list.push(pred.probabilities.buffer as ArrayBuffer);
    if (pred.values && ownsBuffer(pred.values)) list.push(pred.values.buffer as ArrayBuffer);
    return new Transfer(pred, list);
  });
  channel.handle('serving.recover', (p: { lease: number; key: string; reason: string }) => {
    const m = models.get(p.key);
    if (m) leases.get(p.lease)?.lease.catalog.recover(m, p.reason);
    models.delete(p.key);
  });
  channel.handle('serving.release', async (p: { lease: number }) => {
    const entry = leases.get(p.lease);
    leases.delete(p.lease);
    entry?.unsubscribe();
    await entry?.lease.release();
  });
  channel.on('serving.use', (p: { connector: string; taskId: number; modelId: string }) => {
    uses.add(`${p.connector}\u0000${p.taskId}`);
    localHub.recordUse(p.connector, p.taskId, p.modelId);
  });
  channel.on('serving.outcome', (p: { modelId: string; version: string; delta: EvaluationDelta }) => {
    localHub.recordOutcome(p.modelId, p.version, p.delta);
  });
  channel.on('serving.drop', (p: { connector: string; taskId: number }) => {
    uses.delete(`${p.connector}\u0000${p.taskId}`);
    localHub.dropUses(p.connector, p.taskId);
  });
  return {
    // the thread is gone: give back what it held
    close: async () => {
      for (const u of uses) {
        const [connector, task] = u.split('\u0000');
        localHub.dropUses(connector!, Number(task));
      }
      uses.clear();
      const open = [...leases.values()];
      leases.clear();
      models.clear();
      for (const e of open) e.unsubscribe();
      await Promise.allSettled(open.map((e) => e.lease.release()));
    },
  };
}

/** Task thread: the hub whose catalogs live in the main thread. */
export function remoteServingHub(channel: Channel): ServingHub {
  const listeners = new Map<number, Set<CatalogListener>>();
  channel.on('serving.warning', (p: { lease: number; modelId: string; message: string }) => {
    for (const l of listeners.get(p.lease) ?? []) l(p.modelId, p.message);
  });
  const remoteModels = new Map<string, ServingModel>();
  /**
   * The model of a remembered resolution: its score asks the main thread to resolve again first and
   * answers RESOLUTION_CHANGED (after forgetting the resolution) when the catalog's answer moved on.
   */
  const checkedModel = (d: ModelDescription, check: ResolutionCheck, forget: () => void): ServingModel => ({
    ...remoteModel(d),
    score: async (rows: Float32Array, n: number) => {
      const answer = await channel.request<Prediction | { changed: true }>('serving.score', { key: d.key, rows, n, check }, ownsBuffer(rows) ? [rows.buffer as ArrayBuffer] : []);
      if ((answer as { changed?: boolean }).changed) {
        forget();
        throw new ServingError('RESOLUTION_CHANGED', `model ${d.id}: the catalog no longer resolves it to version ${d.version} alone`);
      }
      return answer as Prediction;
    },
  });
  const remoteModel = (d: ModelDescription, alsoKeep?: string): ServingModel => {
    let m = remoteModels.get(d.key);
    if (!m) {
      const created: ServingModel = {
        id: d.id,
        version: d.version,
        control: d.control,
        kind: d.kind,
        classLabels: d.classLabels,
        scores: d.scores,
        nFeatures: d.nFeatures,
        score: (rows: Float32Array, n: number) => channel.request<Prediction>('serving.score', { key: d.key, rows, n }, ownsBuffer(rows) ? [rows.buffer as ArrayBuffer] : []),
        close: async () => undefined,
      };
      // one description per version: older versions of the same model are forgotten (two of a
      // model stay while a challenger scores beside the champion)
      const keep = new Set([d.key, ...(alsoKeep ? [alsoKeep] : [])]);
      for (const [k, other] of remoteModels) if (other.id === d.id && !keep.has(k)) remoteModels.delete(k);
      remoteModels.set(d.key, created);
      m = created;
    }
    return m;
  };
  return {
    acquire: async (topic: string, _ctx: CatalogContext): Promise<CatalogLease> => {
      const lease = await channel.request<number>('serving.acquire', { topic });
      const mine = new Set<CatalogListener>();
      listeners.set(lease, mine);
      // A resolution to one version (no challenger) is remembered per (id, policies): the next batch
      // uses it without a round trip of its own, and its score request has the main thread resolve
      // again first (one round trip per batch instead of two; the answer is as fresh as before).
      const remembered = new Map<string, Resolution>();
      return {
        catalog: {
          resolve: async (id: string, expired: ExpiredPolicy = 'fallback', missing: MissingPolicy = 'error'): Promise<Resolution> => {
            const rk = `${id}\u0000${expired}\u0000${missing}`;
            const known = remembered.get(rk);
            if (known) return known;
            const r = await channel.request<RemoteResolution>('serving.resolve', { lease, id, expired, missing });
            if (r.kind === 'model') {
              const ch = r.challenger;
              const model = remoteModel(r.model, ch?.model.key);
              if (!ch) {
                if (remembered.size >= MAX_REMEMBERED_RESOLUTIONS) remembered.clear();
                remembered.set(rk, { kind: 'model', model: checkedModel(r.model, { lease, id, expired, missing }, () => remembered.delete(rk)) });
              }
              return { kind: 'model', model, ...(ch ? { challenger: { mode: ch.mode, share: ch.share, model: remoteModel(ch.model, r.model.key) } } : {}) };
            }
            if (r.kind === 'error') return { kind: 'error', error: Object.assign(new ModelUnavailableError(r.error.message), { name: r.error.name }) };
            return r;
          },
          onWarning: (l: CatalogListener) => {
            mine.add(l);
            return () => mine.delete(l);
          },
          recover: (model: ServingModel, reason: string) => {
            const key = modelKey(model);
            remoteModels.delete(key);
            remembered.clear();
            void channel.request('serving.recover', { lease, key, reason }).catch(() => undefined);
          },
        },
        release: async () => {
          listeners.delete(lease);
          await channel.request('serving.release', { lease }).catch(() => undefined);
        },
      };
    },
    recordUse: (connector, taskId, modelId) => channel.notify('serving.use', { connector, taskId, modelId }),
    dropUses: (connector, taskId) => channel.notify('serving.drop', { connector, taskId }),
    recordOutcome: (modelId, version, delta) => channel.notify('serving.outcome', { modelId, version, delta }),
  };
}
