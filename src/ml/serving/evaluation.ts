/**
 * Online evaluation of served versions: predictions wait in a bounded store keyed by event id
 * until their label arrives (a label record `{id, label}`), then count towards the metrics of the
 * version that made them: accuracy for classifiers, mean absolute error for regressors.
 *
 * `PendingPredictions` lives in one scoring task (labels are joined where the events were scored);
 * `EvaluationTotals` adds up what the tasks of a worker process report, per model and version,
 * for GET /models/<id>.
 */

/** One version's prediction for one event. */
export interface VersionPrediction {
  readonly modelId: string;
  readonly version: string;
  readonly kind: 'classifier' | 'regressor';
  /** the label (classifiers) or the value (regressors) */
  readonly predicted: number | string | null;
}

export interface PendingOptions {
  /** most events waiting for their label; the oldest is dropped beyond */
  readonly maxEvents: number;
  /** how long an event waits for its label (ms since it was scored); 0 = until dropped for room */
  readonly ttlMs: number;
  readonly now?: () => number;
}

interface Pending {
  readonly at: number;
  readonly predictions: readonly VersionPrediction[];
}

/**
 * Events waiting for their label, oldest first (a Map keeps insertion order, and an event scored
 * again is moved to the end), so expiry and eviction only ever look at the front.
 */
export class PendingPredictions {
  private readonly entries = new Map<string, Pending>();
  private readonly now: () => number;
  /** events dropped unlabelled: their wait was over (expired) or room was needed (evicted) */
  expired = 0;
  evicted = 0;

  constructor(private readonly options: PendingOptions) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Keeps the predictions of event `id` until its label comes (a later put for the same id replaces them). */
  put(id: string, predictions: readonly VersionPrediction[]): void {
    const now = this.now();
    this.expire(now);
    this.entries.delete(id);
    this.entries.set(id, { at: now, predictions });
    while (this.entries.size > this.options.maxEvents) {
      this.entries.delete(this.entries.keys().next().value!);
      this.evicted++;
    }
  }

  /** The predictions waiting for `id`'s label, removed; undefined when none (never scored, expired, dropped, or labelled already). */
  take(id: string): readonly VersionPrediction[] | undefined {
    this.expire(this.now());
    const p = this.entries.get(id);
    if (!p) return undefined;
    this.entries.delete(id);
    return p.predictions;
  }

  private expire(now: number): void {
    if (this.options.ttlMs <= 0) return;
    for (const [id, p] of this.entries) {
      if (now - p.at < this.options.ttlMs) break;
      this.entries.delete(id);
      this.expired++;
    }
  }
}

/** What one task adds to a version's counts (deltas). */
export interface EvaluationDelta {
  /** records scored (emitted or shadow) */
  readonly scored?: number;
  /** labels joined to a prediction of this version */
  readonly labels?: number;
  /** of those, classifier predictions equal to the label */
  readonly correct?: number;
  /** of those, the sum of |value - label| of regressor predictions */
  readonly absError?: number;
  readonly kind?: 'classifier' | 'regressor';
}

/** A version's metrics as GET /models/<id> shows them under `evaluation`. */
export interface VersionEvaluation {
  scored: number;
  labels: number;
  accuracy?: number;
  mae?: number;
}

interface Counts {
  scored: number;
  labels: number;
  correct: number;
  absError: number;
  kind?: 'classifier' | 'regressor';
}

/** The outcome of a label compared with a prediction, as a delta for the prediction's version. */
export function labelOutcome(p: VersionPrediction, label: number | string): EvaluationDelta {
  if (p.kind === 'regressor') {
    const err = typeof p.predicted === 'number' && typeof label === 'number' ? Math.abs(p.predicted - label) : NaN;
    return { labels: 1, absError: err, kind: 'regressor' };
  }
  // labels compare as text: an int64 class 2 and a JSON label "2" are the same class
  return { labels: 1, correct: p.predicted !== null && String(p.predicted) === String(label) ? 1 : 0, kind: 'classifier' };
}

/** Per model and version counts of one worker process, since it started. */
export class EvaluationTotals {
  private readonly models = new Map<string, Map<string, Counts>>();

  add(modelId: string, version: string, d: EvaluationDelta): void {
    let versions = this.models.get(modelId);
    if (!versions) this.models.set(modelId, (versions = new Map()));
    let c = versions.get(version);
    if (!c) versions.set(version, (c = { scored: 0, labels: 0, correct: 0, absError: 0 }));
    c.scored += d.scored ?? 0;
    c.labels += d.labels ?? 0;
    c.correct += d.correct ?? 0;
    c.absError += d.absError ?? 0;
    if (d.kind) c.kind = d.kind;
  }

  /** `{"<version>": {scored, labels, accuracy | mae}}`; accuracy/mae only once labels were joined. */
  of(modelId: string): Record<string, VersionEvaluation> {
    const out: Record<string, VersionEvaluation> = {};
    for (const [version, c] of this.models.get(modelId) ?? []) {
      const e: VersionEvaluation = { scored: c.scored, labels: c.labels };
      if (c.labels > 0 && c.kind === 'classifier') e.accuracy = c.correct / c.labels;
      if (c.labels > 0 && c.kind === 'regressor') e.mae = c.absError / c.labels;
      out[version] = e;
    }
    return out;
  }
}
