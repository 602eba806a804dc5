/**
 * Runs what this worker is assigned, as the cluster state says it should run: connector instances
 * and their tasks (Connect's Worker). Every change of a connector (config, target state, task
 * configs, deletion, assignment) schedules `reconcile(name)`, which compares what runs with what
 * should and starts, stops, pauses or resumes the difference; it is idempotent, so scheduling too
 * often costs nothing.
 *
 * One chain per connector: actions on one connector run one after another (a task of `x` is fully
 * stopped before a new task of `x` starts, so a delete followed by a create of the same name never
 * overlaps), while different connectors never wait for each other.
 */
import type { Logger, SinkConnector, SinkConnectorDescriptor } from '../api';
import type { PluginRegistry } from '../plugins/registry';
import { traceOf } from '../runtime/errors';
import type { TaskState } from '../runtime/sink-task-runner';
import type { TaskEvents, TaskHandle, TaskSpec } from '../runtime/task-spec';
import type { ClusterState } from '../storage/cluster-state';
import type { TargetState } from '../storage/config-store';
import type { State } from '../storage/status-store';
import { checkTasksMax, sameConfig } from './task-configs';
import type { ConfigResolver } from '../config/providers/resolver';

/** Which connectors and tasks this worker runs (a single worker runs everything). */
export interface Assignment {
  ownsConnector(name: string): boolean;
  ownsTask(name: string, id: number): boolean;
}

export const EVERYTHING: Assignment = { ownsConnector: () => true, ownsTask: () => true };

export interface ConnectorRuntimeDeps {
  state: ClusterState;
  registry: PluginRegistry;
  workerId: string;
  workerProps: Readonly<Record<string, string>>;
  /** kappa.connector.tasks.max.limit: a stored connector above it fails at start */
  maxTasksPerConnector: number;
  topicTracking: boolean;
  log: Logger;
  createTask(spec: TaskSpec, events: TaskEvents): TaskHandle;
  /** resolves config provider placeholders in what the connector and its tasks are started with */
  resolver: ConfigResolver;
}

interface RunningConnector {
  readonly config: Readonly<Record<string, string>>;
  instance: SinkConnector | null;
  target: TargetState;
  failed: boolean;
}

interface RunningTask {
  readonly handle: TaskHandle;
  readonly connectorConfig: Readonly<Record<string, string>>;
  readonly taskConfig: Readonly<Record<string, string>>;
}

export class ConnectorRuntime {
  private readonly connectors = new Map<string, RunningConnector>();
  private readonly tasks = new Map<string, Map<number, RunningTask>>();
  private readonly chains = new Map<string, Promise<void>>();
  private assignment: Assignment = EVERYTHING;
  private generation = 0;
  private stopping = false;

  constructor(private readonly deps: ConnectorRuntimeDeps) {}

  private get configs() { return this.deps.state.configs; }
  private get statuses() { return this.deps.state.statuses; }

  /** A new assignment: every connector it or the previous one names is reconciled. */
  setAssignment(assignment: Assignment, generation: number): Promise<void> {
    this.assignment = assignment;
    this.generation = generation;
    const names = new Set([...this.configs.names(), ...this.connectors.keys(), ...this.tasks.keys()]);
    return Promise.all([...names].map((n) => this.schedule(n))).then(() => undefined);
  }

  /** Runs `action` on the connector's chain, after everything scheduled for it before. */
  private enqueue(name: string, action: () => Promise<void>): Promise<void> {
    const prev = this.chains.get(name) ?? Promise.resolve();
    const next = prev.then(action, action).catch((e: Error) => this.deps.log.error(`Lifecycle action on connector ${name} failed: ${e.stack ?? e.message}`));
    this.chains.set(name, next);
    void next.then(() => { if (this.chains.get(name) === next) this.chains.delete(name); });
    return next;
  }

  /** Brings the connector in line with the stored state (and returns when it is). */
  schedule(name: string): Promise<void> {
    return this.enqueue(name, () => this.reconcile(name));
  }

  /** Resolves once everything scheduled so far for the connector is done. */
  settled(name: string): Promise<void> {
    return this.chains.get(name) ?? Promise.resolve();
  }

  /** Restarts the connector instance (its tasks only if their configs change), then reconciles. */
  restartConnector(name: string): Promise<void> {
    return this.enqueue(name, async () => {
      const cur = this.connectors.get(name);
      if (cur) {
        await this.stopInstance(name, cur);
        this.connectors.delete(name);
      }
      await this.reconcile(name);
    });
  }

