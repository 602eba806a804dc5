/**
 * Connector and task statuses on the compacted status topic, with Connect's keys and values:
 *   status-connector-<name>               → {"state","trace","worker_id","generation"}
 *   status-task-<name>-<n>                → same
 *   status-topic-<topic>:connector-<name> → {"topic":{"name","connector","task","discoverTimestamp"}}
 * Writes are applied locally right away (GET status must reflect them) and sent in order. Every
 * worker follows the topic: records of other workers are applied as they come; a record this store
 * wrote itself is skipped while a newer write of ours for the same key is still on its way (so a
 * status read back never overtakes a later local one).
 */
import type { KafkaClient, ConsumedMessage } from '../kafka/port';

export type State = 'UNASSIGNED' | 'RUNNING' | 'PAUSED' | 'FAILED' | 'RESTARTING' | 'STOPPED';

export interface Status {
  readonly state: State;
  readonly trace: string | null;
  readonly workerId: string;
  readonly generation: number;
}

export class StatusStore {
  private readonly connectors = new Map<string, Status>();
  private readonly tasks = new Map<string, Map<number, Status>>();
  private readonly topics = new Map<string, Map<string, number>>(); // connector → topic → discovered at
  private sending: Promise<void> = Promise.resolve();
  /** values this store sent per key, oldest first, not read back yet */
  private readonly ownPending = new Map<string, (string | null)[]>();
  private readonly listeners = new Set<(connector: string) => void>();

  constructor(private readonly kafka: KafkaClient, readonly topic: string, private readonly onError: (e: Error) => void) {}

  /** Called with the connector's name whenever a status of it changes (REST caches, cluster views). */
  onChange(listener: (connector: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  applyMessage(m: ConsumedMessage): void {
    if (!m.key) return;
    const key = m.key.toString('utf8');
    const own = this.ownPending.get(key);
    if (own && own.length > 0) {
      const text = m.value ? m.value.toString('utf8') : null;
      if (own[0] === text) {
        own.shift();
        if (own.length === 0) this.ownPending.delete(key);
        return; // ours, already applied when written
      }
      // someone else's write under a key we are writing too: ours (later in the log) wins
      return;
    }
    const value = m.value ? (JSON.parse(m.value.toString('utf8')) as Record<string, unknown>) : null;
    if (key.startsWith('status-topic-')) {
      const m2 = /^status-topic-(.*):connector-(.*)$/.exec(key);
      if (!m2) return;
      const [, topic, connector] = m2 as unknown as [string, string, string];
      if (value === null) this.topics.get(connector)?.delete(topic);
      else {
        const t = value.topic as Record<string, unknown>;
        this.topicMap(connector).set(topic, Number(t?.discoverTimestamp ?? 0));
      }
      return;
    }
    const status = value === null ? null : {
      state: String(value.state) as State,
      trace: (value.trace as string | null) ?? null,
      workerId: String(value.worker_id ?? ''),
      generation: Number(value.generation ?? 0),
    };
    if (key.startsWith('status-connector-')) {
      const name = key.slice('status-connector-'.length);
      if (status) this.connectors.set(name, status); else this.connectors.delete(name);
      this.changed(name);
    } else if (key.startsWith('status-task-')) {
      const m2 = /^status-task-(.*)-(\d+)$/.exec(key);
      if (!m2) return;
      const map = this.taskMap(m2[1]!);
      if (status) map.set(Number(m2[2]), status); else map.delete(Number(m2[2]));
      this.changed(m2[1]!);
    }
  }

  private taskMap(name: string): Map<number, Status> {
    let m = this.tasks.get(name);
    if (!m) { m = new Map(); this.tasks.set(name, m); }
    return m;
  }

  private topicMap(name: string): Map<string, number> {
    let m = this.topics.get(name);
    if (!m) { m = new Map(); this.topics.set(name, m); }
    return m;
  }

  connector(name: string): Status | undefined {
    return this.connectors.get(name);
  }

  tasksOf(name: string): [number, Status][] {
    return [...(this.tasks.get(name) ?? new Map<number, Status>())].sort((a, b) => a[0] - b[0]);
  }

  task(name: string, id: number): Status | undefined {
    return this.tasks.get(name)?.get(id);
  }

  topicsOf(name: string): string[] {
    return [...(this.topics.get(name)?.keys() ?? [])].sort();
  }

  putConnector(name: string, status: Status): void {
    this.connectors.set(name, status);
    this.enqueue(`status-connector-${name}`, encode(status));
  }

  putTask(name: string, id: number, status: Status): void {
    this.taskMap(name).set(id, status);
    this.enqueue(`status-task-${name}-${id}`, encode(status));
  }

  removeTask(name: string, id: number): void {
    if (!this.tasks.get(name)?.delete(id)) return;
    this.enqueue(`status-task-${name}-${id}`, null);
  }

  removeConnector(name: string): void {
    for (const [id] of this.tasksOf(name)) this.removeTask(name, id);
    this.connectors.delete(name);
    this.enqueue(`status-connector-${name}`, null);
  }

  /** Records that a connector used a topic (first time only). */
  addTopic(connector: string, topic: string, task: number): void {
    const map = this.topicMap(connector);
    if (map.has(topic)) return;
    const now = Date.now();
    map.set(topic, now);
    this.enqueue(`status-topic-${topic}:connector-${connector}`, JSON.stringify({ topic: { name: topic, connector, task, discoverTimestamp: now } }));
  }

  resetTopics(connector: string): void {
    for (const topic of this.topicsOf(connector)) this.enqueue(`status-topic-${topic}:connector-${connector}`, null);
    this.topics.delete(connector);
  }

  /** Resolves once everything written so far has been acknowledged. */
  flush(): Promise<void> {
    return this.sending;
  }

  private changed(name: string): void {
    for (const l of this.listeners) l(name);
  }

  private enqueue(key: string, value: string | null): void {
    const own = this.ownPending.get(key);
    if (own) own.push(value); else this.ownPending.set(key, [value]);
    // Sent one after another so a later status never overtakes an earlier one for the same key.
    this.sending = this.sending
      .then(() => this.kafka.send([{ topic: this.topic, key, value }]))
      .catch((e: Error) => {
        // never coming back from the topic: stop waiting for it
        const list = this.ownPending.get(key);
        const i = list ? list.indexOf(value) : -1;
        if (list && i >= 0) list.splice(i, 1);
        if (list && list.length === 0) this.ownPending.delete(key);
        this.onError(e);
      });
  }
}

function encode(s: Status): string {
  return JSON.stringify({ state: s.state, trace: s.trace, worker_id: s.workerId, generation: s.generation });
}
