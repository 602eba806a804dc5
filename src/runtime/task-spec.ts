/**
 * What it takes to run one sink task, as plain data: it crosses into a task's worker thread as is
 * (structured clone), so nothing here may hold a function, a client or a class instance.
 */
import type { TaskState } from './sink-task-runner';

export interface TaskSpec {
  readonly connector: string;
  readonly taskId: number;
  /** the connector config as stored (framework keys, transforms, converters) */
  readonly connectorConfig: Readonly<Record<string, string>>;
  /** this task's config from the connector's taskConfigs() */
  readonly taskConfig: Readonly<Record<string, string>>;
  readonly startPaused: boolean;
  /** the worker's raw properties (converters, plugin.path, kappa.* settings, client settings) */
  readonly workerProps: Readonly<Record<string, string>>;
}

/** What a running task tells the herder (from its thread, or directly when it runs inline). */
export interface TaskEvents {
  onStateChange(state: TaskState, trace?: string): void;
  onTopicSeen(topic: string): void;
  /** a problem shown in the task status while it keeps running (e.g. a refused model version) */
  onWarning(message: string): void;
  /** the task asks to be built anew from its committed state (exactly-once after a rebalance) */
  onRestartNeeded?(reason: string): void;
}

/** The herder's handle on a task, wherever it runs. */
export interface TaskHandle {
  readonly state: TaskState;
  start(): Promise<void>;
  pause(): void;
  resume(): void;
  /** orderly stop: flush, commit, leave the group, close every client; resolves when all of it is done. Idempotent. */
  stop(): Promise<void>;
}
