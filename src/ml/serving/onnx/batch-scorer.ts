/**
 * BatchScorer: a MicroBatcher in front of one model of an InferencePool. Callers score a few rows
 * each; their rows are packed into one Float32Array (the only copy), moved to the worker, scored
 * with one session.run, and every caller gets views into the shared result buffers.
 */
import { MicroBatcher, MicroBatcherStats } from './micro-batcher';
import type { InferencePool } from './pool';
import { ModelKey, Prediction, ServingError } from './types';

export interface ScoreRequest {
  readonly rows: Float32Array;
  readonly nRows: number;
}

export interface BatchScorerOptions {
  /** Rows per model call (default 256). */
  readonly maxBatchRecords?: number;
  /** How long the first waiting row may wait for company (default 2 ms). */
  readonly maxWaitMs?: number;
  /** Model calls in flight at once (default: the pool's thread count). */
  readonly maxConcurrentBatches?: number;
  /** Wait for company only while several callers meet (default true; see MicroBatcher). */
  readonly waitOnlyWhenShared?: boolean;
}

/** Packs requests of `nFeatures` columns into one fresh row-major buffer. */
export function packRows(requests: readonly ScoreRequest[], nFeatures: number): { rows: Float32Array; nRows: number } {
  let nRows = 0;
  for (const r of requests) {
    if (r.rows.length !== r.nRows * nFeatures) {
      throw new ServingError('BAD_REQUEST', `got ${r.rows.length} values for ${r.nRows} rows × ${nFeatures} features`);
    }
    nRows += r.nRows;
  }
  const rows = new Float32Array(nRows * nFeatures);
  let at = 0;
  for (const r of requests) {
    rows.set(r.rows, at);
    at += r.rows.length;
  }
  return { rows, nRows };
}

/** Splits a prediction over consecutive row counts; typed arrays are views, not copies. */
export function splitPrediction(p: Prediction, counts: readonly number[]): Prediction[] {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total !== p.nRows) throw new Error(`cannot split ${p.nRows} rows into ${total}`);
  const out: Prediction[] = [];
  let start = 0;
  for (const n of counts) {
    const end = start + n;
    const part: { -readonly [K in keyof Prediction]: Prediction[K] } = { nRows: n };
    if (p.labels) part.labels = p.labels.slice(start, end) as number[] | string[];
    if (p.probabilities) {
      const k = p.nClasses ?? 0;
      part.probabilities = p.probabilities.subarray(start * k, end * k);
      part.nClasses = k;
    }
    if (p.values) {
      const m = p.valuesPerRow ?? 1;
      part.values = p.values.subarray(start * m, end * m);
      part.valuesPerRow = m;
    }
    out.push(part);
    start = end;
  }
  return out;
}

export class BatchScorer {
  private readonly batcher: MicroBatcher<ScoreRequest, Prediction>;

  constructor(
    private readonly pool: InferencePool,
    readonly key: ModelKey,
    readonly nFeatures: number,
    options: BatchScorerOptions = {},
  ) {
    this.batcher = new MicroBatcher<ScoreRequest, Prediction>({
      maxBatchSize: options.maxBatchRecords ?? 256,
      maxWaitMs: options.maxWaitMs ?? 2,
      maxConcurrentBatches: options.maxConcurrentBatches ?? pool.threads,
      // one task scores its batches one after another: its model calls wait for company only
      // while other tasks (or Score steps) of this process use the same model at the same time
      waitOnlyWhenShared: options.waitOnlyWhenShared ?? true,
      sizeOf: (r) => r.nRows,
      run: async (batch) => {
        const { rows, nRows } = packRows(batch, this.nFeatures);
        const p = await this.pool.run(this.key, rows, nRows, this.nFeatures, { transfer: true });
        return splitPrediction(p, batch.map((r) => r.nRows));
      },
    });
  }

  /** Scores `nRows` rows (row-major, `nFeatures` each) as part of a micro-batch. */
  score(rows: Float32Array, nRows: number): Promise<Prediction> {
    if (rows.length !== nRows * this.nFeatures) {
      return Promise.reject(new ServingError('BAD_REQUEST', `got ${rows.length} values for ${nRows} rows × ${this.nFeatures} features`));
    }
    return this.batcher.submit({ rows, nRows });
  }

  get stats(): MicroBatcherStats {
    return this.batcher.stats;
  }

  flush(): Promise<void> {
    return this.batcher.flush();
  }

  /** Scores what is waiting, then refuses new rows. Does not close the pool. */
  close(): Promise<void> {
    return this.batcher.close();
  }
}
