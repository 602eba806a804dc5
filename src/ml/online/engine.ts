/**
 * The delayed-feedback learning engine: a learner, a bounded store of pending events (and of
 * feedback that arrived before its event), prequential metrics and counters. Pure and
 * deterministic: no Kafka, no clocks (time is the largest record timestamp seen, "stream time").
 * The learning transform wraps it with record parsing and Kafka persistence; tests drive it
 * directly.
 *
 * Protocol per id:
 * - event (unlabeled): predict with the current model, store {x, served prediction}, return it.
 *   If feedback for the id is already waiting, learn from it right away (after predicting).
 * - feedback (labeled): if the event is stored, learn from its x, score the prediction that was
 *   served for it, drop it. Else, if the feedback carries x, learn from that (prediction = the
 *   model's before the update). Else keep the feedback until its event comes (or expires).
 * Entries expire when stream time passes their timestamp + ttl, and the oldest are evicted when
 * the store is full; both are counted by kind.
 */
import { ClassificationMetrics, RegressionMetrics, type ClassificationMetricsState, type RegressionMetricsState, type ClassificationReport, type RegressionReport } from './metrics';
import { LinearOnlineLearner } from './learner';
import { DriftAdaptiveLearner, type DriftAdaptiveState, type DriftConfig, type DriftEvent, type DriftStatus } from './drift/adaptive';
import type { Label, LearnerConfig, LearnerState, OnlineLearner, Prediction, ResolvedConfig } from './types';

export interface EngineOptions {
  learner: LearnerConfig | ResolvedConfig;
  /** sliding window of the windowed metrics (events); 0 for none */
  window: number;
  /** most entries (events + early feedback) kept; the oldest is evicted beyond it */
  maxPending: number;
  /** entries older than stream time − ttl expire; 0 = never */
  ttlMs: number;
  /** drift detection and adaptation; none when left out */
  drift?: DriftConfig;
}

export interface PendingEvent {
  kind: 'event';
  x: number[];
  /** what was served for this event: label (classification) or value (regression) */
  served: Label;
  ts: number;
  seq: number;
}

export interface PendingFeedback {
  kind: 'feedback';
  y: Label;
  ts: number;
  seq: number;
}

export type PendingEntry = PendingEvent | PendingFeedback;

export interface EngineCounters {
  /** unlabeled events seen */
  events: number;
  /** labeled records seen */
  feedback: number;
  /** labels learned (each at most once) */
  learned: number;
  /** of which: matched a stored event */
  learnedFromStore: number;
  /** of which: the event came after its feedback (early feedback matched on arrival) */
  learnedFromEarlyFeedback: number;
  /** of which: no stored event, learned from the features the feedback carried */
  learnedFromFeedbackFeatures: number;
  /** labels that arrived before their event and were stored */
  earlyFeedback: number;
  duplicateEvents: number;
  duplicateFeedback: number;
  expiredEvents: number;
  expiredFeedback: number;
  evictedEvents: number;
  evictedFeedback: number;
  /** learned records whose served prediction was wrong (classification) */
  mistakes: number;
  /** updates that changed parameters */
  updates: number;
}

export function emptyCounters(): EngineCounters {
  return {
    events: 0, feedback: 0, learned: 0, learnedFromStore: 0, learnedFromEarlyFeedback: 0, learnedFromFeedbackFeatures: 0,
    earlyFeedback: 0, duplicateEvents: 0, duplicateFeedback: 0, expiredEvents: 0, expiredFeedback: 0,
    evictedEvents: 0, evictedFeedback: 0, mistakes: 0, updates: 0,
  };
}

export interface EventOutcome {
  prediction: Prediction;
  /** set when waiting feedback was learned on arrival */
  learned?: LearnOutcome;
}

export interface LearnOutcome {
  status: 'learned';
  source: 'store' | 'early-feedback' | 'feedback-features';
  label: Label;
  /** what was served for the event (or the model's prediction just before the update) */
  served: Label;
  loss: number;
  mistake: boolean;
  updated: boolean;
  /** the model's prediction for the same x after the update */
  corrected: Prediction;
  /** set when this label raised a drift warning or a drift */
  drift?: DriftNotice;
}

