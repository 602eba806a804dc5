/**
 * ADWIN (ADaptive WINdowing), written from Bifet & Gavaldà, "Learning from Time-Changing Data with
 * Adaptive Windowing" (SDM 2007), in its ADWIN2 form: the window is kept as an exponential
 * histogram, rows of buckets where row i holds buckets summarising 2^i values (their total and
 * their sum of squared deviations), at most `maxBuckets` per row (the paper's M). After each value,
 * every split of the window into an older part W0 (n0 values, mean μ0) and a newer part W1 (n1,
 * μ1) at a bucket boundary is tested with the paper's variance-based bound
 *
 *   ε_cut = sqrt(2/m · σ²_W · ln(2/δ')) + 2/(3m) · ln(2/δ'),   m = 1/(1/n0 + 1/n1),   δ' = δ/n
 *
 * and while some split has |μ0 − μ1| ≥ ε_cut the oldest bucket is dropped. A cut where the newer
 * part has the higher mean (the error rose) is reported as a drift; a cut the other way (the learner
 * got better) only shrinks the window.
 *
 * Our choices (the paper leaves them open): both parts need at least `minSide` values (5) before a
 * split is tested, so a handful of values cannot make a cut; the window is checked after every value.
 * One alarm per change: a change is first detected on little evidence, and the values from before it
 * leave the window over the next cuts, bucket by bucket. Cuts that still drop values older than the
 * last alarm continue that alarm and are not reported again; once the window holds only values from
 * after it, the next rise is a new drift.
 */
import { finiteIn, type DetectorSignal, type DriftDetector } from './detector';

export interface AdwinOptions {
  /** confidence δ of the cut test: smaller is fewer false alarms and slower detection (0.002) */
  delta?: number;
  /** buckets per row before the two oldest merge (the paper's M, 5) */
  maxBuckets?: number;
  /** least number of values on each side of a tested split (5) */
  minSide?: number;
}

export interface AdwinState {
  kind: 'adwin';
  delta: number;
  maxBuckets: number;
  minSide: number;
  /** rows[i] = buckets of 2^i values, oldest first, each [total, sum of squared deviations] */
  rows: [number, number][][];
  width: number;
  total: number;
  variance: number;
  /** values seen since the detector was created (for diagnostics) */
  seen: number;
  /** values since the last reported drift; null before the first */
  sinceAlarm: number | null;
}

export class Adwin implements DriftDetector {
  readonly kind = 'adwin' as const;
  readonly delta: number;
  readonly maxBuckets: number;
  readonly minSide: number;
  private rows: [number, number][][] = [];
  /** number of values in the window */
  private n = 0;
  private total = 0;
  /** sum of squared deviations from the window mean */
  private variance = 0;
  private seen = 0;
  /** values inserted since the last reported drift (Infinity: none yet) */
  private sinceAlarm = Infinity;

  constructor(opts: AdwinOptions = {}) {
    this.delta = finiteIn('ADWIN delta', opts.delta ?? 0.002, 0, 1, true, true);
    this.maxBuckets = opts.maxBuckets ?? 5;
    if (!Number.isInteger(this.maxBuckets) || this.maxBuckets < 2) throw new Error(`ADWIN maxBuckets must be an integer >= 2, got ${this.maxBuckets}`);
    this.minSide = opts.minSide ?? 5;
    if (!Number.isInteger(this.minSide) || this.minSide < 1) throw new Error(`ADWIN minSide must be a positive integer, got ${this.minSide}`);
  }

  get width(): number {
    return this.n;
  }

  get mean(): number {
    return this.n > 0 ? this.total / this.n : 0;
  }

  update(value: number): DetectorSignal {
    this.seen++;
    this.sinceAlarm++;
    this.insert(value);
    return this.shrink() ? 'drift' : 'none';
  }

  reset(): void {
    this.rows = [];
    this.n = 0;
    this.total = 0;
    this.variance = 0;
    this.sinceAlarm = Infinity;
  }

