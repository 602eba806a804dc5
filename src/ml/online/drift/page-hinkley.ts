/**
 * Page-Hinkley test for a rise of the mean (Page 1954; in the drift-detection form of Gama et al.,
 * as in MOA and River). With x̄_t the mean of the values since the last reset,
 *
 *   m_t = α · m_{t−1} + (x_t − x̄_t − δ),   M_t = min(M_{t−1}, m_t),
 *
 * a drift is signalled when m_t − M_t > λ (the threshold) and the detector starts over. δ is the
 * magnitude of change tolerated, α ≤ 1 a fading factor for the cumulative sum (1 = none). No test
 * before `minInstances` values. Defaults δ = 0.005, λ = 50, α = 0.9999 (MOA's and River's). Unlike
 * ADWIN the test is not scale-free: the larger the variance of the values (a 0/1 error rate near
 * 0.5), the more often a stationary stream crosses a given λ (measured in docs/online-learning.md).
 */
import { finiteIn, type DetectorSignal, type DriftDetector } from './detector';

export interface PageHinkleyOptions {
  delta?: number;
  threshold?: number;
  alpha?: number;
  minInstances?: number;
}

export interface PageHinkleyState {
  kind: 'page_hinkley';
  delta: number;
  threshold: number;
  alpha: number;
  minInstances: number;
  n: number;
  mean: number;
  sum: number;
  min: number | null;
}

export class PageHinkley implements DriftDetector {
  readonly kind = 'page_hinkley' as const;
  readonly delta: number;
  readonly threshold: number;
  readonly alpha: number;
  readonly minInstances: number;
  private n = 0;
  private mean = 0;
  private sum = 0;
  private min = Infinity;

  constructor(opts: PageHinkleyOptions = {}) {
    this.delta = finiteIn('Page-Hinkley delta', opts.delta ?? 0.005, 0, Number.MAX_VALUE);
    this.threshold = finiteIn('Page-Hinkley threshold', opts.threshold ?? 50, 0, Number.MAX_VALUE, true);
    this.alpha = finiteIn('Page-Hinkley alpha', opts.alpha ?? 0.9999, 0, 1, true);
    this.minInstances = opts.minInstances ?? 30;
    if (!Number.isInteger(this.minInstances) || this.minInstances < 1) throw new Error(`Page-Hinkley minInstances must be a positive integer, got ${this.minInstances}`);
  }

  /** The test statistic m_t − M_t (0 before any value). */
  get statistic(): number {
    return Number.isFinite(this.min) ? this.sum - this.min : 0;
  }

  update(x: number): DetectorSignal {
    if (!Number.isFinite(x)) throw new Error(`Page-Hinkley takes finite values, got ${x}`);
    this.n++;
    this.mean += (x - this.mean) / this.n;
    this.sum = this.alpha * this.sum + (x - this.mean - this.delta);
    if (this.sum < this.min) this.min = this.sum;
    if (this.n >= this.minInstances && this.sum - this.min > this.threshold) {
      this.reset();
      return 'drift';
    }
    return 'none';
  }

  reset(): void {
    this.n = 0;
    this.mean = 0;
    this.sum = 0;
    this.min = Infinity;
  }

  toState(): PageHinkleyState {
    return {
      kind: 'page_hinkley', delta: this.delta, threshold: this.threshold, alpha: this.alpha, minInstances: this.minInstances,
      n: this.n, mean: this.mean, sum: this.sum, min: Number.isFinite(this.min) ? this.min : null,
    };
  }

  static fromState(s: PageHinkleyState): PageHinkley {
    const p = new PageHinkley({ delta: s.delta, threshold: s.threshold, alpha: s.alpha, minInstances: s.minInstances });
    p.n = s.n;
    p.mean = s.mean;
    p.sum = s.sum;
    p.min = s.min ?? Infinity;
    return p;
  }
}