/** A warning or drift with what the windowed metric was just before this label. */
export interface DriftNotice extends DriftEvent {
  detector: string;
  /** windowed accuracy (regression: MAE) over the labels before this one; null without a window */
  windowedBefore: number | null;
}

export type FeedbackOutcome = LearnOutcome | { status: 'waiting' };

export interface EngineState {
  format: 'kappa-learn-engine';
  version: 1;
  learner: LearnerState;
  metrics: ClassificationMetricsState | RegressionMetricsState;
  counters: EngineCounters;
  streamTime: number;
  seq: number;
  options: { window: number; maxPending: number; ttlMs: number };
  /** drift detector state, present only while a detector runs (older checkpoints have none) */
  drift?: DriftAdaptiveState;
}

export interface MetricsSnapshot {
  task: string;
  cumulative: ClassificationReport | RegressionReport;
  windowed: ClassificationReport | RegressionReport | null;
  window: number;
}

/** A change of the pending store since the last drain: the entry, or null when it is gone. */
export interface StoreChange {
  id: string;
  entry: PendingEntry | null;
}

export class LearnEngine {
  /** the serving learner and, around it, drift detection (which may replace it) */
  private readonly adaptive: DriftAdaptiveLearner;
  readonly counters: EngineCounters;
  private readonly metrics: ClassificationMetrics | RegressionMetrics;
  private readonly store = new Map<string, PendingEntry>();
  private readonly dirty = new Set<string>();
  /** ids whose entry exists in durable storage (so removing them needs a tombstone) */
  private readonly persisted = new Set<string>();
  private streamTime = -Infinity;
  private seq = 0;
  private readonly classes: Label[] | null;
  private readonly labelByString: Map<string, Label>;
  readonly options: { window: number; maxPending: number; ttlMs: number };

  constructor(opts: EngineOptions, restored?: EngineState) {
    this.options = { window: opts.window, maxPending: opts.maxPending, ttlMs: opts.ttlMs };
    if (restored) {
      if (restored.format !== 'kappa-learn-engine' || restored.version !== 1) throw new Error('not a kappa-learn-engine v1 state');
      this.adaptive = new DriftAdaptiveLearner(LinearOnlineLearner.fromState(restored.learner), opts.drift, restored.drift ?? null);
      this.metrics = restored.metrics.kind === 'classification'
        ? ClassificationMetrics.fromState(restored.metrics)
        : RegressionMetrics.fromState(restored.metrics);
      this.counters = { ...emptyCounters(), ...restored.counters };
      this.streamTime = restored.streamTime === null ? -Infinity : restored.streamTime;
      this.seq = restored.seq;
    } else {
      this.adaptive = new DriftAdaptiveLearner(new LinearOnlineLearner(opts.learner), opts.drift);
      const c = this.learner.config;
      this.metrics = c.task === 'regression' ? new RegressionMetrics(opts.window) : new ClassificationMetrics(c.classes as Label[], opts.window);
      this.counters = emptyCounters();
    }
    this.classes = this.learner.config.classes;
    this.labelByString = new Map((this.classes ?? []).map((l) => [String(l), l]));
  }

  /** The learner that serves now (drift adaptation may have replaced the first one). */
  get learner(): LinearOnlineLearner {
    return this.adaptive.learner;
  }

  get config(): Readonly<ResolvedConfig> {
    return this.learner.config;
  }

  /** Drift detection status (detector, action, counts, the last events); null when none runs. */
  driftStatus(): DriftStatus | null {
    return this.adaptive.enabled ? this.adaptive.status() : null;
  }

  /** Warnings and drifts detected so far, for metrics. */
  get driftCounts(): { warnings: number; drifts: number } {
    return { warnings: this.adaptive.warnings, drifts: this.adaptive.drifts };
  }

