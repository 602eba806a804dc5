/**
 * `/learners` in a worker whose tasks run in worker threads: a thread tells the main thread when a
 * learner starts and stops, and the main thread's registry holds a handle that asks the thread for
 * the learner's status, weights or a publication.
 */
import type { Channel } from '../../runtime/threads/channel';
import type { DriftStatus } from './drift/adaptive';
import { learnerRegistry, observeLearners, type LearnerHandle } from './registry';

interface LearnerRef { connector: string; taskId: number }

/** Task thread: announce this thread's learners and answer for them. */
export function exposeLearners(channel: Channel): void {
  observeLearners({
    registered: (h) => channel.notify('learner.registered', { connector: h.connector, taskId: h.taskId }),
    unregistered: (h) => channel.notify('learner.unregistered', { connector: h.connector, taskId: h.taskId }),
  });
  const find = (r: LearnerRef): LearnerHandle => {
    const h = learnerRegistry.find(r.connector, r.taskId);
    if (!h) throw new Error(`No learner is running for connector ${r.connector} task ${r.taskId}`);
    return h;
  };
  channel.handle('learner.status', (r: LearnerRef) => find(r).status());
  channel.handle('learner.model', (r: LearnerRef) => find(r).model());
  channel.handle('learner.publish', (r: LearnerRef) => find(r).publish());
  channel.handle('learner.drift', (r: LearnerRef) => find(r).drift());
}

/** Main thread: register the learners one task thread announces; forget them when it is gone. */
export function followThreadLearners(channel: Channel): { close(): void } {
  const mine = new Map<string, LearnerHandle>();
  const remote = (r: LearnerRef): LearnerHandle => ({
    connector: r.connector,
    taskId: r.taskId,
    status: () => channel.request<Record<string, unknown>>('learner.status', r),
    model: () => channel.request('learner.model', r),
    publish: () => channel.request<Record<string, unknown>>('learner.publish', r),
    drift: () => channel.request<DriftStatus>('learner.drift', r),
  });
  channel.on('learner.registered', (r: LearnerRef) => {
    const h = remote(r);
    mine.set(`${r.connector}\u0000${r.taskId}`, h);
    learnerRegistry.register(h);
  });
  channel.on('learner.unregistered', (r: LearnerRef) => {
    const k = `${r.connector}\u0000${r.taskId}`;
    const h = mine.get(k);
    mine.delete(k);
    if (h) learnerRegistry.unregister(h);
  });
  return {
    close: () => {
      for (const h of mine.values()) learnerRegistry.unregister(h);
      mine.clear();
    },
  };
}
