/**
 * Connector configs, task configs and target states on the compacted config topic, with Connect's
 * key layout and JSON values, so the cluster state survives any worker restart:
 *   connector-<name>     → {"properties":{...}}
 *   task-<name>-<n>      → {"properties":{...}}
 *   commit-<name>        → {"tasks":N}           (task configs count only once committed)
 *   target-state-<name>  → {"state":"STARTED"|"PAUSED","state.v2":"STARTED"|"PAUSED"|"STOPPED"}
 *   restart-connector-<name> → {"include-tasks":b,"only-failed":b}   (acted on by the workers that run them)
 * Deletion writes tombstones. Every worker follows the topic from the beginning and applies what it
 * reads, its own writes included: a write resolves once the topic has been read past it, so the
 * store always shows the topic's order, whoever wrote (read-your-writes without a second path).
 * Each applied record names the connector it changed to the change listener.
 */
import type { KafkaClient, ConsumedMessage } from '../kafka/port';

export type TargetState = 'STARTED' | 'PAUSED' | 'STOPPED';

export interface RestartRequest {
  readonly name: string;
  readonly includeTasks: boolean;
  readonly onlyFailed: boolean;
}

export interface ConnectorState {
  readonly name: string;
  readonly config: Readonly<Record<string, string>>;
  readonly targetState: TargetState;
  readonly taskConfigs: readonly Readonly<Record<string, string>>[];
}

interface Mutable { config?: Record<string, string>; targetState: TargetState; taskConfigs: Record<string, string>[]; pendingTasks: Map<number, Record<string, string>> }

export class ConfigStore {
  private readonly connectors = new Map<string, Mutable>();
  private readonly listeners = new Set<(name: string) => void>();
  private readonly restartListeners = new Set<(r: RestartRequest) => void>();
  /** offset of the last record applied (-1: none): workers tell the group how far they have read */
  offset = -1;
  /** restart requests are acted on only once the topic has been read at start (not when replayed) */
  private live = false;
  /** waits until the topic has been read up to its end (set by the owner of the topic reader) */
  private caughtUp: () => Promise<void> = async () => undefined;

  constructor(private readonly kafka: KafkaClient, readonly topic: string) {}

  /** How a write waits for itself to be read back. */
  setReadToEnd(fn: () => Promise<void>): void {
    this.caughtUp = fn;
  }

