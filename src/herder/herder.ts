/**
 * The control plane (Connect's herder) as the REST API sees it: queries answered from the cluster
 * state (config and status topics, followed live), mutations validated and written to the config
 * topic one at a time. What runs follows from what is written: the ConnectorRuntime reconciles
 * this worker's connectors and tasks with the stored state, and the TaskConfigWriter (the
 * leader's duty) keeps task configs in line with connector configs. A request therefore answers
 * as soon as its write is acknowledged and read back (a delete does not wait for its tasks to
 * stop), and a slow task shutdown of one connector never holds up requests about another.
 */
import { ConfigResolver } from '../config/providers/resolver';
import { validateWithPlaceholders } from '../config/providers/validation';
import type { Logger, SinkConnectorDescriptor } from '../api';
import { validateConnectorConfig, invalidConfigMessage, UnknownConnectorError, type ValidationReport } from '../config/connector-config';
import type { WorkerConfig } from '../config/worker-config';
import type { KafkaClient } from '../kafka/port';
import type { LogRegistry } from '../logging/logger';
import type { PluginRegistry } from '../plugins/registry';
import type { TaskEvents, TaskHandle, TaskSpec } from '../runtime/task-spec';
import { ClusterState } from '../storage/cluster-state';
import type { TargetState } from '../storage/config-store';
import type { State, Status } from '../storage/status-store';
import { WorkerGroup } from './cluster/worker-group';
import { ConnectorRuntime, EVERYTHING } from './connector-runtime';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError, NotLeaderError, NotOwnerError, ServerError } from './errors';
import { SerialQueue } from './serial-queue';
import { TaskConfigWriter } from './task-config-writer';

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

export interface HerderDeps {
  config: WorkerConfig;
  kafka: KafkaClient;
  registry: PluginRegistry;
  logs: LogRegistry;
  /** makes the handle of one task (a worker thread, or inline on the main thread) */
  createTask(spec: TaskSpec, events: TaskEvents): TaskHandle;
  /** resolves `${provider:path:key}` placeholders where connector configs are used (none: left as written) */
  resolver?: ConfigResolver;
}

/** How long a write waits for a rebalance under way to end before it answers 409. */
const REBALANCE_WAIT_MS = 15_000;

/** How long a stop or offsets request waits for the connector's tasks on this worker to have stopped. */
const SETTLE_TIMEOUT_MS = 30_000;

export class Herder {
  readonly state: ClusterState;
  readonly runtime: ConnectorRuntime;
  /** the worker's Connect cluster (absent with kafka.client=kafkajs: a single worker runs everything) */
  readonly group?: WorkerGroup;
  private readonly writer: TaskConfigWriter;
  private readonly queue = new SerialQueue();
  private readonly log: Logger;
  private started = false;
  private stopping = false;
  private readonly resolver: ConfigResolver;

  constructor(private readonly deps: HerderDeps) {
    this.log = deps.logs.logger('io.kappa.connect.herder');
    this.state = new ClusterState(deps.kafka, deps.config, this.log);
    const resolver = (this.resolver = deps.resolver ?? ConfigResolver.none());
    this.writer = new TaskConfigWriter(this.state.configs, deps.registry, this.log, deps.config.maxTasksPerConnector, resolver);
    this.runtime = new ConnectorRuntime({
      state: this.state,
      registry: deps.registry,
      workerId: deps.config.workerId,
      workerProps: deps.config.raw,
      maxTasksPerConnector: deps.config.maxTasksPerConnector,
      topicTracking: deps.config.topicTracking,
      log: this.log,
      createTask: deps.createTask,
      resolver,
    });
    if (deps.kafka.kind === 'platformatic') {
      const c = deps.config;
      this.group = new WorkerGroup(deps.kafka, c, {
        sessionTimeoutMs: c.sessionTimeoutMs,
        heartbeatIntervalMs: c.heartbeatIntervalMs,
        rebalanceTimeoutMs: c.rebalanceTimeoutMs,
        scheduledRebalanceMaxDelayMs: c.scheduledRebalanceMaxDelayMs,
      }, this.state, this.runtime, this.writer, deps.logs.logger('io.kappa.connect.herder.WorkerGroup'));
    }
  }

  get workerId(): string { return this.deps.config.workerId; }
  get ready(): boolean { return this.started && !this.stopping; }

  private get configStore() { return this.state.configs; }
  private get statusStore() { return this.state.statuses; }

