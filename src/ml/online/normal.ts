/**
 * Standard normal CDF and quantile, accurate to a few ulp on the range the SCW confidence
 * parameter uses (eta in (0.5, 1), phi up to ~8).
 *
 * erf(x) for 0 <= x < 3 uses the all-positive series
 *   erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_{n>=0} 2^n x^(2n+1) / (1*3*...*(2n+1)),
 * and for x >= 3 the complement by the continued fraction
 *   erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))).
 * Accuracy: a few ulp for Phi(t) with t >= 0 and for the quantile with p >= 0.5 (about 1e-15
 * relative, the conditioning limit in double); the lower tail of Phi is accurate to ~1e-16 absolute.
 * The quantile starts at a rough logistic guess and refines with Newton steps on Phi(t) - p, then
 * stops when the step no longer changes t.
 */
export function erf(x: number): number {
  if (x < 0) return -erf(-x);
  if (x >= 3) return 1 - erfc(x);
  let term = x;
  let sum = x;
  const x2 = x * x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum;
}

export function erfc(x: number): number {
  if (x < 3) return 1 - erf(x);
  // Continued fraction evaluated bottom-up with a fixed depth (converges fast for x >= 3).
  let f = x;
  for (let k = 60; k >= 1; k--) f = x + k / 2 / f;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

export function normalCdf(t: number): number {
  if (t < 0) return 0.5 * erfc(-t / Math.SQRT2);
  return 0.5 * (1 + erf(t / Math.SQRT2));
}

export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`normalQuantile: p must be in (0, 1), got ${p}`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -normalQuantile(1 - p);
  let t = Math.sqrt(3) / Math.PI * Math.log(p / (1 - p)); // logistic approximation
  for (let i = 0; i < 100; i++) {
    const pdf = Math.exp(-0.5 * t * t) / Math.sqrt(2 * Math.PI);
    const step = (normalCdf(t) - p) / pdf;
    const next = t - step;
    if (next === t || Math.abs(step) < 1e-17 * Math.abs(t)) return next;
    t = next;
  }
  return t;
}
