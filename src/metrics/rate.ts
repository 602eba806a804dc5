/**
 * A per-second rate over a sliding window, as Connect's `*-rate` attributes are (a windowed rate,
 * not a lifetime average). Counts go into one-second buckets; adding is O(1) and allocates nothing.
 */
export class WindowedRate {
  private readonly counts: Float64Array;
  private readonly seconds: Float64Array;
  private readonly started: number;

  constructor(private readonly windowSeconds = 30, now = Date.now()) {
    this.counts = new Float64Array(windowSeconds);
    this.seconds = new Float64Array(windowSeconds).fill(-1);
    this.started = now;
  }

  add(n: number, now = Date.now()): void {
    const second = Math.floor(now / 1000);
    const slot = second % this.windowSeconds;
    if (this.seconds[slot] !== second) {
      this.seconds[slot] = second;
      this.counts[slot] = 0;
    }
    this.counts[slot] = this.counts[slot]! + n;
  }

  /** events per second over the window (or over the time since creation while that is shorter, at least 1 s) */
  rate(now = Date.now()): number {
    const second = Math.floor(now / 1000);
    let sum = 0;
    for (let i = 0; i < this.windowSeconds; i++) {
      const s = this.seconds[i]!;
      if (s >= 0 && second - s < this.windowSeconds) sum += this.counts[i]!;
    }
    const span = Math.min(this.windowSeconds, Math.max(1, (now - this.started) / 1000));
    return sum / span;
  }
}
