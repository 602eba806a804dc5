/**
 * A circuit breaker for one remote model endpoint. While the endpoint answers, calls go through
 * (closed). After `failureThreshold` consecutive failed calls it opens: calls fail at once, without
 * touching the network, so a dead endpoint costs the stream no timeouts and no retries per batch.
 * After `openMs` one call is let through as a probe (half-open): its success closes the breaker,
 * its failure opens it for another `openMs`. Other calls keep failing fast while the probe runs.
 */

export type BreakerState = 'closed' | 'open' | 'half-open';

export class CircuitOpenError extends Error {
  override name = 'CircuitOpenError';
  readonly code = 'CIRCUIT_OPEN';
}

export interface CircuitBreakerOptions {
  /** consecutive failed calls that open the breaker */
  readonly failureThreshold: number;
  /** how long it stays open before a probe is let through */
  readonly openMs: number;
  readonly now?: () => number;
  /** whether an error says the endpoint is failing (default: every error); others neither count nor reset */
  readonly isOutage?: (e: unknown) => boolean;
  /** told of every state change (for a log line) */
  readonly onStateChange?: (state: BreakerState, reason: string) => void;
}

export class CircuitBreaker {
  private state: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  private lastError = '';
  private readonly now: () => number;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  get current(): BreakerState {
    return this.state;
  }

  /** Runs `call` unless the breaker is open; counts its outcome. */
  async run<T>(call: () => Promise<T>): Promise<T> {
    let probe = false;
    if (this.state === 'open') {
      const waited = this.now() - this.openedAt;
      if (waited < this.options.openMs || this.probing) {
        throw new CircuitOpenError(`circuit open after ${this.failures} consecutive failures (last: ${this.lastError}); next probe in ${Math.max(0, this.options.openMs - waited)} ms`);
      }
      probe = true;
      this.probing = true;
      this.transition('half-open', 'probing the endpoint');
    } else if (this.state === 'half-open') {
      throw new CircuitOpenError(`circuit half-open: a probe is under way (last error: ${this.lastError})`);
    }
    try {
      const result = await call();
      this.failures = 0;
      if (this.state !== 'closed') this.transition('closed', 'the endpoint answered');
      return result;
    } catch (e) {
      if (this.options.isOutage && !this.options.isOutage(e)) {
        // the endpoint answered (e.g. 400 for this request): it is up; a probe's answer closes the breaker
        if (probe) {
          this.failures = 0;
          this.transition('closed', 'the endpoint answered');
        }
        throw e;
      }
      this.failures++;
      this.lastError = (e as Error).message;
      if (probe || (this.state === 'closed' && this.failures >= this.options.failureThreshold)) {
        this.openedAt = this.now();
        this.transition('open', this.lastError);
      }
      throw e;
    } finally {
      if (probe) this.probing = false;
    }
  }

  private transition(state: BreakerState, reason: string): void {
    if (this.state === state) return;
    this.state = state;
    this.options.onStateChange?.(state, reason);
  }
}