  private insert(x: number): void {
    if (this.n > 0) {
      const mean = this.total / this.n;
      this.variance += (this.n * (x - mean) * (x - mean)) / (this.n + 1);
    }
    this.n++;
    this.total += x;
    if (this.rows.length === 0) this.rows.push([]);
    this.rows[0]!.push([x, 0]);
    // compress: a row with more than M buckets merges its two oldest into one bucket of the next row
    for (let i = 0; i < this.rows.length; i++) {
      const row = this.rows[i]!;
      if (row.length <= this.maxBuckets) break;
      const size = 2 ** i;
      const [a, b] = row.splice(0, 2) as [[number, number], [number, number]];
      const diff = a[0] / size - b[0] / size;
      const merged: [number, number] = [a[0] + b[0], a[1] + b[1] + (size * size * diff * diff) / (2 * size)];
      if (i + 1 === this.rows.length) this.rows.push([]);
      this.rows[i + 1]!.push(merged); // newer than every bucket already in row i+1
    }
  }

  /** Drops the oldest buckets while a split shows a change; true when a new rise of the mean was cut. */
  private shrink(): boolean {
    let alarm = false;
    for (;;) {
      const cut = this.findCut();
      if (cut === 0) return alarm;
      // a window still holding values from before the last alarm is still cutting that change away
      if (cut > 0 && this.n <= this.sinceAlarm) {
        alarm = true;
        this.sinceAlarm = 0;
      }
      this.dropOldest();
    }
  }

  /** 0: no split differs; +1: some split's newer part is higher; -1: lower. Oldest splits first. */
  private findCut(): number {
    if (this.n < 2 * this.minSide) return 0;
    const varianceW = this.variance / this.n;
    const lnTerm = Math.log((2 * this.n) / this.delta); // ln(2/δ') with δ' = δ/n
    let n0 = 0;
    let t0 = 0;
    for (let i = this.rows.length - 1; i >= 0; i--) {
      const row = this.rows[i]!;
      const size = 2 ** i;
      for (let k = 0; k < row.length; k++) {
        n0 += size;
        t0 += row[k]![0];
        const n1 = this.n - n0;
        if (n1 < this.minSide) return 0;
        if (n0 < this.minSide) continue;
        const mu0 = t0 / n0;
        const mu1 = (this.total - t0) / n1;
        const m = 1 / (1 / n0 + 1 / n1);
        const eps = Math.sqrt((2 / m) * varianceW * lnTerm) + (2 / (3 * m)) * lnTerm;
        if (Math.abs(mu0 - mu1) >= eps) return mu1 > mu0 ? 1 : -1;
      }
    }
    return 0;
  }

  private dropOldest(): void {
    const i = this.rows.length - 1;
    const row = this.rows[i]!;
    const [bt, bv] = row.shift()!;
    if (row.length === 0) this.rows.pop();
    const size = 2 ** i;
    const rest = this.n - size;
    if (rest <= 0) {
      this.reset();
      return;
    }
    const mean = this.total / this.n;
    const bucketMean = bt / size;
    this.variance = Math.max(0, this.variance - bv - (size * this.n * (bucketMean - mean) * (bucketMean - mean)) / rest);
    this.total -= bt;
    this.n = rest;
  }

  toState(): AdwinState {
    return {
      kind: 'adwin', delta: this.delta, maxBuckets: this.maxBuckets, minSide: this.minSide,
      rows: this.rows.map((r) => r.map(([t, v]) => [t, v] as [number, number])),
      width: this.n, total: this.total, variance: this.variance, seen: this.seen,
      sinceAlarm: Number.isFinite(this.sinceAlarm) ? this.sinceAlarm : null,
    };
  }

  static fromState(s: AdwinState): Adwin {
    const a = new Adwin({ delta: s.delta, maxBuckets: s.maxBuckets, minSide: s.minSide });
    a.rows = s.rows.map((r) => r.map(([t, v]) => [t, v] as [number, number]));
    a.n = s.width;
    a.total = s.total;
    a.variance = s.variance;
    a.seen = s.seen;
    a.sinceAlarm = s.sinceAlarm ?? Infinity;
    return a;
  }
}
