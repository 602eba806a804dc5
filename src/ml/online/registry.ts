/**
 * Process-wide directory of running learning transforms, so the REST API can read their metrics
 * and trigger a model publication. A transform registers itself in `open` and leaves in `close`.
 */
import type { DriftStatus } from './drift/adaptive';

/** What the REST API can ask a running learner. */
export interface LearnerHandle {
  readonly connector: string;
  readonly taskId: number;
  /** a JSON-safe status: config summary, counters, metrics, checkpoint and publication info */
  status(): Record<string, unknown> | Promise<Record<string, unknown>>;
  /** the current weights as a linear model (format 'kappa-linear-model') */
  model(): unknown;
  /** publishes the current weights on the model-control topic now; resolves to the message sent */
  publish(): Promise<Record<string, unknown>>;
  /**
   * drift detection: detector, action, warning and drift counts, the last 50 events (the `drift`
   * field of the status; a small answer for metrics scrapes)
   */
  drift(): DriftStatus | Promise<DriftStatus>;
}

const handles = new Map<string, Map<number, LearnerHandle>>();

/** Told when learners come and go (a task thread forwards this to the main thread's registry). */
export interface LearnerObserver {
  registered(h: LearnerHandle): void;
  unregistered(h: LearnerHandle): void;
}
let observer: LearnerObserver | undefined;

export function observeLearners(o: LearnerObserver | undefined): void {
  observer = o;
}

export const learnerRegistry = {
  register(h: LearnerHandle): void {
    let byTask = handles.get(h.connector);
    if (!byTask) handles.set(h.connector, (byTask = new Map()));
    byTask.set(h.taskId, h);
    observer?.registered(h);
  },
  /** removes the handle only if it is still the registered one (a restarted task may have replaced it) */
  unregister(h: LearnerHandle): void {
    const byTask = handles.get(h.connector);
    if (byTask?.get(h.taskId) !== h) return;
    byTask.delete(h.taskId);
    if (byTask.size === 0) handles.delete(h.connector);
    observer?.unregistered(h);
  },
  find(connector: string, taskId: number): LearnerHandle | undefined {
    return handles.get(connector)?.get(taskId);
  },
  connectors(): string[] {
    return [...handles.keys()].sort();
  },
  tasks(connector: string): LearnerHandle[] {
    return [...(handles.get(connector)?.values() ?? [])].sort((a, b) => a.taskId - b.taskId);
  },
};