  get pendingCount(): number {
    return this.store.size;
  }

  pendingByKind(): { events: number; feedback: number } {
    let events = 0;
    for (const e of this.store.values()) if (e.kind === 'event') events++;
    return { events, feedback: this.store.size - events };
  }

  get currentStreamTime(): number | null {
    return Number.isFinite(this.streamTime) ? this.streamTime : null;
  }

  /** Maps a label as it came in a record (number, string, boolean) to the configured class. */
  normalizeLabel(y: unknown): Label {
    if (this.config.task === 'regression') {
      const v = typeof y === 'number' ? y : Number(y);
      if (y === null || y === undefined || y === '' || !Number.isFinite(v)) throw new Error(`regression target must be a finite number, got ${JSON.stringify(y)}`);
      return v;
    }
    const key = typeof y === 'boolean' ? (y ? '1' : '0') : String(y);
    const found = this.labelByString.get(key) ?? (typeof y === 'boolean' ? this.labelByString.get(String(y)) : undefined);
    if (found === undefined) throw new Error(`unknown class label ${JSON.stringify(y)} (classes: ${JSON.stringify(this.classes)})`);
    return found;
  }

  private served(p: Prediction): Label {
    return this.config.task === 'regression' ? (p.value as number) : (p.label as Label);
  }

  private checkX(x: ArrayLike<number>): void {
    const d = this.config.nFeatures;
    if (x.length !== d) throw new Error(`expected ${d} features, got ${x.length}`);
    for (let i = 0; i < d; i++) if (!Number.isFinite(x[i] as number)) throw new Error(`feature ${i} is not a finite number`);
  }

  /** Advances stream time and expires what is too old. */
  private advance(ts: number | null): void {
    if (ts !== null && Number.isFinite(ts) && ts > this.streamTime) this.streamTime = ts;
    if (this.options.ttlMs > 0 && Number.isFinite(this.streamTime)) {
      const limit = this.streamTime - this.options.ttlMs;
      // entries sit in arrival order, which is timestamp order up to producer skew: scan the old end
      for (const [id, e] of this.store) {
        if (e.ts >= limit) break;
        this.remove(id);
        if (e.kind === 'event') this.counters.expiredEvents++;
        else this.counters.expiredFeedback++;
      }
    }
  }

  private put(id: string, entry: PendingEntry): void {
    this.store.delete(id); // a replaced entry moves to the young end
    this.store.set(id, entry);
    this.dirty.add(id);
    while (this.store.size > this.options.maxPending) {
      const [oldId, old] = this.store.entries().next().value as [string, PendingEntry];
      this.remove(oldId);
      if (old.kind === 'event') this.counters.evictedEvents++;
      else this.counters.evictedFeedback++;
    }
  }

  private remove(id: string): void {
    if (this.store.delete(id)) this.dirty.add(id);
  }

  private learn(x: ArrayLike<number>, y: Label, served: Label | undefined, source: LearnOutcome['source']): LearnOutcome {
    const windowedBefore = this.adaptive.enabled ? this.windowedHeadline() : null;
    const { info, event } = this.adaptive.update(x, y, this.counters.learned + 1, this.currentStreamTime);
    const shown = served ?? this.served(info.prediction);
    if (this.metrics instanceof ClassificationMetrics) this.metrics.add(y, shown);
    else this.metrics.add(y as number, shown as number);
    const mistake = this.config.task !== 'regression' && shown !== y;
    const c = this.counters;
    c.learned++;
    if (info.updated) c.updates++;
    if (mistake) c.mistakes++;
    if (source === 'store') c.learnedFromStore++;
    else if (source === 'early-feedback') c.learnedFromEarlyFeedback++;
    else c.learnedFromFeedbackFeatures++;
    const out: LearnOutcome = { status: 'learned', source, label: y, served: shown, loss: info.loss, mistake, updated: info.updated, corrected: this.learner.predict(x) };
    if (event) out.drift = { ...event, detector: this.adaptive.settings.detector, windowedBefore };
    return out;
  }

