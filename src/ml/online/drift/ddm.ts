/**
 * DDM (Drift Detection Method), written from Gama, Medas, Castillo & Rodrigues, "Learning with
 * Drift Detection" (SBIA 2004). The stream is a classifier's 0/1 mistakes. After i values the error
 * rate is p_i (the share of mistakes) with standard deviation s_i = sqrt(p_i (1 − p_i) / i). From
 * `minInstances` values on, the lowest p_i + s_i seen so far is remembered as (p_min, s_min), and
 *
 * - p_i + s_i ≥ p_min + warningLevel · s_min (2) is the warning level,
 * - p_i + s_i ≥ p_min + driftLevel · s_min (3) is a drift: the detector starts over.
 *
 * DDM needs 0/1 values: the mean and its deviation are those of a Bernoulli rate.
 *
 * Our choice: (p_min, s_min) is only taken from a point with at least one mistake. A learner that
 * made no mistake in its first 30 labels would otherwise set p_min = s_min = 0, and its first
 * mistake, however rare, would be a "drift".
 */
import { finiteIn, type DetectorSignal, type DriftDetector } from './detector';

export interface DdmOptions {
  warningLevel?: number;
  driftLevel?: number;
  minInstances?: number;
}

export interface DdmState {
  kind: 'ddm';
  warningLevel: number;
  driftLevel: number;
  minInstances: number;
  n: number;
  errors: number;
  pMin: number | null;
  sMin: number | null;
  inWarning: boolean;
}

export class Ddm implements DriftDetector {
  readonly kind = 'ddm' as const;
  readonly warningLevel: number;
  readonly driftLevel: number;
  readonly minInstances: number;
  private n = 0;
  private errors = 0;
  private pMin = Infinity;
  private sMin = Infinity;
  private inWarning = false;

  constructor(opts: DdmOptions = {}) {
    this.warningLevel = finiteIn('DDM warning level', opts.warningLevel ?? 2, 0, 100, true);
    this.driftLevel = finiteIn('DDM drift level', opts.driftLevel ?? 3, 0, 100, true);
    if (this.driftLevel <= this.warningLevel) throw new Error(`DDM drift level (${this.driftLevel}) must be above the warning level (${this.warningLevel})`);
    this.minInstances = opts.minInstances ?? 30;
    if (!Number.isInteger(this.minInstances) || this.minInstances < 1) throw new Error(`DDM minInstances must be a positive integer, got ${this.minInstances}`);
  }

  /** True between a warning and the drift (or the return below the warning level). */
  get warning(): boolean {
    return this.inWarning;
  }

  update(mistake: number): DetectorSignal {
    if (mistake !== 0 && mistake !== 1) throw new Error(`DDM takes 0/1 mistakes, got ${mistake}`);
    this.n++;
    this.errors += mistake;
    if (this.n < this.minInstances) return 'none';
    const p = this.errors / this.n;
    const s = Math.sqrt((p * (1 - p)) / this.n);
    if (this.errors > 0 && p + s < this.pMin + this.sMin) {
      this.pMin = p;
      this.sMin = s;
    }
    if (p + s >= this.pMin + this.driftLevel * this.sMin && p + s > this.pMin + this.sMin) {
      this.reset();
      return 'drift';
    }
    if (p + s >= this.pMin + this.warningLevel * this.sMin && p + s > this.pMin + this.sMin) {
      // reported once when the warning level is entered, then held until drift or recovery
      const first = !this.inWarning;
      this.inWarning = true;
      return first ? 'warning' : 'none';
    }
    this.inWarning = false;
    return 'none';
  }

  reset(): void {
    this.n = 0;
    this.errors = 0;
    this.pMin = Infinity;
    this.sMin = Infinity;
    this.inWarning = false;
  }

  toState(): DdmState {
    return {
      kind: 'ddm', warningLevel: this.warningLevel, driftLevel: this.driftLevel, minInstances: this.minInstances,
      n: this.n, errors: this.errors,
      pMin: Number.isFinite(this.pMin) ? this.pMin : null, sMin: Number.isFinite(this.sMin) ? this.sMin : null,
      inWarning: this.inWarning,
    };
  }

  static fromState(s: DdmState): Ddm {
    const d = new Ddm({ warningLevel: s.warningLevel, driftLevel: s.driftLevel, minInstances: s.minInstances });
    d.n = s.n;
    d.errors = s.errors;
    d.pMin = s.pMin ?? Infinity;
    d.sMin = s.sMin ?? Infinity;
    d.inWarning = s.inWarning;
    return d;
  }
}
