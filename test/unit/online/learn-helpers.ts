/** In-memory stand-ins for the transform's Kafka access, and record builders. */
import { createLearner, type Label, type LearnerConfig, type OnlineLearner } from '../../../src/ml/online';
import type { PluginKafka, PluginTopicRecord, ProducedRecord, SinkRecord, TransformationContext } from '../../../src/api';

export class FakeKafka implements PluginKafka {
  readonly topics = new Map<string, PluginTopicRecord[]>();
  sends = 0;
  failNextSend = false;

  async send(records: readonly ProducedRecord[]): Promise<void> {
    if (this.failNextSend) {
      this.failNextSend = false;
      throw new Error('broker unavailable');
    }
    this.sends++;
    for (const r of records) {
      const list = this.topics.get(r.topic) ?? [];
      const headers = Object.entries(r.headers ?? {}).map(([key, v]) => ({ key, value: Buffer.isBuffer(v) ? v : Buffer.from(v) }));
      list.push({ topic: r.topic, partition: r.partition ?? 0, offset: list.length, key: r.key, value: r.value, headers, timestamp: null });
      this.topics.set(r.topic, list);
    }
  }

  async ensureTopic(topic: string): Promise<void> {
    if (!this.topics.has(topic)) this.topics.set(topic, []);
  }

  followTopics(topics: readonly string[], onRecord: (r: PluginTopicRecord) => void) {
    return {
      readToEnd: async () => {
        for (const t of topics) for (const r of this.topics.get(t) ?? []) onRecord(r);
      },
      stop: async () => undefined,
    };
  }

  values(topic: string): unknown[] {
    return (this.topics.get(topic) ?? []).map((r) => (r.value ? JSON.parse(r.value.toString('utf8')) : null));
  }
}

export function context(kafka: PluginKafka, connectorName = 'learn-test'): TransformationContext {
  const noop = () => undefined;
  return {
    connectorName,
    taskId: 0,
    workerId: 'test:0',
    logger: { error: noop, warn: noop, info: noop, debug: noop },
    kafka,
    workerConfig: {},
    reportWarning: noop,
  };
}

export function rec(value: unknown, offset: number, opts: { topic?: string; partition?: number; timestamp?: number; headers?: { key: string; value: string }[] } = {}): SinkRecord {
  return {
    topic: opts.topic ?? 'events',
    kafkaPartition: opts.partition ?? 0,
    kafkaOffset: offset,
    timestamp: opts.timestamp ?? 1_000_000 + offset,
    keySchema: null,
    key: null,
    valueSchema: null,
    value,
    headers: opts.headers ?? [],
  };
}

/**
 * The labeled stream of the tests: event i (features, no label) and its label `delay` events
 * later, as one interleaved sequence. delay 0: each label right after its event.
 */
export function delayedSequence(X: ArrayLike<number>[], y: number[], order: number[], delay: number): { id: string; x?: number[]; label?: number }[] {
  const out: { id: string; x?: number[]; label?: number }[] = [];
  const queue: number[] = [];
  for (let t = 0; t < order.length; t++) {
    const i = order[t]!;
    out.push({ id: `e${t}`, x: Array.from(X[i]!) });
    queue.push(t);
    while (queue.length > delay) {
      const u = queue.shift()!;
      out.push({ id: `e${u}`, label: y[order[u]!]! });
    }
  }
  while (queue.length > 0) {
    const u = queue.shift()!;
    out.push({ id: `e${u}`, label: y[order[u]!]! });
  }
  return out;
}

/**
 * Reference for delayed feedback: a Map of pending events and a learner, written independently of
 * the engine. Events are predicted when they arrive; each label updates with the stored features.
 */
export function referenceRun(cfg: LearnerConfig, steps: readonly { id: string; x?: number[]; label?: number }[]): { learner: OnlineLearner; accuracy: number; learned: number } {
  const learner = createLearner(cfg);
  const pending = new Map<string, { x: number[]; served: Label }>();
  let correct = 0;
  let n = 0;
  for (const s of steps) {
    if (s.x) pending.set(s.id, { x: s.x, served: learner.predict(s.x).label! });
    else {
      const p = pending.get(s.id)!;
      pending.delete(s.id);
      learner.update(p.x, s.label!);
      n++;
      if (p.served === s.label) correct++;
    }
  }
  return { learner, accuracy: correct / n, learned: n };
}
