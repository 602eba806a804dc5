/**
 * The control plane (Connect's herder) for one worker: connector and task lifecycle driven by the
 * target states in the config topic, statuses in the status topic, validation, restarts and sink
 * offsets. Mutations run one at a time through a serial queue; starting tasks (which joins a
 * consumer group and may take seconds) happens after the REST answer, as in Connect.
 */
import type { ConfigMap, Logger, SinkConnector, SinkConnectorDescriptor } from '../api';
import { parseFramework, validateConnectorConfig, invalidConfigMessage, UnknownConnectorError, type ValidationReport } from '../config/connector-config';
import type { WorkerConfig } from '../config/worker-config';
import type { KafkaClient } from '../kafka/port';
import type { LogRegistry } from '../logging/logger';
import type { PluginRegistry } from '../plugins/registry';
import { traceOf, type ErrorHandlingConfig } from '../runtime/errors';
import { SinkTaskRunner, type TaskState } from '../runtime/sink-task-runner';
import { buildChain } from '../runtime/transformation-chain';
import { ConfigStore, type TargetState } from '../storage/config-store';
import { StatusStore, type State, type Status } from '../storage/status-store';
import { buildConverter } from './converters';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError, ServerError } from './errors';
import { SerialQueue } from './serial-queue';

export type InitialState = 'RUNNING' | 'PAUSED' | 'STOPPED';

export interface ConnectorInfo {
  name: string;
  config: Record<string, string>;
  tasks: { connector: string; task: number }[];
  type: 'sink' | 'source' | 'unknown';
}

export interface ConnectorStateInfo {
  name: string;
  connector: StateInfo;
  tasks: ({ id: number } & StateInfo)[];
  type: 'sink' | 'source' | 'unknown';
}

/** A connector's or task's state as Connect 4.1 renders it: `version` is the plugin version that runs it (KIP-891). */
export interface StateInfo { state: State; worker_id: string; trace?: string; version?: string }

export interface SinkOffsets {
  offsets: { partition: { kafka_topic: string; kafka_partition: number }; offset: { kafka_offset: number } | null }[];
}

interface Running {
  instance: SinkConnector | null;
  tasks: Map<number, SinkTaskRunner>;
}

export interface HerderDeps {
  config: WorkerConfig;
  kafka: KafkaClient;
  registry: PluginRegistry;
  logs: LogRegistry;
}

export class Herder {
  readonly configStore: ConfigStore;
  readonly statusStore: StatusStore;
  private readonly queue = new SerialQueue();
  private readonly running = new Map<string, Running>();
  private readonly log: Logger;
  private generation = 0;
  private started = false;
  private stopping = false;

  constructor(private readonly deps: HerderDeps) {
    this.log = deps.logs.logger('io.kappa.connect.herder');
    this.configStore = new ConfigStore(deps.kafka, deps.config.configTopic);
    this.statusStore = new StatusStore(deps.kafka, deps.config.statusTopic, (e) => this.log.error(`Failed to write status: ${e.message}`));
  }

  get workerId(): string { return this.deps.config.workerId; }
  get ready(): boolean { return this.started && !this.stopping; }