  /** Stops and starts the given tasks of this worker (each with its current config). */
  restartTasks(name: string, ids: number[]): Promise<void> {
    return this.enqueue(name, async () => {
      const running = this.tasks.get(name);
      await Promise.all(ids.map(async (id) => {
        const rt = running?.get(id);
        if (!rt) return;
        running!.delete(id);
        await rt.handle.stop();
      }));
      await this.reconcile(name);
    });
  }

  /**
   * A restart request: this worker restarts the connector instance it runs (unless `onlyFailed` and
   * it has not failed) and, with `includeTasks`, its tasks of the connector (failed ones only with
   * `onlyFailed`), each shown RESTARTING until it runs again.
   */
  restartOwned(name: string, includeTasks: boolean, onlyFailed: boolean): Promise<void> {
    const instance = this.assignment.ownsConnector(name) && (!onlyFailed || this.statuses.connector(name)?.state === 'FAILED');
    const ids = !includeTasks ? [] : [...(this.tasks.get(name)?.keys() ?? [])]
      .filter((id) => !onlyFailed || this.statuses.task(name, id)?.state === 'FAILED');
    if (instance) this.putConnectorStatus(name, 'RESTARTING');
    for (const id of ids) this.putTaskStatus(name, id, 'RESTARTING');
    const work: Promise<void>[] = [];
    if (instance) work.push(this.restartConnector(name));
    if (ids.length > 0) work.push(this.restartTasks(name, ids));
    return Promise.all(work).then(() => undefined);
  }

  ownsConnector(name: string): boolean {
    return this.assignment.ownsConnector(name);
  }

  ownsTask(name: string, id: number): boolean {
    return this.assignment.ownsTask(name, id);
  }

  private putConnectorStatus(name: string, state: State, trace: string | null = null): void {
    this.statuses.putConnector(name, { state, trace, workerId: this.deps.workerId, generation: this.generation });
  }

  private putTaskStatus(name: string, id: number, state: State, trace: string | null = null): void {
    this.statuses.putTask(name, id, { state, trace, workerId: this.deps.workerId, generation: this.generation });
  }

  private descriptor(config: Readonly<Record<string, string>>): SinkConnectorDescriptor | undefined {
    const cls = config['connector.class'];
    return cls ? this.deps.registry.findConnector(cls) : undefined;
  }

  private async reconcile(name: string): Promise<void> {
    if (this.stopping) return;
    const desired = this.configs.get(name);
    // --- the connector instance
    let cur = this.connectors.get(name);
    if (cur && (!desired || !this.assignment.ownsConnector(name) || !sameConfig(cur.config, desired.config))) {
      await this.stopInstance(name, cur);
      this.connectors.delete(name);
      cur = undefined;
    }
    if (desired && this.assignment.ownsConnector(name)) {
      if (!cur) {
        cur = { config: desired.config, instance: null, target: desired.targetState, failed: false };
        this.connectors.set(name, cur);
        await this.startInstance(name, cur);
      } else if (cur.target !== desired.targetState) {
        const wasStopped = cur.target === 'STOPPED';
        cur.target = desired.targetState;
        if (desired.targetState === 'STOPPED') {
          await this.stopInstance(name, cur);
          this.putConnectorStatus(name, 'STOPPED');
        } else if (wasStopped || !cur.instance) {
          await this.startInstance(name, cur);
        } else if (!cur.failed) {
          this.putConnectorStatus(name, desired.targetState === 'PAUSED' ? 'PAUSED' : 'RUNNING');
        }
      }
    }
    // --- its tasks on this worker
    const wanted = new Map<number, Readonly<Record<string, string>>>();
    if (desired && desired.targetState !== 'STOPPED') {
      desired.taskConfigs.forEach((tc, id) => { if (this.assignment.ownsTask(name, id)) wanted.set(id, tc); });
    }
    let running = this.tasks.get(name);
    if (!running) this.tasks.set(name, (running = new Map()));
    const stops: Promise<void>[] = [];
    for (const [id, rt] of running) {
      const w = wanted.get(id);
      if (w && desired && sameConfig(rt.taskConfig, w) && sameConfig(rt.connectorConfig, desired.config)) {
        if (desired.targetState === 'PAUSED' && rt.handle.state === 'RUNNING') rt.handle.pause();
        else if (desired.targetState === 'STARTED' && rt.handle.state === 'PAUSED') rt.handle.resume();
        continue;
      }
      running.delete(id);
      stops.push(rt.handle.stop());
    }
    await Promise.all(stops);
    if (desired) {
      // statuses of tasks that no longer exist (fewer tasks, or STOPPED: no tasks)
      for (const [id] of this.statuses.tasksOf(name)) {
        if (id >= desired.taskConfigs.length || desired.targetState === 'STOPPED') {
          if (this.statuses.task(name, id)?.workerId === this.deps.workerId || this.assignment.ownsConnector(name)) this.statuses.removeTask(name, id);
        }
      }
    }
    if (!desired || this.stopping) {
      this.tasks.delete(name);
      return;
    }
    for (const [id, tc] of wanted) {
      if (running.has(id)) continue;
      this.startTask(name, id, desired.config, tc, desired.targetState === 'PAUSED', running);
    }
    if (running.size === 0) this.tasks.delete(name);
  }

