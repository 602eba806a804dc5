import { StandardizeTiming } from './types';

/**
 * Online z-score per feature with Welford's running mean and sum of squared deviations:
 *   n <- n + 1;  d <- x - mean;  mean <- mean + d / n;  m2 <- m2 + d * (x - mean)
 * scale = sqrt(m2 / n) (population sd) when that is > 0, else 1.
 * z = (x - mean) / scale. With no statistics yet (n = 0) z = 0 (the sample is its own mean).
 * See StandardizeTiming for when statistics are updated relative to predict/update.
 */
export class OnlineStandardizer {
  n = 0;
  readonly mean: Float64Array;
  readonly m2: Float64Array;

  constructor(readonly d: number, readonly timing: StandardizeTiming) {
    this.mean = new Float64Array(d);
    this.m2 = new Float64Array(d);
  }

  /** Add x to the statistics. */
  observe(x: ArrayLike<number>): void {
    const n = this.n + 1;
    for (let j = 0; j < this.d; j++) {
      const xj = x[j] as number;
      const d = xj - (this.mean[j] as number);
      const mean = (this.mean[j] as number) + d / n;
      this.mean[j] = mean;
      this.m2[j] = (this.m2[j] as number) + d * (xj - mean);
    }
    this.n = n;
  }

  /** z with the current statistics. */
  transform(x: ArrayLike<number>, out: Float64Array): void {
    const n = this.n;
    for (let j = 0; j < this.d; j++) {
      if (n === 0) {
        out[j] = 0;
        continue;
      }
      const mean = this.mean[j] as number;
      const v = (this.m2[j] as number) / n;
      const scale = v > 0 ? Math.sqrt(v) : 1;
      out[j] = ((x[j] as number) - mean) / scale;
    }
  }

  /** z with the statistics as they would be after observe(x), without committing them. */
  transformIncluding(x: ArrayLike<number>, out: Float64Array): void {
    const n = this.n + 1;
    for (let j = 0; j < this.d; j++) {
      const xj = x[j] as number;
      const d = xj - (this.mean[j] as number);
      const mean = (this.mean[j] as number) + d / n;
      const m2 = (this.m2[j] as number) + d * (xj - mean);
      const v = m2 / n;
      const scale = v > 0 ? Math.sqrt(v) : 1;
      out[j] = (xj - mean) / scale;
    }
  }

  scales(): Float64Array {
    const s = new Float64Array(this.d);
    for (let j = 0; j < this.d; j++) {
      const v = this.n > 0 ? (this.m2[j] as number) / this.n : 0;
      s[j] = v > 0 ? Math.sqrt(v) : 1;
    }
    return s;
  }
}