  /** Reads the cluster state (waiting for the broker if needed) and brings every connector to its target state. */
  async start(): Promise<void> {
    await this.state.start();
    this.configStore.onChange((name) => {
      void this.writer.schedule(name);
      void this.runtime.schedule(name);
    });
    this.configStore.onRestart((r) => void this.runtime.restartOwned(r.name, r.includeTasks, r.onlyFailed));
    const names = this.configStore.names();
    this.log.info(`Read back ${names.length} connector(s) from ${this.deps.config.configTopic}`);
    if (this.group) {
      // the group's leader assigns what this worker runs
      await this.group.start();
    } else {
      this.writer.setLeader(true);
      await this.runtime.setAssignment(EVERYTHING, 1);
    }
    this.started = true;
  }

  /** Resolves once this worker has read the config and status topics up to their current end (bounded). */
  async caughtUp(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.state.readToEnd(), new Promise<void>((r) => { timer = setTimeout(r, 10_000); })]);
    if (timer) clearTimeout(timer);
  }

  /** Writes happen on the leader; anywhere else they are forwarded there (by the REST layer). */
  private async requireLeader(): Promise<void> {
    if (!this.group) return;
    // Writes do not wait for a rebalance the leader is going through (as Connect's herder runs every
    // queued request in one tick): 20 creates in a row would otherwise wait for 20 rebalances.
    if (this.group.inRebalance && this.group.ledLastGeneration) return;
    if (this.group.inRebalance) await this.group.settled(REBALANCE_WAIT_MS);
    if (!this.group.isLeader) throw new NotLeaderError(this.group.leaderUrl);
  }

  /** Stops every task (flushing and committing) and connector; the stored target states are left as they are. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.queue.idle().catch(() => undefined);
    await this.runtime.stopAll();
    await this.group?.stop();
    await this.state.stop();
  }

  /** Waits (bounded) until what was scheduled for the connector on this worker is done. */
  private async settle(name: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.runtime.settled(name), new Promise<void>((r) => { timer = setTimeout(r, SETTLE_TIMEOUT_MS); })]);
    if (timer) clearTimeout(timer);
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
      const c = this.deps.config;
      const options = { overridePolicy: c.clientOverridePolicy, maxTasks: c.maxTasksPerConnector, maxConfigBytes: c.maxConnectorConfigBytes };
      return validateWithPlaceholders(config, this.resolver, (values) => validateConnectorConfig(values, this.deps.registry, options));
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

  private putConnectorStatus(name: string, state: State): void {
    this.statusStore.putConnector(name, { state, trace: null, workerId: this.workerId, generation: 0 });
  }

  /**
   * Creates or replaces a connector. `allowReplace=false` is POST (409 when it exists).
   * Returns whether it was created, and the ConnectorInfo to answer with.
   */
  putConnectorConfig(name: string, given: Readonly<Record<string, string | null>>, allowReplace: boolean, initialState?: InitialState): Promise<{ created: boolean; info: ConnectorInfo }> {
    return this.queue.run(async () => {
      await this.requireLeader();
      this.checkConfig(given);
      const config = given as Record<string, string>; // no nulls once validated
      const existing = this.configStore.get(name);
      if (existing && !allowReplace) throw new ConflictError(`Connector ${name} already exists`);
      if (!existing) {
        const target: TargetState = initialState === 'PAUSED' ? 'PAUSED' : initialState === 'STOPPED' ? 'STOPPED' : 'STARTED';
        // a status from the first moment (GET status right after the create answers), replaced by the runtime's
        this.putConnectorStatus(name, target === 'STOPPED' ? 'STOPPED' : 'UNASSIGNED');
        await this.configStore.putConnectorConfig(name, config, target);
        this.log.info(`Created connector ${name}`);
        return { created: true, info: { name, config: { ...config }, tasks: [], type: this.typeOf(name) } };
      }
      const info = this.connectorInfo(name); // current tasks, before reconfiguration
      await this.configStore.putConnectorConfig(name, config);
      this.log.info(`Reconfiguring connector ${name}`);
      return { created: false, info: { ...info, config: { ...config } } };
    });
  }

  async patchConnectorConfig(name: string, patch: Record<string, string | null>): Promise<ConnectorInfo> {
    await this.requireLeader();
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

  /** Answers once the tombstones are written; the connector's tasks stop behind it. */
  deleteConnector(name: string): Promise<void> {
    return this.queue.run(async () => {
      await this.requireLeader();
      if (!this.configStore.get(name)) throw new NotFoundError(`Connector ${name} not found`);
      await this.configStore.removeConnector(name);
      this.statusStore.removeConnector(name);
      this.log.info(`Deleted connector ${name}`);
    });
  }

  pauseConnector(name: string): Promise<void> {
    return this.queue.run(async () => {
      await this.requireLeader();
      const state = this.configStore.get(name);
      if (!state) throw new NotFoundError(`Unknown connector ${name}`);
      if (state.targetState === 'PAUSED') return;
      // Connect pauses a stopped connector without starting it: it stays without tasks.
      await this.configStore.putTargetState(name, 'PAUSED');
    });
  }

  resumeConnector(name: string): Promise<void> {
    return this.queue.run(async () => {
      await this.requireLeader();
      const state = this.configStore.get(name);
      if (!state) throw new NotFoundError(`Unknown connector ${name}`);
      if (state.targetState === 'STARTED') return;
      await this.configStore.putTargetState(name, 'STARTED');
    });
  }

  /** As Connect: an empty task config list first, then the STOPPED target state; answers once this worker's tasks have stopped. */
  async stopConnectorRequest(name: string): Promise<void> {
    await this.queue.run(async () => {
      await this.requireLeader();
      const state = this.configStore.get(name);
      if (!state) throw new NotFoundError(`Unknown connector ${name}`);
      await this.configStore.putTaskConfigs(name, []);
      await this.configStore.putTargetState(name, 'STOPPED');
    });
    await this.settle(name);
  }

  /**
   * Restarts the connector object, and with `includeTasks`/`onlyFailed` its tasks. Returns the
   * 202 body (instances to restart shown as RESTARTING), or null for the plain restart (204).
   */
  restartConnector(name: string, includeTasks: boolean, onlyFailed: boolean): Promise<ConnectorStateInfo | null> {
    return this.queue.run(async () => {
      await this.requireLeader();
      if (!this.configStore.get(name)) throw new NotFoundError(`Unknown connector: ${name}`);
      const plain = !includeTasks && !onlyFailed;
      let body: ConnectorStateInfo | null = null;
      if (!plain) {
        // the statuses up to now: a task that its worker reported FAILED a moment ago (and a client
        // saw so through another worker) is shown as restarting, as its worker will restart it
        if (this.group) await this.caughtUp();
        let status: ConnectorStateInfo;
        try {
          status = this.connectorStatus(name);
        } catch {
          throw new NotFoundError(`Status for connector ${name} not found`);
        }
        const restartConnector = !onlyFailed || status.connector.state === 'FAILED';
        const taskIds = includeTasks ? status.tasks.filter((t) => !onlyFailed || t.state === 'FAILED').map((t) => t.id) : [];
        body = {
          ...status,
          connector: restartConnector ? restarting(status.connector) : status.connector,
          tasks: status.tasks.map((t) => (taskIds.includes(t.id) ? { id: t.id, ...restarting(t) } : t)),
        };
      }
      // every worker restarts what it runs of the connector (Connect's restart-connector-<name> record)
      await this.configStore.putRestartRequest({ name, includeTasks, onlyFailed });
      return body;
    });
  }

  /** Restarts a task on the worker that runs it (requests for another worker's task are forwarded there). */
  async restartTask(name: string, id: number, forwarded = false): Promise<void> {
    const state = this.configStore.get(name);
    if (!state) throw new NotFoundError(`Unknown connector: ${name}`);
    if (id < 0 || id >= state.taskConfigs.length) throw new NotFoundError(`Unknown task: ${name}-${id}`);
    if (this.runtime.ownsTask(name, id)) {
      await this.runtime.restartTasks(name, [id]);
      return;
    }
    if (!this.group || forwarded) throw new NotOwnerError(null);
    await this.requireLeader();
    throw new NotOwnerError(this.group.ownerOf(name, id));
  }

  async resetActiveTopics(name: string): Promise<void> {
    await this.requireLeader();
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

  async alterOffsets(name: string, body: unknown): Promise<void> {
    await this.requireLeader();
    this.requireStopped(name);
    const entries = parseSinkOffsets(body);
    await this.settle(name);
    await this.queue.run(async () => {
      this.requireStopped(name);
      const group = `connect-${name}`;
      if (await this.deps.kafka.groupMemberCount(group) > 0) {
        throw new ConflictError(`Failed to alter consumer group offsets for connector ${name} either because its tasks haven't stopped completely yet or the connector was resumed before the request to alter its offsets could be successfully completed. If the connector is in a stopped state, this operation can be safely retried. If it doesn't eventually succeed, the Connect cluster may need to be restarted to get rid of the zombie sink tasks.`);
      }
      await this.deps.kafka.setGroupOffsets(group, entries);
    });
  }

  async resetOffsets(name: string): Promise<void> {
    await this.requireLeader();
    this.requireStopped(name);
    await this.settle(name);
    await this.queue.run(async () => {
      this.requireStopped(name);
      await this.deps.kafka.deleteGroup(`connect-${name}`);
    });
  }
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