  /** Called with the connector's name whenever a record about it is applied. */
  onChange(listener: (name: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Restart requests (`restart-connector-<name>`) written after this worker started. */
  onRestart(listener: (r: RestartRequest) => void): () => void {
    this.restartListeners.add(listener);
    return () => this.restartListeners.delete(listener);
  }

  private changed(name: string): void {
    for (const l of this.listeners) l(name);
  }

  /** Applies one record of the config topic (replay at start, or our own acknowledged write). */
  apply(key: string, value: unknown): void {
    const json = value as Record<string, unknown> | null;
    const entry = (name: string): Mutable => {
      let e = this.connectors.get(name);
      if (!e) { e = { targetState: 'STARTED', taskConfigs: [], pendingTasks: new Map() }; this.connectors.set(name, e); }
      return e;
    };
    if (key.startsWith('connector-')) {
      const name = key.slice('connector-'.length);
      if (json === null) { this.connectors.delete(name); this.changed(name); return; }
      entry(name).config = { ...(json.properties as Record<string, string>) };
      this.changed(name);
    } else if (key.startsWith('target-state-')) {
      const name = key.slice('target-state-'.length);
      if (json === null) return;
      const state = (json['state.v2'] ?? json.state) as string;
      entry(name).targetState = state === 'PAUSED' ? 'PAUSED' : state === 'STOPPED' ? 'STOPPED' : 'STARTED';
      this.changed(name);
    } else if (key.startsWith('task-')) {
      const m = /^task-(.*)-(\d+)$/.exec(key);
      if (!m || json === null) return;
      entry(m[1]!).pendingTasks.set(Number(m[2]), { ...(json.properties as Record<string, string>) });
    } else if (key.startsWith('restart-connector-')) {
      const name = key.slice('restart-connector-'.length);
      if (json === null || !this.live) return;
      const r: RestartRequest = { name, includeTasks: json['include-tasks'] === true, onlyFailed: json['only-failed'] === true };
      for (const l of this.restartListeners) l(r);
    } else if (key.startsWith('commit-')) {
      const name = key.slice('commit-'.length);
      if (json === null) return;
      const e = entry(name);
      const n = Number(json.tasks);
      const configs: Record<string, string>[] = [];
      for (let i = 0; i < n; i++) configs.push(e.pendingTasks.get(i) ?? {});
      e.taskConfigs = configs;
      e.pendingTasks.clear();
      this.changed(name);
    }
  }

  applyMessage(m: ConsumedMessage): void {
    if (m.offset > this.offset) this.offset = m.offset;
    if (!m.key) return;
    this.apply(m.key.toString('utf8'), m.value ? JSON.parse(m.value.toString('utf8')) : null);
  }

  /** Drops entries whose connector config never arrived or was deleted (stale task/target records). */
  compactAfterReplay(): void {
    this.live = true;
    for (const [name, e] of this.connectors) if (!e.config) this.connectors.delete(name);
  }

  names(): string[] {
    return [...this.connectors.keys()].filter((n) => this.connectors.get(n)!.config).sort();
  }

  get(name: string): ConnectorState | undefined {
    const e = this.connectors.get(name);
    if (!e?.config) return undefined;
    return { name, config: e.config, targetState: e.targetState, taskConfigs: e.taskConfigs };
  }

  private async write(records: { key: string; value: unknown }[]): Promise<void> {
    await this.kafka.send(records.map((r) => ({
      topic: this.topic,
      partition: 0,
      key: r.key,
      value: r.value === null ? null : JSON.stringify(r.value),
    })));
    await this.caughtUp();
  }

  async putConnectorConfig(name: string, config: Record<string, string>, targetState?: TargetState): Promise<void> {
    const records: { key: string; value: unknown }[] = [];
    // Connect writes the target state first for a new connector so it never starts in the wrong state.
    if (targetState) records.push({ key: `target-state-${name}`, value: targetStateValue(targetState) });
    records.push({ key: `connector-${name}`, value: { properties: config } });
    await this.write(records);
  }

  async putTargetState(name: string, state: TargetState): Promise<void> {
    await this.write([{ key: `target-state-${name}`, value: targetStateValue(state) }]);
  }

  async putTaskConfigs(name: string, configs: Record<string, string>[]): Promise<void> {
    const records = configs.map((c, i) => ({ key: `task-${name}-${i}`, value: { properties: c } as unknown }));
    records.push({ key: `commit-${name}`, value: { tasks: configs.length } });
    await this.write(records);
  }

  /** A restart request for the workers that run the connector's instances (Connect's `restart-connector-<name>`). */
  async putRestartRequest(r: RestartRequest): Promise<void> {
    await this.write([{ key: `restart-connector-${r.name}`, value: { 'include-tasks': r.includeTasks, 'only-failed': r.onlyFailed } }]);
  }

  async removeConnector(name: string): Promise<void> {
    const tasks = this.connectors.get(name)?.taskConfigs.length ?? 0;
    const records: { key: string; value: unknown }[] = [
      { key: `connector-${name}`, value: null },
      { key: `target-state-${name}`, value: null },
    ];
    for (let i = 0; i < tasks; i++) records.push({ key: `task-${name}-${i}`, value: null });
    records.push({ key: `commit-${name}`, value: null });
    await this.write(records);
  }
}

function targetStateValue(state: TargetState): Record<string, string> {
  // Readers that only know v1 see STOPPED as PAUSED, as in Connect.
  return { state: state === 'STOPPED' ? 'PAUSED' : state, 'state.v2': state };
}