  /** Creates internal topics, replays config and status topics, and starts every connector in its target state. */
  async start(): Promise<void> {
    const c = this.deps.config;
    await this.deps.kafka.ensureTopics([
      { topic: c.configTopic, partitions: 1, replicationFactor: c.configReplicationFactor, config: { 'cleanup.policy': 'compact' } },
      { topic: c.statusTopic, partitions: c.statusPartitions, replicationFactor: c.statusReplicationFactor, config: { 'cleanup.policy': 'compact' } },
      { topic: c.offsetTopic, partitions: c.offsetPartitions, replicationFactor: c.offsetReplicationFactor, config: { 'cleanup.policy': 'compact' } },
    ]);
    // Freshly created topics may answer "not the leader" for a moment: replay again on such errors.
    for (let attempt = 1; ; attempt++) {
      const reader = this.deps.kafka.topicReader([c.configTopic, c.statusTopic], (m) => {
        try {
          if (m.topic === c.configTopic) this.configStore.applyMessage(m);
          else this.statusStore.applyMessage(m);
        } catch (e) {
          this.log.warn(`Skipping an unreadable record in ${m.topic} at offset ${m.offset}: ${(e as Error).message}`);
        }
      }, `${c.groupId}-state-reader-${process.pid}-${Date.now()}`);
      try {
        await reader.readToEnd();
        break;
      } catch (e) {
        if (attempt >= 5) throw e;
        this.log.warn(`Reading the cluster state failed (attempt ${attempt}), retrying: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 1000 * attempt));
      } finally {
        // This worker is the only writer of the cluster state: after replay, it applies its own writes.
        await reader.stop();
      }
    }
    this.configStore.compactAfterReplay();
    const names = this.configStore.names();
    this.log.info(`Read back ${names.length} connector(s) from ${c.configTopic}`);
    await this.queue.run(async () => {
      for (const name of names) await this.startConnector(name);
    });
    this.started = true;
  }

  /** Stops every task (flushing and committing) and connector; the stored target states are left as they are. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.queue.run(async () => {
      await Promise.all([...this.running.keys()].map((name) => this.stopConnector(name)));
    });
    await this.statusStore.flush();
  }

  // ---------------------------------------------------------------- queries

  connectorNames(): string[] {
    return this.configStore.names();
  }

  private descriptor(name: string): SinkConnectorDescriptor | undefined {
    const cls = this.configStore.get(name)?.config['connector.class'];
    return cls ? this.deps.registry.findConnector(cls) : undefined;
  }

  private typeOf(name: string): 'sink' | 'source' | 'unknown' {
    return this.descriptor(name)?.type ?? 'unknown';
  }

  connectorInfo(name: string): ConnectorInfo {
    const state = this.configStore.get(name);
    if (!state) throw new NotFoundError(`Connector ${name} not found`);
    return {
      name,
      config: { ...state.config },
      tasks: state.taskConfigs.map((_c, i) => ({ connector: name, task: i })),
      type: this.typeOf(name),
    };
  }

  connectorConfig(name: string): Record<string, string> {
    const state = this.configStore.get(name);
    if (!state) throw new NotFoundError(`Connector ${name} not found`);
    return { ...state.config };
  }

  taskInfos(name: string): { id: { connector: string; task: number }; config: Record<string, string> }[] {
    const state = this.configStore.get(name);
    if (!state) throw new NotFoundError(`Connector ${name} not found`);
    return state.taskConfigs.map((config, i) => ({ id: { connector: name, task: i }, config: { ...config } }));
  }

  connectorStatus(name: string): ConnectorStateInfo {
    const status = this.statusStore.connector(name);
    const state = this.configStore.get(name);
    if (!status || !state) throw new NotFoundError(`No status found for connector ${name}`);
    const taskCount = state.taskConfigs.length;
    return {
      name,
      connector: render(status, this.descriptor(name)?.version),
      tasks: this.statusStore.tasksOf(name).filter(([id]) => id < taskCount).map(([id, s]) => ({ id, ...render(s, this.descriptor(name)?.version) })),
      type: this.typeOf(name),
    };
  }

  taskStatus(name: string, id: number): { id: number } & StateInfo {
    const s = this.configStore.get(name) && id < (this.configStore.get(name)?.taskConfigs.length ?? 0) ? this.statusStore.task(name, id) : undefined;
    if (!s) throw new NotFoundError(`No status found for task ${name}-${id}`);
    return { id, ...render(s, this.descriptor(name)?.version) };
  }

  activeTopics(name: string): string[] {
    if (!this.deps.config.topicTracking) throw new ForbiddenError('Topic tracking is disabled.');
    return this.statusStore.topicsOf(name);
  }

  validate(config: Readonly<Record<string, string | null>>): ValidationReport {
    try {
      return validateConnectorConfig(config, this.deps.registry, this.deps.config.clientOverridePolicy);
    } catch (e) {
      if (e instanceof UnknownConnectorError) throw new ServerError(e.message);
      throw e;
    }
  }

  // ---------------------------------------------------------------- mutations

  private checkConfig(config: Readonly<Record<string, string | null>>): void {
    if (config['connector.class'] === undefined) {
      throw new BadRequestError(`Connector config ${javaMap(config)} contains no connector type`);
    }
    const report = this.validate(config);
    if (report.errorCount > 0) throw new BadRequestError(invalidConfigMessage(report));
  }

  /**
   * Creates or replaces a connector. `allowReplace=false` is POST (409 when it exists).
   * Returns whether it was created, and the ConnectorInfo to answer with.
   */
  putConnectorConfig(name: string, given: Readonly<Record<string, string | null>>, allowReplace: boolean, initialState?: InitialState): Promise<{ created: boolean; info: ConnectorInfo }> {
    return this.queue.run(async () => {
      this.checkConfig(given);
      const config = given as Record<string, string>; // no nulls once validated
      const existing = this.configStore.get(name);
      if (existing && !allowReplace) throw new ConflictError(`Connector ${name} already exists`);
      if (!existing) {
        const target: TargetState = initialState === 'PAUSED' ? 'PAUSED' : initialState === 'STOPPED' ? 'STOPPED' : 'STARTED';
        await this.configStore.putConnectorConfig(name, config, target);
        this.putConnectorStatus(name, target === 'STOPPED' ? 'STOPPED' : 'UNASSIGNED');
        this.log.info(`Created connector ${name}`);
        void this.queue.run(() => this.startConnector(name));
        return { created: true, info: { name, config: { ...config }, tasks: [], type: this.typeOf(name) } };
      }
      const info = this.connectorInfo(name); // current tasks, before reconfiguration
      await this.configStore.putConnectorConfig(name, config);
      this.log.info(`Reconfiguring connector ${name}`);
      void this.queue.run(async () => {
        await this.stopConnector(name);
        await this.startConnector(name);
      });
      return { created: false, info: { ...info, config: { ...config } } };
    });
  }

  async patchConnectorConfig(name: string, patch: Record<string, string | null>): Promise<ConnectorInfo> {
    const existing = this.configStore.get(name);
    if (!existing) throw new NotFoundError(`Connector ${name} not found`);
    const merged: Record<string, string> = { ...existing.config };
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete merged[k]; else merged[k] = v;
    }
    if (merged['name'] !== undefined && merged['name'] !== name) {
      throw new BadRequestError(`Connector name configuration (${merged['name']}) doesn't match connector name in the URL (${name})`);
    }
    merged['name'] = name;
    const { info } = await this.putConnectorConfig(name, merged, true);
    return info;
  }

  deleteConnector(name: string): Promise<void> {
    return this.queue.run(async () => {
      if (!this.configStore.get(name)) throw new NotFoundError(`Connector ${name} not found`);
      await this.stopConnector(name);
      await this.configStore.removeConnector(name);
      this.statusStore.removeConnector(name);
      this.log.info(`Deleted connector ${name}`);
    });
  }

  pauseConnector(name: string): Promise<void> {
    return this.queue.run(async () => {
      const state = this.configStore.get(name);
      if (!state) throw new NotFoundError(`Unknown connector ${name}`);
      if (state.targetState === 'PAUSED') return;
      if (state.targetState === 'STOPPED') {
        // Connect pauses a stopped connector without starting it: it stays without tasks.
        await this.configStore.putTargetState(name, 'PAUSED');
        void this.queue.run(() => this.startConnector(name));
        return;
      }
      await this.configStore.putTargetState(name, 'PAUSED');
      const running = this.running.get(name);
      if (running?.instance) this.putConnectorStatus(name, 'PAUSED');
      for (const runner of running?.tasks.values() ?? []) runner.pause();
    });
  }

  resumeConnector(name: string): Promise<void> {
    return this.queue.run(async () => {
      const state = this.configStore.get(name);
      if (!state) throw new NotFoundError(`Unknown connector ${name}`);
      if (state.targetState === 'STARTED') return;
      const wasStopped = state.targetState === 'STOPPED';
      await this.configStore.putTargetState(name, 'STARTED');
      const running = this.running.get(name);
      if (wasStopped || !running?.instance) {
        void this.queue.run(async () => {
          await this.stopConnector(name);
          await this.startConnector(name);
        });
        return;
      }
      if (this.statusStore.connector(name)?.state === 'PAUSED') this.putConnectorStatus(name, 'RUNNING');
      for (const runner of running.tasks.values()) runner.resume();
    });
  }

  stopConnectorRequest(name: string): Promise<void> {
    return this.queue.run(async () => {
      const state = this.configStore.get(name);
      if (!state) throw new NotFoundError(`Unknown connector ${name}`);
      await this.stopConnector(name);
      // As Connect: an empty task config list first, then the STOPPED target state.
      await this.configStore.putTaskConfigs(name, []);
      await this.configStore.putTargetState(name, 'STOPPED');
      this.putConnectorStatus(name, 'STOPPED');
    });
  }

  /**
   * Restarts the connector object, and with `includeTasks`/`onlyFailed` its tasks. Returns the
   * 202 body (instances to restart shown as RESTARTING), or null for the plain restart (204).
   */
  restartConnector(name: string, includeTasks: boolean, onlyFailed: boolean): Promise<ConnectorStateInfo | null> {
    return this.queue.run(async () => {
      if (!this.configStore.get(name)) throw new NotFoundError(`Unknown connector: ${name}`);
      const plain = !includeTasks && !onlyFailed;
      if (plain) {
        await this.restartConnectorObject(name);
        return null;
      }
      let status: ConnectorStateInfo;
      try {
        status = this.connectorStatus(name);
      } catch {
        throw new NotFoundError(`Status for connector ${name} not found`);
      }
      const restartConnector = !onlyFailed || status.connector.state === 'FAILED';
      const taskIds = includeTasks ? status.tasks.filter((t) => !onlyFailed || t.state === 'FAILED').map((t) => t.id) : [];
      const body: ConnectorStateInfo = {
        ...status,
        connector: restartConnector ? restarting(status.connector) : status.connector,
        tasks: status.tasks.map((t) => (taskIds.includes(t.id) ? { id: t.id, ...restarting(t) } : t)),
      };
      if (restartConnector) this.putConnectorStatus(name, 'RESTARTING');
      for (const id of taskIds) this.putTaskStatus(name, id, 'RESTARTING');
      void this.queue.run(async () => {
        if (restartConnector) await this.restartConnectorObject(name);
        for (const id of taskIds) await this.restartTaskNow(name, id);
      });
      return body;
    });
  }

  restartTask(name: string, id: number): Promise<void> {
    return this.queue.run(async () => {
      const state = this.configStore.get(name);
      if (!state) throw new NotFoundError(`Unknown connector: ${name}`);
      if (id < 0 || id >= state.taskConfigs.length) throw new NotFoundError(`Unknown task: ${name}-${id}`);
      await this.restartTaskNow(name, id);
    });
  }

  resetActiveTopics(name: string): void {
    if (!this.deps.config.topicTracking) throw new ForbiddenError('Topic tracking is disabled.');
    if (!this.deps.config.topicTrackingReset) throw new ForbiddenError('Topic tracking reset is disabled.');
    this.statusStore.resetTopics(name);
  }

  async connectorOffsets(name: string): Promise<SinkOffsets> {
    if (!this.configStore.get(name)) throw new NotFoundError(`Connector ${name} not found`);
    const offsets = await this.deps.kafka.groupOffsets(`connect-${name}`);
    return {
      offsets: offsets.map((o) => ({ partition: { kafka_topic: o.topic, kafka_partition: o.partition }, offset: { kafka_offset: o.offset } })),
    };
  }

  private requireStopped(name: string): void {
    const state = this.configStore.get(name);
    if (!state) throw new NotFoundError(`Connector ${name} not found`);
    if (state.targetState !== 'STOPPED') {
      throw new BadRequestError(`Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/${name}/stop' endpoint`);
    }
  }

  alterOffsets(name: string, body: unknown): Promise<void> {
    return this.queue.run(async () => {
      this.requireStopped(name);
      const entries = parseSinkOffsets(body);
      const group = `connect-${name}`;
      if (await this.deps.kafka.groupMemberCount(group) > 0) {
        throw new ConflictError(`Failed to alter consumer group offsets for connector ${name} either because its tasks haven't stopped completely yet or the connector was resumed before the request to alter its offsets could be successfully completed. If the connector is in a stopped state, this operation can be safely retried. If it doesn't eventually succeed, the Connect cluster may need to be restarted to get rid of the zombie sink tasks.`);
      }
      await this.deps.kafka.setGroupOffsets(group, entries);
    });
  }

  resetOffsets(name: string): Promise<void> {
    return this.queue.run(async () => {
      this.requireStopped(name);
      await this.deps.kafka.deleteGroup(`connect-${name}`);
    });
  }

  // ---------------------------------------------------------------- lifecycle internals (run on the queue)

  private putConnectorStatus(name: string, state: State, trace: string | null = null): void {
    this.statusStore.putConnector(name, { state, trace, workerId: this.workerId, generation: this.generation });
  }

  private putTaskStatus(name: string, id: number, state: State, trace: string | null = null): void {
    this.statusStore.putTask(name, id, { state, trace, workerId: this.workerId, generation: this.generation });
  }

  /** Starts the connector object and its tasks according to the stored target state. */
  private async startConnector(name: string): Promise<void> {
    const state = this.configStore.get(name);
    if (!state || this.stopping) return;
    this.generation++;
    const running: Running = { instance: null, tasks: new Map() };
    this.running.set(name, running);
    if (state.targetState === 'STOPPED') {
      for (const [id] of this.statusStore.tasksOf(name)) this.statusStore.removeTask(name, id);
      this.putConnectorStatus(name, 'STOPPED');
      return;
    }
    const descriptor = this.descriptor(name);
    let taskConfigs: Record<string, string>[];
    try {
      if (!descriptor) throw new ServerError(this.deps.registry.unknownConnectorMessage(state.config['connector.class'] ?? ''));
      const instance = descriptor.create();
      await instance.start({ ...state.config });
      running.instance = instance;
      taskConfigs = generateTaskConfigs(name, instance, descriptor, state.config);
    } catch (e) {
      const error = e as Error;
      this.log.error(`Failed to start connector ${name}: ${error.message}`);
      this.putConnectorStatus(name, 'FAILED', traceOf(error));
      return;
    }
    if (!sameConfigs(taskConfigs, state.taskConfigs)) await this.configStore.putTaskConfigs(name, taskConfigs);
    // drop statuses of tasks that no longer exist
    for (const [id] of this.statusStore.tasksOf(name)) if (id >= taskConfigs.length) this.statusStore.removeTask(name, id);
    const paused = state.targetState === 'PAUSED';
    this.putConnectorStatus(name, paused ? 'PAUSED' : 'RUNNING');
    for (let id = 0; id < taskConfigs.length; id++) await this.startTask(name, id, running);
  }

  private async startTask(name: string, id: number, running: Running): Promise<void> {
    const state = this.configStore.get(name)!;
    const descriptor = this.descriptor(name)!;
    const taskConfig = state.taskConfigs[id] ?? {};
    const logger = this.deps.logs.logger('io.kappa.connect.runtime.WorkerSinkTask', `${name}|task-${id}`);
    this.putTaskStatus(name, id, 'UNASSIGNED');
    try {
      const config = state.config;
      const framework = parseFramework(config, true);
      const [key, value] = await Promise.all([
        buildConverter('key.converter', config, this.deps.config, this.deps.registry),
        buildConverter('value.converter', config, this.deps.config, this.deps.registry),
      ]);
      const chain = buildChain(config, this.deps.registry);
      const errors: ErrorHandlingConfig = {
        retryTimeoutMs: framework['errors.retry.timeout'] as number,
        retryDelayMaxMs: framework['errors.retry.delay.max.ms'] as number,
        tolerance: (framework['errors.tolerance'] as string).toLowerCase() === 'all' ? 'all' : 'none',
        logEnable: framework['errors.log.enable'] as boolean,
        logIncludeMessages: framework['errors.log.include.messages'] as boolean,
        dlqTopic: ((framework['errors.deadletterqueue.topic.name'] as string) ?? '').trim(),
        dlqReplicationFactor: framework['errors.deadletterqueue.topic.replication.factor'] as number,
        dlqContextHeaders: framework['errors.deadletterqueue.context.headers.enable'] as boolean,
      };
      const runner = new SinkTaskRunner({
        connector: name,
        taskId: id,
        connectorConfig: config,
        taskConfig,
        descriptor,
        kafka: this.deps.kafka,
        keyConverter: key.converter,
        valueConverter: value.converter,
        keyConverterClass: key.className,
        valueConverterClass: value.className,
        chain,
        errors,
        topics: (framework['topics'] as string[] | null) ?? [],
        topicsRegex: (framework['topics.regex'] as string | null) ?? '',
        offsetFlushIntervalMs: this.deps.config.offsetFlushIntervalMs,
        startPaused: state.targetState === 'PAUSED',
        logger,
        onStateChange: (taskState: TaskState, trace?: string) => {
          if (running.tasks.get(id) !== runner) return; // a replaced runner no longer reports
          this.putTaskStatus(name, id, taskState, trace ?? null);
        },
        onTopicSeen: (topic) => { if (this.deps.config.topicTracking) this.statusStore.addTopic(name, topic, id); },
        transformationContext: {
          connectorName: name,
          taskId: id,
          workerId: this.workerId,
          logger: this.deps.logs.logger('io.kappa.connect.runtime.Transformation', `${name}|task-${id}`),
          kafka: this.deps.kafka.pluginKafka(`connect-${name}-${id}`),
          workerConfig: this.deps.config.raw,
          reportWarning: (message) => {
            // Shown in the task status as `trace` while the task keeps RUNNING (e.g. a refused model version).
            logger.warn(message);
            if (running.tasks.get(id) === runner && runner.state !== 'FAILED') this.putTaskStatus(name, id, runner.state, message);
          },
        },
      });
      running.tasks.set(id, runner);
      void runner.start();
    } catch (e) {
      const error = e as Error;
      logger.error(`Failed to start task ${name}-${id}: ${error.message}`);
      this.putTaskStatus(name, id, 'FAILED', traceOf(error));
    }
  }

  /** Stops tasks (each flushes and commits what it wrote) and the connector object. */
  private async stopConnector(name: string): Promise<void> {
    const running = this.running.get(name);
    if (!running) return;
    this.running.delete(name);
    await Promise.all([...running.tasks.values()].map((t) => t.stop()));
    if (running.instance) {
      try { await running.instance.stop(); } catch (e) { this.log.warn(`Connector ${name} failed to stop: ${(e as Error).message}`); }
    }
  }

  /** Restarts only the connector object; tasks are reconfigured only if their configs changed. */
  private async restartConnectorObject(name: string): Promise<void> {
    const state = this.configStore.get(name);
    if (!state) return;
    const running = this.running.get(name);
    if (!running || !running.instance || state.targetState === 'STOPPED') {
      await this.stopConnector(name);
      await this.startConnector(name);
      return;
    }
    const descriptor = this.descriptor(name)!;
    try { await running.instance.stop(); } catch { /* restarting anyway */ }
    try {
      const instance = descriptor.create();
      await instance.start({ ...state.config });
      running.instance = instance;
      const configs = generateTaskConfigs(name, instance, descriptor, state.config);
      this.putConnectorStatus(name, state.targetState === 'PAUSED' ? 'PAUSED' : 'RUNNING');
      if (!sameConfigs(configs, state.taskConfigs)) {
        await this.stopConnector(name);
        await this.startConnector(name);
      }
    } catch (e) {
      running.instance = null;
      this.putConnectorStatus(name, 'FAILED', traceOf(e as Error));
    }
  }

  private async restartTaskNow(name: string, id: number): Promise<void> {
    const state = this.configStore.get(name);
    let running = this.running.get(name);
    if (!state || state.targetState === 'STOPPED' || id >= state.taskConfigs.length) return;
    if (!running) {
      running = { instance: null, tasks: new Map() };
      this.running.set(name, running);
    }
    const old = running.tasks.get(id);
    running.tasks.delete(id);
    await old?.stop();
    await this.startTask(name, id, running);
  }
}

/**
 * Task configs as Connect's Worker builds them: the connector's taskConfigs(tasks.max), each with
 * `task.class` and the sink's `topics`/`topics.regex`; more than tasks.max fails the connector.
 */
function generateTaskConfigs(name: string, instance: SinkConnector, descriptor: SinkConnectorDescriptor, config: Readonly<Record<string, string>>): Record<string, string>[] {
  const framework = parseFramework(config, true);
  const maxTasks = (framework['tasks.max'] as number | null) ?? 1;
  const configs = instance.taskConfigs(maxTasks).map((t) => ({
    ...t,
    'task.class': descriptor.taskClassName,
    ...(config['topics'] !== undefined ? { topics: config['topics'] } : {}),
    ...(config['topics.regex'] !== undefined ? { 'topics.regex': config['topics.regex'] } : {}),
  }));
  if (framework['tasks.max.enforce'] !== false && configs.length > maxTasks) {
    throw new Error(`The connector ${name} has generated ${configs.length} tasks, which is greater than ${maxTasks}, the maximum number of tasks it is configured to create.`);
  }
  return configs;
}

function render(s: Status, version: string | undefined): StateInfo {
  const out: StateInfo = { state: s.state, worker_id: s.workerId };
  if (s.trace) out.trace = s.trace;
  if (version) out.version = version;
  return out;
}

/** An instance about to restart, as the 202 restart answer shows it (no trace; same plugin version). */
function restarting(s: StateInfo): StateInfo {
  return s.version ? { state: 'RESTARTING', worker_id: s.worker_id, version: s.version } : { state: 'RESTARTING', worker_id: s.worker_id };
}

function sameConfigs(a: readonly Readonly<Record<string, string>>[], b: readonly Readonly<Record<string, string>>[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i]!;
    const kx = Object.keys(x);
    return kx.length === Object.keys(y).length && kx.every((k) => x[k] === y[k]);
  });
}

