/**
 * InferencePool: ONNX inference off the event loop.
 *
 * N worker threads each hold one InferenceSession per loaded (model id, version). A model is
 * loaded into every worker (model bytes are shared with them through one SharedArrayBuffer, not
 * copied per thread), and each `run` goes to the worker with the fewest requests in flight.
 * Input rows can be transferred to the worker, result tensors are transferred back.
 *
 * An idle pool does not keep the process alive; `close()` drains in-flight work, releases every
 * session and stops the threads (idempotent). A worker that dies is replaced and its models are
 * loaded again; only the requests it had in flight fail.
 */
import * as os from 'os';
import type { Worker } from 'worker_threads';
import { spawnModuleWorker } from '../../../runtime/threads/spawn';
import type { WorkerInit, WorkerReply, WorkerRequest, WorkerResult } from './protocol';
import type { SessionTuning } from './session';
import { LoadOptions, ModelInfo, ModelKey, Prediction, ServingError, deserializeError, isPlainArrayBuffer, keyString, slotKey } from './types';

export interface InferencePoolOptions extends SessionTuning {
  /** Worker threads (default: cores - 1, at least 1). */
  readonly threads?: number;
  /** How long close() waits for a worker to finish before terminating it (default 5000 ms). */
  readonly closeTimeoutMs?: number;
}

export interface RunOptions {
  /**
   * Hand the rows' buffer over to the worker instead of copying it (the caller's Float32Array is
   * detached afterwards). Only when the array spans its whole ArrayBuffer; otherwise it is copied.
   */
  readonly transfer?: boolean;
}

type Request = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

interface Pending {
  resolve(v: WorkerResult): void;
  reject(e: Error): void;
}

interface Slot {
  readonly index: number;
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
  /**
   * Set while a replacement worker is loading the registered models; undefined when ready.
   * Requests to a ready worker are posted synchronously, so a run issued before an unload or a
   * close reaches the worker first.
   */
  ready: Promise<void> | undefined;
  exited: boolean;
  readonly exit: Promise<void>;
}

interface Registered {
  readonly key: ModelKey;
  readonly bytes: Uint8Array;
  readonly options: LoadOptions;
  readonly info: ModelInfo;
}

function spawnWorker(init: WorkerInit): Worker {
  return spawnModuleWorker(__dirname, 'worker', init);
}

export function defaultThreads(): number {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, cores - 1);
}

export class InferencePool {
  private readonly slots: Slot[] = [];
  private readonly models = new Map<string, Registered>();
  private readonly init: WorkerInit;
  private readonly closeTimeoutMs: number;
  private nextId = 1;
  private closing: Promise<void> | undefined;

