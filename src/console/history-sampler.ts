/**
 * Feeds a LearnerHistory: every `intervalMs` it reads the status of each learner running in this
 * worker and records it. A tick that is still waiting for a status (a busy task thread) is not
 * stacked by the next one, and a learner whose status cannot be read is skipped for that tick
 * (it is stopping or restarting; the next tick tries again), as is one that does not answer within
 * `statusTimeoutMs`, so a slow learner never holds up the others' samples and nothing is logged for
 * a transient gap.
 */
import type { LearnerHistory, LearnerStatusLike } from './learner-history';

/** What the sampler needs of the learner registry (src/ml/online/registry.ts). */
export interface LearnerSourceLike {
  connectors(): string[];
  tasks(connector: string): { readonly taskId: number; status(): Record<string, unknown> | Promise<Record<string, unknown>> }[];
}

export interface HistorySamplerOptions {
  intervalMs: number;
  /** a status not answered within this long is skipped for the round (a hung task thread must not stop the sampling) */
  statusTimeoutMs?: number;
  /** false for a connector name that no longer exists: its history is dropped at once */
  connectorExists(name: string): boolean;
  now?: () => number;
}

export interface HistorySampler {
  /** one sampling round now (also what the timer runs) */
  sampleNow(): Promise<void>;
  stop(): void;
}

export function startHistorySampling(history: LearnerHistory, source: LearnerSourceLike, options: HistorySamplerOptions): HistorySampler {
  const now = options.now ?? Date.now;
  const timeoutMs = options.statusTimeoutMs ?? options.intervalMs * 2;
  let running: Promise<void> | undefined;
  const withTimeout = <T>(p: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('status timed out')), timeoutMs); });
    return Promise.race([p, expired]).finally(() => clearTimeout(timer));
  };
  const round = async () => {
    const t = now();
    await Promise.all(source.connectors().flatMap((connector) => source.tasks(connector).map(async (task) => {
      try {
        history.record(connector, task.taskId, (await withTimeout(Promise.resolve(task.status()))) as LearnerStatusLike, t);
      } catch {
        // the task is closing or restarting: no sample this round
      }
    })));
    for (const c of history.connectors()) if (!options.connectorExists(c)) history.forgetConnector(c);
    history.forgetStale(t);
  };
  const sampleNow = () => (running ??= round().finally(() => { running = undefined; }));
  const timer = setInterval(() => { void sampleNow(); }, options.intervalMs);
  // the sampler never keeps the process alive on its own
  timer.unref();
  return { sampleNow, stop: () => clearInterval(timer) };
}