  /** Windowed accuracy (regression: MAE) now, or null without a window or labels. */
  private windowedHeadline(): number | null {
    if (this.metrics.window === 0) return null;
    const w = this.metrics.windowed() as ClassificationReport & RegressionReport;
    const v = this.config.task === 'regression' ? w.mae : w.accuracy;
    return Number.isFinite(v) ? v : null;
  }

  /** An unlabeled event: predict, remember, and learn at once when its feedback already waits. */
  onEvent(id: string, x: ArrayLike<number>, ts: number | null): EventOutcome {
    this.checkX(x);
    this.advance(ts);
    this.counters.events++;
    const prediction = this.learner.predict(x);
    const existing = this.store.get(id);
    if (existing?.kind === 'feedback') {
      this.remove(id);
      return { prediction, learned: this.learn(x, existing.y, this.served(prediction), 'early-feedback') };
    }
    if (existing) this.counters.duplicateEvents++;
    this.put(id, { kind: 'event', x: Array.from(x), served: this.served(prediction), ts: ts ?? this.streamTime, seq: this.seq++ });
    return { prediction };
  }

  /** A label for `id` (with the event's features when the feedback carries them). */
  onFeedback(id: string, label: unknown, x: ArrayLike<number> | null, ts: number | null): FeedbackOutcome {
    const y = this.normalizeLabel(label);
    if (x) this.checkX(x);
    this.advance(ts);
    this.counters.feedback++;
    const existing = this.store.get(id);
    if (existing?.kind === 'event') {
      this.remove(id);
      return this.learn(existing.x, y, existing.served, 'store');
    }
    if (x) return this.learn(x, y, undefined, 'feedback-features');
    if (existing) this.counters.duplicateFeedback++;
    else this.counters.earlyFeedback++;
    this.put(id, { kind: 'feedback', y, ts: ts ?? this.streamTime, seq: this.seq++ });
    return { status: 'waiting' };
  }

  metricsSnapshot(): MetricsSnapshot {
    const m = this.metrics;
    return {
      task: this.config.task,
      cumulative: m.cumulative(),
      windowed: m.window > 0 ? m.windowed() : null,
      window: m.window,
    };
  }

  toState(): EngineState {
    return {
      format: 'kappa-learn-engine',
      version: 1,
      learner: this.learner.toState(),
      metrics: this.metrics.toState(),
      counters: { ...this.counters },
      streamTime: Number.isFinite(this.streamTime) ? this.streamTime : (null as unknown as number),
      seq: this.seq,
      options: { ...this.options },
      ...(this.adaptive.enabled ? { drift: this.adaptive.toState()! } : {}),
    };
  }

  /** Pending entries in store order (oldest first). */
  entries(): [string, PendingEntry][] {
    return [...this.store];
  }

  /** Loads durable entries (any order; sorted by seq) and marks them persisted. */
  restoreEntries(entries: Iterable<[string, PendingEntry]>): void {
    const list = [...entries].sort((a, b) => a[1].seq - b[1].seq);
    for (const [id, e] of list) {
      this.store.set(id, e);
      this.persisted.add(id);
    }
  }

  /** Marks ids as present in durable storage with possibly wrong content: rewrite them next drain. */
  markStale(ids: Iterable<string>): void {
    for (const id of ids) {
      this.persisted.add(id);
      this.dirty.add(id);
    }
  }

  get hasChanges(): boolean {
    return this.dirty.size > 0;
  }

  /**
   * The store changes since the last drain: upserts for present ids, tombstones for removed ids
   * that were persisted (ids added and removed in between need nothing).
   */
  drainChanges(): StoreChange[] {
    const out: StoreChange[] = [];
    for (const id of this.dirty) {
      const e = this.store.get(id);
      if (e) {
        out.push({ id, entry: e });
        this.persisted.add(id);
      } else if (this.persisted.has(id)) {
        out.push({ id, entry: null });
        this.persisted.delete(id);
      }
    }
    this.dirty.clear();
    return out;
  }
}