  private async startInstance(name: string, cur: RunningConnector): Promise<void> {
    cur.failed = false;
    if (cur.target === 'STOPPED') {
      this.putConnectorStatus(name, 'STOPPED');
      return;
    }
    const descriptor = this.descriptor(cur.config);
    try {
      if (!descriptor) throw new Error(this.deps.registry.unknownConnectorMessage(cur.config['connector.class'] ?? ''));
      checkTasksMax(name, cur.config, this.deps.maxTasksPerConnector);
      const config = this.resolved(name, 'connector', cur.config);
      const instance = descriptor.create();
      await instance.start(config);
      cur.instance = instance;
      this.putConnectorStatus(name, cur.target === 'PAUSED' ? 'PAUSED' : 'RUNNING');
    } catch (e) {
      const error = e as Error;
      cur.failed = true;
      this.deps.log.error(`Failed to start connector ${name}: ${error.message}`);
      this.putConnectorStatus(name, 'FAILED', traceOf(error));
    }
  }

  private async stopInstance(name: string, cur: RunningConnector): Promise<void> {
    const instance = cur.instance;
    cur.instance = null;
    if (!instance) return;
    try { await instance.stop(); } catch (e) { this.deps.log.warn(`Connector ${name} failed to stop: ${(e as Error).message}`); }
  }

  /**
   * A config with its provider placeholders resolved, for starting `what`; placeholders left
   * unresolved are warned about (the value is used as written, as Connect does).
   */
  private resolved(name: string, what: string, config: Readonly<Record<string, string>>, warn = true): Record<string, string> {
    const { config: out, unresolved } = this.deps.resolver.resolve(config);
    if (warn) for (const u of unresolved) this.deps.log.warn(`The ${what} of ${name} starts with ${u.key} unresolved: ${u.placeholder} (${u.reason})`);
    return out;
  }

  private startTask(name: string, id: number, connectorConfig: Readonly<Record<string, string>>, taskConfig: Readonly<Record<string, string>>, paused: boolean, running: Map<number, RunningTask>): void {
    let handle!: TaskHandle;
    // the stored configs (with their placeholders) decide whether the task must restart; the task runs
    // on resolved ones (warned about once, for its task config: the connector's start warned already)
    let spec: TaskSpec;
    try {
      spec = { connector: name, taskId: id, connectorConfig: this.resolved(name, `task ${id}`, connectorConfig, false), taskConfig: this.resolved(name, `task ${id}`, taskConfig), startPaused: paused, workerProps: this.deps.workerProps };
    } catch (e) {
      // a provider that fails (unreadable file, path not allowed) fails the task with its message
      this.putTaskStatus(name, id, 'FAILED', traceOf(e as Error));
      return;
    }
    const current = () => running.get(id)?.handle === handle && this.tasks.get(name) === running;
    handle = this.deps.createTask(spec, {
      onStateChange: (state: TaskState, trace?: string) => { if (current()) this.putTaskStatus(name, id, state, trace ?? null); },
      onTopicSeen: (topic) => { if (this.deps.topicTracking && current()) this.statuses.addTopic(name, topic, id); },
      onWarning: (message) => { if (current() && handle.state !== 'FAILED') this.putTaskStatus(name, id, handle.state === 'UNASSIGNED' ? 'RUNNING' : handle.state, message); },
    });
    running.set(id, { handle, connectorConfig, taskConfig });
    this.putTaskStatus(name, id, 'UNASSIGNED');
    void handle.start().catch((e: Error) => { if (current()) this.putTaskStatus(name, id, 'FAILED', traceOf(e)); });
  }

  /** Stops every task (each flushing and committing) and connector instance; stored states are left as they are. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.chains.values()]);
    const tasks = [...this.tasks.values()].flatMap((m) => [...m.values()]);
    this.tasks.clear();
    await Promise.all(tasks.map((t) => t.handle.stop()));
    await Promise.all([...this.connectors].map(([name, c]) => this.stopInstance(name, c)));
    this.connectors.clear();
  }

  /** Tasks that run on this worker now (for tests and diagnostics). */
  runningTasks(): { connector: string; task: number; state: TaskState }[] {
    return [...this.tasks].flatMap(([connector, m]) => [...m].map(([task, rt]) => ({ connector, task, state: rt.handle.state })));
  }
}
