/**
 * Seeded pseudo-random numbers for reproducible online-learning experiments.
 *
 * Algorithm: mulberry32 (a 32-bit state advanced by the odd constant 0x6D2B79F5, then an
 * xorshift-multiply output mix). Period 2^32, one uint32 per call. It is tiny, fast and easy to
 * reimplement bit-for-bit in another language; scripts/online/common.py has the Python twin, and
 * test/fixtures/online/orders.json pins the permutations both produce.
 *
 *   state <- (state + 0x6D2B79F5) mod 2^32
 *   t <- state
 *   t <- imul(t xor (t >>> 15), t or 1)
 *   t <- t xor (t + imul(t xor (t >>> 7), t or 61))      (sum taken mod 2^32)
 *   out <- t xor (t >>> 14)                               (as uint32)
 *
 * A uniform double in [0, 1) is out / 2^32 (exact, 32 bits of resolution).
 * Gaussian draws use the Box-Muller cosine branch with two fresh uniforms (no caching), so the
 * number of uniforms consumed per Gaussian is always two.
 */
export class Mulberry32 {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller, cosine branch; u1 is moved into (0, 1] to avoid log 0). */
  gaussian(): number {
    const u1 = 1 - this.next();
    const u2 = this.next();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  getState(): number {
    return this.state;
  }

  setState(state: number): void {
    this.state = state >>> 0;
  }
}

/**
 * Fisher-Yates (Durstenfeld) shuffle in place: for i = n-1 down to 1, j = floor(u * (i + 1)) with
 * u = rng.next(), swap a[i] and a[j].
 */
export function shuffleInPlace<T>(a: T[], rng: Mulberry32): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    const tmp = a[i] as T;
    a[i] = a[j] as T;
    a[j] = tmp;
  }
  return a;
}

/** The permutation of 0..n-1 that a fresh Mulberry32(seed) Fisher-Yates shuffle produces. */
export function permutation(n: number, seed: number): number[] {
  const a: number[] = [];
  for (let i = 0; i < n; i++) a.push(i);
  return shuffleInPlace(a, new Mulberry32(seed));
}