  constructor(options: InferencePoolOptions = {}) {
    const threads = options.threads ?? defaultThreads();
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${threads}`);
    const tuning: { -readonly [K in keyof SessionTuning]: SessionTuning[K] } = {};
    if (options.intraOpNumThreads !== undefined) tuning.intraOpNumThreads = options.intraOpNumThreads;
    if (options.logSeverityLevel !== undefined) tuning.logSeverityLevel = options.logSeverityLevel;
    this.init = { tuning };
    this.closeTimeoutMs = options.closeTimeoutMs ?? 5000;
    for (let i = 0; i < threads; i++) this.slots.push(this.startSlot(i));
  }

  get threads(): number {
    return this.slots.length;
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Info of a loaded model, or undefined. */
  info(key: ModelKey): ModelInfo | undefined {
    return this.models.get(slotKey(key))?.info;
  }

  /** All loaded models. */
  loaded(): ModelInfo[] {
    return [...this.models.values()].map((m) => m.info);
  }

  /**
   * Loads (or replaces) a model in every worker. Resolves with what the model looks like once
   * ZipMap outputs have been turned into tensors; rejects with a ServingError (MODEL_INVALID,
   * MODEL_UNSUPPORTED, MODEL_INPUT_MISMATCH) if the model cannot be served. On failure the
   * previously loaded model under the same key, if any, keeps serving.
   */
  async load(key: ModelKey, bytes: Uint8Array, options: LoadOptions = {}): Promise<ModelInfo> {
    this.assertOpen();
    // One shared copy for all workers (the caller keeps its own bytes).
    const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
    shared.set(bytes);
    const results = await Promise.allSettled(
      this.slots.map(async (slot) => {
        if (slot.ready) await slot.ready;
        return (await this.send(slot, { op: 'load', key, bytes: shared, options })) as ModelInfo;
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      const prev = this.models.get(slotKey(key));
      // Put the previous version back where the new one did load, or drop the half-loaded model.
      await Promise.allSettled(
        this.slots.map((slot, i) =>
          results[i]!.status === 'fulfilled'
            ? prev
              ? this.send(slot, { op: 'load', key, bytes: prev.bytes, options: prev.options })
              : this.send(slot, { op: 'unload', key })
            : Promise.resolve(null),
        ),
      );
      throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
    }
    const info = (results[0] as PromiseFulfilledResult<ModelInfo>).value;
    this.models.set(slotKey(key), { key, bytes: shared, options, info });
    return info;
  }

  /**
   * Scores `nRows` rows of `nFeatures` float32 features (row-major). Rejects with
   * MODEL_NOT_LOADED, MODEL_INPUT_MISMATCH (row width does not fit the model's input),
   * BAD_REQUEST, INFERENCE_FAILED, WORKER_FAILED or POOL_CLOSED.
   */
  async run(key: ModelKey, rows: Float32Array, nRows: number, nFeatures: number, options: RunOptions = {}): Promise<Prediction> {
    this.assertOpen();
    const model = this.models.get(slotKey(key));
    if (!model) throw new ServingError('MODEL_NOT_LOADED', `model ${keyString(key)} is not loaded`);
    const info = model.info;
    if (info.nFeatures !== null && info.nFeatures !== nFeatures) {
      const input = info.inputs[0]!;
      throw new ServingError(
        'MODEL_INPUT_MISMATCH',
        `model ${keyString(key)} expects ${info.nFeatures} features per row on input '${input.name}' ` +
          `(float32 [N, ${info.nFeatures}]), but the request has ${nFeatures}`,
      );
    }
    if (!Number.isInteger(nRows) || nRows < 0 || rows.length !== nRows * nFeatures) {
      throw new ServingError('BAD_REQUEST', `got ${rows.length} values for ${nRows} rows × ${nFeatures} features`);
    }
    const slot = this.pickSlot();
    if (slot.ready) await slot.ready;
    const whole = isPlainArrayBuffer(rows.buffer) && rows.byteOffset === 0 && rows.byteLength === rows.buffer.byteLength;
    let payload = rows;
    const transfer: ArrayBuffer[] = [];
    if (!whole) payload = rows.slice(); // copy only the view, then move the copy
    if (!whole || options.transfer) transfer.push(payload.buffer as ArrayBuffer);
    return (await this.send(slot, { op: 'run', key, rows: payload, nRows, nFeatures }, transfer)) as Prediction;
  }

  /** Unloads a model from every worker once its in-flight runs finish. Resolves false if unknown. */
  async unload(key: ModelKey): Promise<boolean> {
    this.assertOpen();
    const known = this.models.delete(slotKey(key));
    await Promise.all(this.slots.map((slot) => this.send(slot, { op: 'unload', key }).catch(() => null)));
    return known;
  }

  /** Drains in-flight work, releases all sessions and stops the workers. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.models.clear();
      await Promise.all(
        this.slots.map(async (slot) => {
          if (slot.exited) return;
          const timer = setTimeout(() => void slot.worker.terminate(), this.closeTimeoutMs);
          try {
            await Promise.race([this.send(slot, { op: 'close' }).catch(() => null), slot.exit]);
            await Promise.race([slot.exit, new Promise((r) => setTimeout(r, 200).unref())]);
            if (!slot.exited) await slot.worker.terminate();
            await slot.exit;
          } finally {
            clearTimeout(timer);
          }
        }),
      );
    })();
    return this.closing;
  }

  // -------------------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closing) throw new ServingError('POOL_CLOSED', 'the inference pool is closed');
  }

  private pickSlot(): Slot {
    let best = this.slots[0]!;
    for (const s of this.slots) if (s.pending.size < best.pending.size) best = s;
    return best;
  }

  private send(slot: Slot, req: Request, transfer: ArrayBuffer[] = []): Promise<WorkerResult> {
    if (slot.exited) return Promise.reject(new ServingError('WORKER_FAILED', `inference worker ${slot.index} is not running`));
    const id = this.nextId++;
    return new Promise<WorkerResult>((resolve, reject) => {
      if (slot.pending.size === 0) slot.worker.ref();
      slot.pending.set(id, { resolve, reject });
      try {
        slot.worker.postMessage({ ...req, id } as WorkerRequest, transfer);
      } catch (e) {
        this.settle(slot, id);
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  private settle(slot: Slot, id: number): Pending | undefined {
    const p = slot.pending.get(id);
    slot.pending.delete(id);
    if (slot.pending.size === 0 && !slot.exited) slot.worker.unref();
    return p;
  }

  private startSlot(index: number): Slot {
    const worker = spawnWorker(this.init);
    worker.unref();
    let onExit!: () => void;
    const exit = new Promise<void>((r) => (onExit = r));
    const slot: Slot = { index, worker, pending: new Map(), ready: undefined, exited: false, exit };
    worker.on('message', (reply: WorkerReply) => {
      const p = this.settle(slot, reply.id);
      if (!p) return;
      if (reply.ok) p.resolve(reply.result);
      else p.reject(deserializeError(reply.error));
    });
    let lastError: Error | undefined;
    worker.on('error', (e) => (lastError = e));
    worker.on('exit', (code) => {
      slot.exited = true;
      onExit();
      const failure = this.closing
        ? new ServingError('POOL_CLOSED', 'the inference pool was closed')
        : new ServingError('WORKER_FAILED', `inference worker ${index} exited (code ${code})${lastError ? `: ${lastError.message}` : ''}`);
      for (const p of slot.pending.values()) p.reject(failure);
      slot.pending.clear();
      if (!this.closing) this.replace(slot);
    });
    return slot;
  }

  private replace(dead: Slot): void {
    const slot = this.startSlot(dead.index);
    this.slots[this.slots.indexOf(dead)] = slot;
    const models = [...this.models.values()];
    const ready = Promise.allSettled(models.map((m) => this.send(slot, { op: 'load', key: m.key, bytes: m.bytes, options: m.options })))
      // a model that no longer loads fails its runs with MODEL_NOT_LOADED
      .then(() => {
        if (slot.ready === ready) slot.ready = undefined;
      });
    slot.ready = ready;
  }
}
