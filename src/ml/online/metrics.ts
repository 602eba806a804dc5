/**
 * Prequential (test-then-train) metrics, cumulative and over a sliding window of the last N
 * events. Classification keeps a confusion matrix (plus one for the window, decremented when an
 * event leaves it); regression keeps sums of |e|, e^2, y and y^2.
 *
 * Conventions: binary precision/recall/F1 take classes[1] as the positive class; multiclass
 * reports macro averages (unweighted mean of per-class values, F1 averaged per class, not the F1 of
 * the macro precision and recall). A ratio with a zero denominator counts as 0, and every metric of
 * an empty window is NaN.
 */
import { decodeF64, encodeF64 } from './encoding';
import { EncodedArray, Label } from './types';

export interface ClassificationReport {
  n: number;
  accuracy: number;
  /** Binary: of classes[1]; multiclass: macro average. */
  precision: number;
  recall: number;
  f1: number;
}

export interface RegressionReport {
  n: number;
  mae: number;
  rmse: number;
  /** 1 - SSE / SST (SST about the mean of the targets in the same span); NaN when SST = 0. */
  r2: number;
}

class Confusion {
  n = 0;
  readonly m: Float64Array;
  constructor(readonly k: number) {
    this.m = new Float64Array(k * k);
  }
  toState(): { n: number; m: EncodedArray } {
    return { n: this.n, m: encodeF64(this.m) };
  }
  load(s: { n: number; m: EncodedArray }): void {
    this.n = s.n;
    this.m.set(decodeF64(s.m, this.k * this.k));
  }
  add(t: number, p: number, w: number): void {
    this.m[t * this.k + p] = (this.m[t * this.k + p] as number) + w;
    this.n += w;
  }
  report(binary: boolean): ClassificationReport {
    const k = this.k;
    if (this.n === 0) return { n: 0, accuracy: NaN, precision: NaN, recall: NaN, f1: NaN };
    let correct = 0;
    for (let i = 0; i < k; i++) correct += this.m[i * k + i] as number;
    const per = (c: number): [number, number, number] => {
      const tp = this.m[c * k + c] as number;
      let predC = 0;
      let trueC = 0;
      for (let i = 0; i < k; i++) {
        predC += this.m[i * k + c] as number;
        trueC += this.m[c * k + i] as number;
      }
      const p = predC > 0 ? tp / predC : 0;
      const r = trueC > 0 ? tp / trueC : 0;
      const f = p + r > 0 ? (2 * p * r) / (p + r) : 0;
      return [p, r, f];
    };
    let precision: number;
    let recall: number;
    let f1: number;
    if (binary) {
      [precision, recall, f1] = per(1);
    } else {
      precision = 0;
      recall = 0;
      f1 = 0;
      for (let c = 0; c < k; c++) {
        const [p, r, f] = per(c);
        precision += p / k;
        recall += r / k;
        f1 += f / k;
      }
    }
    return { n: this.n, accuracy: correct / this.n, precision, recall, f1 };
  }
}

export class ClassificationMetrics {
  private readonly index: Map<Label, number>;
  private readonly cum: Confusion;
  private readonly win: Confusion | null;
  private readonly ring: Int32Array | null;
  private head = 0;
  private filled = 0;
  private readonly binary: boolean;

  /** classes: the label set (2 labels = binary with classes[1] positive); window: N, 0 for none. */
  constructor(readonly classes: Label[], readonly window = 0) {
    if (classes.length < 2) throw new Error('need at least 2 classes');
    this.index = new Map(classes.map((c, i) => [c, i]));
    this.binary = classes.length === 2;
    this.cum = new Confusion(classes.length);
    this.win = window > 0 ? new Confusion(classes.length) : null;
    this.ring = window > 0 ? new Int32Array(window * 2) : null;
  }

  private idx(l: Label): number {
    const i = this.index.get(l);
    if (i === undefined) throw new Error(`unknown label ${JSON.stringify(l)}`);
    return i;
  }

  add(yTrue: Label, yPred: Label): void {
    const t = this.idx(yTrue);
    const p = this.idx(yPred);
    this.cum.add(t, p, 1);
    if (this.win && this.ring) {
      if (this.filled === this.window) {
        this.win.add(this.ring[this.head * 2] as number, this.ring[this.head * 2 + 1] as number, -1);
      } else {
        this.filled++;
      }
      this.ring[this.head * 2] = t;
      this.ring[this.head * 2 + 1] = p;
      this.head = (this.head + 1) % this.window;
      this.win.add(t, p, 1);
    }
  }

  cumulative(): ClassificationReport {
    return this.cum.report(this.binary);
  }

  windowed(): ClassificationReport {
    if (!this.win) throw new Error('no window configured');
    return this.win.report(this.binary);
  }

  /** Exact, JSON-safe snapshot (confusion matrices and the window ring). */
  toState(): ClassificationMetricsState {
    return {
      kind: 'classification',
      classes: [...this.classes],
      window: this.window,
      cumulative: this.cum.toState(),
      windowed: this.win ? this.win.toState() : null,
      ring: this.ring ? Array.from(this.ring) : null,
      head: this.head,
      filled: this.filled,
    };
  }

