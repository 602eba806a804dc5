/**
 * The herder's handles on tasks. A ThreadTask runs the task in its own worker thread (its own core,
 * its own Kafka clients): stop asks the thread to flush, commit and close, then terminates it, so
 * once stop() resolves no consumer or producer of the task is left, whatever state it was in. An
 * InlineTask runs it on the main thread (worker property kappa.task.threads=false).
 */
import type { Worker } from 'node:worker_threads';
import type { Logger } from '../api';
import type { LogRegistry } from '../logging/logger';
import { followThreadLearners } from '../ml/online/remote-learners';
import type { CatalogContext } from '../ml/serving/hub';
import { serveCatalogs } from '../ml/serving/remote-hub';
import { followThreadMetrics } from '../metrics/thread-bridge';
import { traceOf } from './errors';
import type { SinkTaskRunner, TaskState } from './sink-task-runner';
import { createSinkTaskRunner, type TaskEnvironment } from './task-factory';
import type { TaskEvents, TaskHandle, TaskSpec } from './task-spec';
import { Channel } from './threads/channel';
import { spawnModuleWorker } from './threads/spawn';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export interface ThreadTaskServices {
  readonly logs: LogRegistry;
  /** for the model catalogs the thread's scoring transforms use (they live in the main thread) */
  readonly catalogContext: CatalogContext;
  /** how long a stop waits for the thread to flush, commit and close before it is terminated */
  readonly stopTimeoutMs: number;
  /** the thread's young generation (MB): batches that live across awaits die young instead of being copied to the old one */
  readonly youngGenerationMb: number;
  readonly logger: Logger;
}

export class ThreadTask implements TaskHandle {
  private worker?: Worker;
  private channel?: Channel;
  private current: TaskState = 'UNASSIGNED';
  private exited?: Promise<void>;
  private stopping?: Promise<void>;

  constructor(private readonly spec: TaskSpec, private readonly events: TaskEvents, private readonly services: ThreadTaskServices) {}

  get state(): TaskState {
    return this.current;
  }

  async start(): Promise<void> {
    if (this.worker || this.stopping) return;
    const { logs } = this.services;
    const worker = spawnModuleWorker(__dirname, 'threads/task-thread', { spec: this.spec, levels: logs.snapshot() }, {
      name: `task ${this.spec.connector}-${this.spec.taskId}`,
      resourceLimits: { maxYoungGenerationSizeMb: this.services.youngGenerationMb },
    });
    this.worker = worker;
    const channel = new Channel(worker);
    this.channel = channel;
    const serving = serveCatalogs(channel, this.services.catalogContext);
    const learners = followThreadLearners(channel);
    const unfollowMetrics = followThreadMetrics(channel);
    const unsubscribeLevels = logs.onChange(() => channel.notify('log.levels', logs.snapshot()));
    channel.on('state', (p: { state: TaskState; trace?: string }) => {
      if (this.stopping && p.state !== 'FAILED') return;
      this.current = p.state;
      this.events.onStateChange(p.state, p.trace);
    });
    channel.on('topic', (topic: string) => this.events.onTopicSeen(topic));
    channel.on('warning', (message: string) => { if (!this.stopping) this.events.onWarning(message); });
    worker.on('error', (e) => {
      if (this.stopping) return;
      // an exception nothing in the thread caught: the thread is gone, and the task with it
      this.services.logger.error(`The thread of task ${this.spec.connector}-${this.spec.taskId} died of an uncaught exception; the task is FAILED until it is restarted: ${e.stack ?? e.message}`);
      this.current = 'FAILED';
      this.events.onStateChange('FAILED', traceOf(e));
    });
    this.exited = new Promise<void>((resolve) => {
      worker.once('exit', (code) => {
        channel.close(new Error(`the thread of task ${this.spec.connector}-${this.spec.taskId} has exited`));
        unsubscribeLevels();
        unfollowMetrics();
        learners.close();
        void serving.close().catch(() => undefined);
        if (!this.stopping && this.current !== 'FAILED') {
          this.services.logger.error(`The thread of task ${this.spec.connector}-${this.spec.taskId} exited unexpectedly (code ${code}); the task is FAILED until it is restarted`);
          this.current = 'FAILED';
          this.events.onStateChange('FAILED', `org.apache.kafka.connect.errors.ConnectException: the thread of task ${this.spec.connector}-${this.spec.taskId} exited unexpectedly (code ${code})`);
        }
        resolve();
      });
    });
  }

  pause(): void {
    this.channel?.notify('pause');
  }

  resume(): void {
    this.channel?.notify('resume');
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const worker = this.worker;
      if (!worker) return;
      const graceful = this.channel!.request('stop').catch(() => undefined);
      const outcome = await Promise.race([graceful.then(() => 'stopped' as const), this.exited!.then(() => 'exited' as const), sleep(this.services.stopTimeoutMs).then(() => 'timeout' as const)]);
      if (outcome === 'timeout') this.services.logger.warn(`Task ${this.spec.connector}-${this.spec.taskId} did not stop within ${this.services.stopTimeoutMs} ms; terminating its thread`);
      // terminating closes every socket the thread still has: no consumer of the task outlives stop()
      await worker.terminate().catch(() => undefined);
      await this.exited;
    })();
    return this.stopping;
  }
}

/** The task on the main thread's event loop (kappa.task.threads=false), with the worker's own Kafka client. */
export class InlineTask implements TaskHandle {
  private runner?: SinkTaskRunner;
  private building?: Promise<void>;
  private stopping?: Promise<void>;
  private failedTrace?: string;

  constructor(private readonly spec: TaskSpec, private readonly events: TaskEvents, private readonly env: TaskEnvironment) {}

  get state(): TaskState {
    return this.runner?.state ?? (this.failedTrace ? 'FAILED' : 'UNASSIGNED');
  }

  start(): Promise<void> {
    this.building ??= this.build();
    return this.building;
  }

  private async build(): Promise<void> {
    try {
      this.runner = await createSinkTaskRunner(this.spec, this.env, {
        onStateChange: (state, trace) => { if (!this.stopping || state === 'FAILED') this.events.onStateChange(state, trace); },
        onTopicSeen: (t) => this.events.onTopicSeen(t),
        onWarning: (m) => { if (!this.stopping) this.events.onWarning(m); },
        // exactly-once after a rebalance: the runner has closed itself; build the task anew
        onRestartNeeded: () => { if (!this.stopping) this.building = this.build(); },
      });
    } catch (e) {
      this.failedTrace = traceOf(e as Error);
      this.env.logs.logger('io.kappa.connect.runtime.WorkerSinkTask', `${this.spec.connector}|task-${this.spec.taskId}`)
        .error(`Failed to start task ${this.spec.connector}-${this.spec.taskId}: ${(e as Error).message}`);
      this.events.onStateChange('FAILED', this.failedTrace);
      return;
    }
    if (this.stopping) return;
    void this.runner.start();
  }

  pause(): void {
    this.runner?.pause();
  }

  resume(): void {
    this.runner?.resume();
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.building;
      await this.runner?.stop();
    })();
    return this.stopping;
  }
}