/** Java's Map.toString, which Connect uses in the "contains no connector type" message. */
function javaMap(config: Readonly<Record<string, string | null>>): string {
  return `{${Object.entries(config).map(([k, v]) => `${k}=${v}`).join(', ')}}`;
}

/** Parses a ConnectorOffsets body for a sink connector (kafka_topic / kafka_partition / kafka_offset). */
export function parseSinkOffsets(body: unknown): { topic: string; partition: number; offset: number | null }[] {
  const offsets = (body as { offsets?: unknown } | null)?.offsets;
  if (!Array.isArray(offsets) || offsets.length === 0) throw new BadRequestError('Partitions / offsets need to be provided for an alter offsets request');
  return offsets.map((entry: unknown) => {
    const e = entry as { partition?: unknown; offset?: unknown } | null;
    const partition = e?.partition as Record<string, unknown> | null | undefined;
    if (!partition || typeof partition !== 'object') throw new BadRequestError('The partition for a sink connector offset must be a map with the keys kafka_topic and kafka_partition');
    const topic = partition['kafka_topic'];
    const p = partition['kafka_partition'];
    if (typeof topic !== 'string' || topic === '') throw new BadRequestError("Kafka topic names must be valid strings and may not be null (key 'kafka_topic')");
    const pNum = typeof p === 'string' ? Number(p) : p;
    if (typeof pNum !== 'number' || !Number.isInteger(pNum) || pNum < 0) throw new BadRequestError("Kafka partitions must be valid numbers and may not be null (key 'kafka_partition')");
    const offset = e?.offset as Record<string, unknown> | null | undefined;
    if (offset === null || offset === undefined) return { topic, partition: pNum, offset: null };
    const o = offset['kafka_offset'];
    const oNum = typeof o === 'string' ? Number(o) : o;
    if (typeof oNum !== 'number' || !Number.isInteger(oNum) || oNum < 0) throw new BadRequestError("Kafka offsets must be valid non-negative numbers and may not be null (key 'kafka_offset')");
    return { topic, partition: pNum, offset: oNum };
  });
}