  static fromState(s: ClassificationMetricsState): ClassificationMetrics {
    if (!s || s.kind !== 'classification') throw new Error('not a classification metrics state');
    const m = new ClassificationMetrics(s.classes, s.window);
    m.cum.load(s.cumulative);
    if (m.win && s.windowed) m.win.load(s.windowed);
    if (m.ring && s.ring) m.ring.set(s.ring);
    m.head = s.head;
    m.filled = s.filled;
    return m;
  }
}

export interface ClassificationMetricsState {
  kind: 'classification';
  classes: Label[];
  window: number;
  cumulative: { n: number; m: EncodedArray };
  windowed: { n: number; m: EncodedArray } | null;
  ring: number[] | null;
  head: number;
  filled: number;
}

type RegSumsState = [number, number, number, number, number];

export interface RegressionMetricsState {
  kind: 'regression';
  window: number;
  cumulative: RegSumsState;
  windowed: RegSumsState | null;
  ring: EncodedArray | null;
  head: number;
  filled: number;
}

class RegSums {
  n = 0;
  abs = 0;
  sq = 0;
  y = 0;
  y2 = 0;
  add(y: number, e: number, w: number): void {
    this.n += w;
    this.abs += w * Math.abs(e);
    this.sq += w * e * e;
    this.y += w * y;
    this.y2 += w * y * y;
  }
  toState(): RegSumsState {
    return [this.n, this.abs, this.sq, this.y, this.y2];
  }
  load(s: RegSumsState): void {
    [this.n, this.abs, this.sq, this.y, this.y2] = s;
  }
  report(): RegressionReport {
    if (this.n === 0) return { n: 0, mae: NaN, rmse: NaN, r2: NaN };
    const sst = this.y2 - (this.y * this.y) / this.n;
    return { n: this.n, mae: this.abs / this.n, rmse: Math.sqrt(Math.max(0, this.sq) / this.n), r2: sst > 0 ? 1 - this.sq / sst : NaN };
  }
}

export class RegressionMetrics {
  private readonly cum = new RegSums();
  private readonly win: RegSums | null;
  private readonly ring: Float64Array | null;
  private head = 0;
  private filled = 0;

  constructor(readonly window = 0) {
    this.win = window > 0 ? new RegSums() : null;
    this.ring = window > 0 ? new Float64Array(window * 2) : null;
  }

  add(yTrue: number, yPred: number): void {
    const e = yPred - yTrue;
    this.cum.add(yTrue, e, 1);
    if (this.win && this.ring) {
      if (this.filled === this.window) this.win.add(this.ring[this.head * 2] as number, this.ring[this.head * 2 + 1] as number, -1);
      else this.filled++;
      this.ring[this.head * 2] = yTrue;
      this.ring[this.head * 2 + 1] = e;
      this.head = (this.head + 1) % this.window;
      this.win.add(yTrue, e, 1);
    }
  }

  cumulative(): RegressionReport {
    return this.cum.report();
  }

  /** Windowed sums are kept incrementally, so they carry float round-off of order 1e-12 relative. */
  windowed(): RegressionReport {
    if (!this.win) throw new Error('no window configured');
    return this.win.report();
  }

  /** Exact, JSON-safe snapshot. */
  toState(): RegressionMetricsState {
    return {
      kind: 'regression',
      window: this.window,
      cumulative: this.cum.toState(),
      windowed: this.win ? this.win.toState() : null,
      ring: this.ring ? encodeF64(this.ring) : null,
      head: this.head,
      filled: this.filled,
    };
  }

  static fromState(s: RegressionMetricsState): RegressionMetrics {
    if (!s || s.kind !== 'regression') throw new Error('not a regression metrics state');
    const m = new RegressionMetrics(s.window);
    m.cum.load(s.cumulative);
    if (m.win && s.windowed) m.win.load(s.windowed);
    if (m.ring && s.ring) m.ring.set(decodeF64(s.ring, m.ring.length));
    m.head = s.head;
    m.filled = s.filled;
    return m;
  }
}

/**
 * Drift recovery: given a per-event series (e.g. windowed accuracy after each event) and the index
 * of the first post-drift event, the number of events after the drift until the series is again
 * >= reference - tolerance, where reference is the series value just before the drift.
 * Returns -1 if it never recovers. The search starts once the series has dipped below the
 * threshold (a drift that never hurts recovers in 0 events).
 */
export function recoveryEvents(series: ArrayLike<number>, driftAt: number, tolerance: number, reference?: number): number {
  const ref = reference ?? (series[driftAt - 1] as number);
  const threshold = ref - tolerance;
  let dipped = false;
  for (let t = driftAt; t < series.length; t++) {
    const v = series[t] as number;
    if (!dipped) {
      if (v < threshold) dipped = true;
      continue;
    }
    if (v >= threshold) return t - driftAt + 1;
  }
  return dipped ? -1 : 0;
}
