/** Polling helpers shared by the integration tests. */

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** included in the timeout error to say what was being waited for */
  description?: string;
}

/**
 * Calls `fn` until it returns a value that is not `undefined`/`false`/`null` and does not throw,
 * then returns that value. On timeout, throws with the last error or last value seen, so the
 * failure says what the worker actually did.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  timeoutOrOptions: number | WaitForOptions = {},
): Promise<Exclude<T, false | null | undefined>> {
  const opts: WaitForOptions = typeof timeoutOrOptions === 'number' ? { timeoutMs: timeoutOrOptions } : timeoutOrOptions;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const intervalMs = opts.intervalMs ?? 250;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let lastValue: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== null && value !== false) {
        return value as Exclude<T, false | null | undefined>;
      }
      lastValue = value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await sleep(intervalMs);
  }
  const what = opts.description ? ` (${opts.description})` : '';
  if (lastError instanceof Error) {
    lastError.message = `waitFor timed out after ${timeoutMs} ms${what}; last error: ${lastError.message}`;
    throw lastError;
  }
  throw new Error(`waitFor timed out after ${timeoutMs} ms${what}; last value: ${JSON.stringify(lastValue)}`);
}

/** Random lowercase suffix for topic, group and connector names. */
export function randomSuffix(len = 8): string {
  let s = '';
  while (s.length < len) s += Math.random().toString(36).slice(2);
  return s.slice(0, len);
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomSuffix()}`;
}
