/**
 * MicroBatcher: collects requests until `maxBatchSize` records are waiting or the oldest waiting
 * request is `maxWaitMs` old, then hands the whole batch to one `run` call and gives every caller
 * its own result back. Generic: it knows nothing about models or tensors.
 *
 * Semantics
 * - size trigger: a batch is dispatched as soon as it holds >= maxBatchSize records (the size of
 *   a request is `sizeOf(req)`, 1 by default). A request that does not fit in the current batch
 *   dispatches the current batch first; a request larger than maxBatchSize travels alone.
 * - time trigger: the first request of an empty batch arms a timer of maxWaitMs.
 * - `waitOnlyWhenShared`: the timer is armed only while several callers meet, i.e. a request came
 *   while another one waited or ran in the last second. A lone caller that submits one request
 *   after another (one task scoring its batches in order) cannot be joined by anyone: waiting for
 *   company would only add maxWaitMs to every batch, so its requests go at once ("alone").
 * - `run(batch)` must resolve with one result per request, in order. If it rejects, throws, or
 *   returns the wrong number of results, every caller in that batch is rejected with that error.
 * - batches are dispatched without waiting for earlier ones (the consumer of `run` queues), unless
 *   `maxConcurrentBatches` limits them; then full batches wait their turn, in order.
 * - `flush()` dispatches what is waiting now and resolves when everything dispatched so far settled.
 * - `close()` flushes, then rejects later submissions with BATCHER_CLOSED. Idempotent.
 */
import { ServingError } from './types';

export interface MicroBatcherOptions<Req, Res> {
  readonly maxBatchSize: number;
  readonly maxWaitMs: number;
  readonly run: (batch: Req[]) => Promise<Res[]>;
  readonly sizeOf?: (req: Req) => number;
  /** Batches allowed in `run` at once (default: unlimited). */
  readonly maxConcurrentBatches?: number;
  /** Wait for company only while several callers meet (default false: always wait). */
  readonly waitOnlyWhenShared?: boolean;
}

/** How long one sign of several callers (a request meeting another) keeps the batcher waiting for company. */
export const SHARED_MEMORY_MS = 1000;

interface Entry<Req, Res> {
  readonly req: Req;
  readonly size: number;
  resolve(v: Res): void;
  reject(e: unknown): void;
}

export interface MicroBatcherStats {
  readonly batches: number;
  readonly requests: number;
  readonly records: number;
  readonly sizeTriggered: number;
  readonly timeTriggered: number;
  /** batches sent at once because their caller was alone (waitOnlyWhenShared) */
  readonly aloneDispatched: number;
  readonly failedBatches: number;
}

export class MicroBatcher<Req, Res> {
  private readonly opts: Required<Omit<MicroBatcherOptions<Req, Res>, 'maxConcurrentBatches' | 'waitOnlyWhenShared'>> & { maxConcurrentBatches: number; waitOnlyWhenShared: boolean };
  /** when a request last met another one (waiting, or dispatched and not answered yet) */
  private lastSharedAt = Number.NEGATIVE_INFINITY;
  /** requests dispatched whose callers have no answer yet */
  private unanswered = 0;
  private current: Entry<Req, Res>[] = [];
  private currentSize = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly queued: Entry<Req, Res>[][] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly counters = { batches: 0, requests: 0, records: 0, sizeTriggered: 0, timeTriggered: 0, aloneDispatched: 0, failedBatches: 0 };

  constructor(options: MicroBatcherOptions<Req, Res>) {
    if (!(options.maxBatchSize >= 1)) throw new RangeError(`maxBatchSize must be >= 1, got ${options.maxBatchSize}`);
    if (!(options.maxWaitMs >= 0)) throw new RangeError(`maxWaitMs must be >= 0, got ${options.maxWaitMs}`);
    const maxConcurrentBatches = options.maxConcurrentBatches ?? Infinity;
    if (!(maxConcurrentBatches >= 1)) throw new RangeError(`maxConcurrentBatches must be >= 1, got ${maxConcurrentBatches}`);
    this.opts = { sizeOf: () => 1, ...options, maxConcurrentBatches, waitOnlyWhenShared: options.waitOnlyWhenShared ?? false };
  }

  /** Requests (not records) waiting for dispatch, including full batches held back by maxConcurrentBatches. */
  get waiting(): number {
    return this.current.length + this.queued.reduce((n, b) => n + b.length, 0);
  }

  get stats(): MicroBatcherStats {
    return { ...this.counters };
  }

  submit(req: Req): Promise<Res> {
    if (this.closed) return Promise.reject(new ServingError('BATCHER_CLOSED', 'the micro-batcher is closed'));
    let size: number;
    try {
      size = this.opts.sizeOf(req);
    } catch (e) {
      return Promise.reject(e);
    }
    if (!(size >= 0) || !Number.isFinite(size)) return Promise.reject(new RangeError(`sizeOf returned ${size}`));
    return new Promise<Res>((resolve, reject) => {
      const now = Date.now();
      if (this.current.length > 0 || this.unanswered > 0) this.lastSharedAt = now;
      if (this.current.length > 0 && this.currentSize + size > this.opts.maxBatchSize) this.cut('size');
      this.current.push({ req, size, resolve, reject });
      this.currentSize += size;
      if (this.currentSize >= this.opts.maxBatchSize) this.cut('size');
      else if (this.current.length === 1) {
        if (this.opts.waitOnlyWhenShared && now - this.lastSharedAt > SHARED_MEMORY_MS) this.cut('alone');
        else this.arm();
      }
    });
  }

  /** Dispatches the waiting batch now and waits for every dispatched batch to settle. */
  async flush(): Promise<void> {
    if (this.current.length > 0) this.cut(null);
    while (this.inFlight.size > 0 || this.queued.length > 0) {
      await Promise.allSettled([...this.inFlight]);
    }
  }

  close(): Promise<void> {
    this.closed = true;
    this.closing ??= this.flush();
    return this.closing;
  }

  private arm(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.current.length > 0) this.cut('time');
    }, this.opts.maxWaitMs);
  }

  private cut(trigger: 'size' | 'time' | 'alone' | null): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = this.current;
    this.current = [];
    this.currentSize = 0;
    if (trigger === 'size') this.counters.sizeTriggered++;
    else if (trigger === 'time') this.counters.timeTriggered++;
    else if (trigger === 'alone') this.counters.aloneDispatched++;
    this.unanswered += batch.length;
    this.queued.push(batch);
    this.pump();
  }

  private pump(): void {
    while (this.queued.length > 0 && this.inFlight.size < this.opts.maxConcurrentBatches) {
      const batch = this.queued.shift()!;
      const p = this.dispatch(batch).finally(() => {
        this.inFlight.delete(p);
        this.pump();
      });
      this.inFlight.add(p);
    }
  }

  private async dispatch(batch: Entry<Req, Res>[]): Promise<void> {
    this.counters.batches++;
    this.counters.requests += batch.length;
    for (const e of batch) this.counters.records += e.size;
    let results: Res[];
    try {
      results = await this.opts.run(batch.map((e) => e.req));
      if (!Array.isArray(results) || results.length !== batch.length) {
        throw new Error(`micro-batch run returned ${Array.isArray(results) ? results.length : typeof results} results for ${batch.length} requests`);
      }
    } catch (e) {
      this.counters.failedBatches++;
      this.unanswered -= batch.length;
      for (const entry of batch) entry.reject(e);
      return;
    }
    this.unanswered -= batch.length;
    batch.forEach((entry, i) => entry.resolve(results[i]!));
  }
}
