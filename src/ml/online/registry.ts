/**
 * Process-wide directory of running learning transforms, so the REST API can read their metrics
 * and trigger a model publication. A transform registers itself in `open` and leaves in `close`.
 */

/** What the REST API can ask a running learner. */
export interface LearnerHandle {
  readonly connector: string;
  readonly taskId: number;
  /** a JSON-safe status: config summary, counters, metrics, checkpoint and publication info */
  status(): Record<string, unknown>;
  /** the current weights as a linear model (format 'kappa-linear-model') */
  model(): unknown;
  /** publishes the current weights on the model-control topic now; resolves to the message sent */
  publish(): Promise<Record<string, unknown>>;
}

const handles = new Map<string, Map<number, LearnerHandle>>();

export const learnerRegistry = {
  register(h: LearnerHandle): void {
    let byTask = handles.get(h.connector);
    if (!byTask) handles.set(h.connector, (byTask = new Map()));
    byTask.set(h.taskId, h);
  },
  /** removes the handle only if it is still the registered one (a restarted task may have replaced it) */
  unregister(h: LearnerHandle): void {
    const byTask = handles.get(h.connector);
    if (byTask?.get(h.taskId) === h) byTask.delete(h.taskId);
    if (byTask && byTask.size === 0) handles.delete(h.connector);
  },
  connectors(): string[] {
    return [...handles.keys()].sort();
  },
  tasks(connector: string): LearnerHandle[] {
    return [...(handles.get(connector)?.values() ?? [])].sort((a, b) => a.taskId - b.taskId);
  },
};
