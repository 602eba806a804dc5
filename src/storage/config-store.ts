/**
 * Connector configs, task configs and target states on the compacted config topic, with Connect's
 * key layout and JSON values, so the cluster state survives any worker restart:
 *   connector-<name>     → {"properties":{...}}
 *   task-<name>-<n>      → {"properties":{...}}
 *   commit-<name>        → {"tasks":N}           (task configs count only once committed)
 *   target-state-<name>  → {"state":"STARTED"|"PAUSED","state.v2":"STARTED"|"PAUSED"|"STOPPED"}
 * Deletion writes tombstones. This worker is the only writer; it applies its own writes once
 * Kafka has acknowledged them, and replays the topic at start.
 */
import type { KafkaClient, ConsumedMessage } from '../kafka/port';

export type TargetState = 'STARTED' | 'PAUSED' | 'STOPPED';

export interface ConnectorState {
  readonly name: string;
  readonly config: Readonly<Record<string, string>>;
  readonly targetState: TargetState;
  readonly taskConfigs: readonly Readonly<Record<string, string>>[];
}

interface Mutable { config?: Record<string, string>; targetState: TargetState; taskConfigs: Record<string, string>[]; pendingTasks: Map<number, Record<string, string>> }

export class ConfigStore {
  private readonly connectors = new Map<string, Mutable>();

  constructor(private readonly kafka: KafkaClient, readonly topic: string) {}

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
      if (json === null) { this.connectors.delete(name); return; }
      entry(name).config = { ...(json.properties as Record<string, string>) };
    } else if (key.startsWith('target-state-')) {
      const name = key.slice('target-state-'.length);
      if (json === null) return;
      const state = (json['state.v2'] ?? json.state) as string;
      entry(name).targetState = state === 'PAUSED' ? 'PAUSED' : state === 'STOPPED' ? 'STOPPED' : 'STARTED';
    } else if (key.startsWith('task-')) {
      const m = /^task-(.*)-(\d+)$/.exec(key);
      if (!m || json === null) return;
      entry(m[1]!).pendingTasks.set(Number(m[2]), { ...(json.properties as Record<string, string>) });
    } else if (key.startsWith('commit-')) {
      const name = key.slice('commit-'.length);
      if (json === null) return;
      const e = entry(name);
      const n = Number(json.tasks);
      const configs: Record<string, string>[] = [];
      for (let i = 0; i < n; i++) configs.push(e.pendingTasks.get(i) ?? {});
      e.taskConfigs = configs;
      e.pendingTasks.clear();
    }
  }

  applyMessage(m: ConsumedMessage): void {
    if (!m.key) return;
    this.apply(m.key.toString('utf8'), m.value ? JSON.parse(m.value.toString('utf8')) : null);
  }

  /** Drops entries whose connector config never arrived or was deleted (stale task/target records). */
  compactAfterReplay(): void {
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
    for (const r of records) this.apply(r.key, r.value);
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
