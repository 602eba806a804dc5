/**
 * The kafkajs adapter of the Kafka port (worker property `kafka.client=kafkajs`). It covers the
 * single-worker data plane the project first shipped with: kafkajs hands over one batch at a time
 * (eachBatch) and waits until the runtime has processed it, so there is no fetch-ahead; cluster
 * membership and transactions need the default client (`platformatic`).
 */
import {
  Kafka, logLevel, CompressionTypes, Partitioners,
  type Admin, type Consumer, type Producer, type EachBatchPayload, type KafkaConfig, type ITopicConfig,
} from 'kafkajs';
import type { PluginKafka } from '../../api';
import {
  DEFAULT_READ_IDLE_TIMEOUT_MS, requestShareLimit, splitForRequests,
  type ConsumedMessage, type PartitionReadOptions, type PartitionRecordsHandler, type FetchedBatch, type GroupConsumer, type GroupConsumerOptions, type GroupMembership, type GroupMembershipOptions, type KafkaClient,
  type KafkaClientOptions, type OutgoingMessage, type RecordProducer, type RecordProducerOptions, type TopicReader,
  type TopicPartitionOffset, type TopicSpec, type TransactionalProducer, type TransactionalProducerOptions,
} from '../port';
import { followerPluginKafka } from '../plugin-kafka';
import { describeTopicErrors } from '../topic-errors';
import { isSecurityKey, resolveKafkaSecurity, type KafkaSecurity } from '../security';

/**
 * Retries an admin call on retriable broker errors (a fresh topic whose leader is not elected
 * yet answers NOT_LEADER for a moment), for up to `timeoutMs`.
 */
async function withRetry<T>(fn: () => Promise<T>, timeoutMs = 15000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 100;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      const retriable = (e as { retriable?: boolean }).retriable === true || /leader|not available|coordinator/i.test((e as Error).message);
      if (!retriable || Date.now() + delay > deadline) throw e;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 1000);
    }
  }
}

function toMessage(m: { offset: string; timestamp: string; key: Buffer | null; value: Buffer | null; headers?: Record<string, unknown> }, topic: string, partition: number): ConsumedMessage {
  const headers: { key: string; value: Buffer | null }[] = [];
  if (m.headers) {
    for (const [key, v] of Object.entries(m.headers)) {
      // kafkajs groups repeated header keys into an array
      const values = Array.isArray(v) ? v : [v];
      for (const one of values) headers.push({ key, value: one == null ? null : Buffer.isBuffer(one) ? one : Buffer.from(String(one)) });
    }
  }
  const ts = Number(m.timestamp);
  return { topic, partition, offset: Number(m.offset), timestamp: Number.isFinite(ts) && ts >= 0 ? ts : null, key: m.key, value: m.value, headers };
}

/** Maps Java client property names that have an equivalent in kafkajs. */
function consumerTuning(props: Record<string, string> = {}) {
  const num = (k: string) => (props[k] !== undefined ? Number(props[k]) : undefined);
  return {
    sessionTimeout: num('session.timeout.ms'),
    heartbeatInterval: num('heartbeat.interval.ms'),
    maxBytesPerPartition: num('max.partition.fetch.bytes'),
    maxBytes: num('fetch.max.bytes'),
    maxWaitTimeInMs: num('fetch.max.wait.ms'),
    minBytes: num('fetch.min.bytes'),
    rebalanceTimeout: num('max.poll.interval.ms'),
  };
}

/** kafkajs's `ssl` and `sasl` settings for a resolved security configuration. */
function kafkajsSecurity(security: KafkaSecurity): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const out: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (security.tls) out.ssl = security.tls;
  const sasl = security.sasl;
  if (sasl) {
    out.sasl = sasl.mechanism === 'PLAIN' ? { mechanism: 'plain', username: sasl.username, password: sasl.password }
      : sasl.mechanism === 'SCRAM-SHA-256' ? { mechanism: 'scram-sha-256', username: sasl.username, password: sasl.password }
      : { mechanism: 'scram-sha-512', username: sasl.username, password: sasl.password };
  }
  return out;
}

/** A group coordinator that moved, is loading, or is rebalancing the group: worth a fresh start. */
function isCoordinatorChange(e: Error): boolean {
  for (let c = e as { type?: string; message?: string; cause?: unknown } | undefined; c; c = c.cause as typeof c) {
    if (c.type === 'NOT_COORDINATOR_FOR_GROUP' || c.type === 'GROUP_COORDINATOR_NOT_AVAILABLE' || c.type === 'GROUP_LOAD_IN_PROGRESS' || c.type === 'REBALANCE_IN_PROGRESS') return true;
    if (/not the correct coordinator|coordinator is not available|coordinator is loading/i.test(c.message ?? '')) return true;
  }
  return false;
}

function compact<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function toKafkajsMessages(messages: readonly OutgoingMessage[]) {
  const byTopic = new Map<string, OutgoingMessage[]>();
  for (const m of messages) {
    const list = byTopic.get(m.topic);
    if (list) list.push(m); else byTopic.set(m.topic, [m]);
  }
  return [...byTopic].map(([topic, list]) => ({
    topic,
    messages: list.map((m) => ({
      key: m.key,
      value: m.value,
      partition: m.partition,
      headers: m.headers,
      timestamp: m.timestamp == null ? undefined : String(m.timestamp),
    })),
  }));
}

export class KafkajsClient implements KafkaClient {
  readonly kind = 'kafkajs' as const;
  private readonly kafka: Kafka;
  private readonly baseConfig: KafkaConfig;
  /** kafkajs instances of the other security configurations in use (a role's or a connector's own), by configuration */
  private readonly kafkaBySecurity = new Map<string, Kafka>();
  private admin?: Admin;
  private adminConnecting?: Promise<Admin>;
  private sharedProducer?: Producer;
  private producerConnecting?: Promise<Producer>;
  private closed = false;
  /** partition reads so far (each gets a group id of its own) */
  private reads = 0;

  constructor(private readonly options: KafkaClientOptions) {
    const log = options.logger;
    const config: KafkaConfig = {
      clientId: options.clientId,
      brokers: options.bootstrapServers,
      logLevel: logLevel.WARN,
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 5000 },
      logCreator: () => ({ level, log: entry }) => {
        const { message, ...extra } = entry;
        // kafkajs logs every retriable broker error at ERROR; the worker reports what matters itself
        if (level <= logLevel.WARN) log.debug(`kafkajs: ${message}`, extra);
      },
    };
    this.baseConfig = config;
    // one kafkajs instance for the worker's own clients; the roles' settings may differ (below)
    this.kafka = this.kafkaFor('consumer');
  }

  /**
   * The kafkajs instance for a client of this role: security from the worker's top-level settings,
   * under the role's `consumer.*`/`producer.*`/`admin.*` ones, under a connector's overrides. Throws
   * ConfigException naming the key when a setting is malformed.
   */
  private kafkaFor(kind: 'admin' | 'producer' | 'consumer', overrides?: Record<string, string>): Kafka {
    const security = resolveKafkaSecurity([
      { prefix: '', props: this.options.securityProps },
      { prefix: `${kind}.`, props: kind === 'admin' ? this.options.adminProps : kind === 'producer' ? this.options.producerProps : this.options.consumerProps },
      { prefix: `${kind}.override.`, props: overrides },
    ]);
    // the key stays in memory only (it holds the password)
    const key = JSON.stringify([security.protocol, security.sasl, security.tls && { ...security.tls, pfx: security.tls.pfx?.toString('base64'), checkServerIdentity: !!security.tls.checkServerIdentity }]);
    let kafka = this.kafkaBySecurity.get(key);
    if (!kafka) {
      kafka = new Kafka({ ...this.baseConfig, ...kafkajsSecurity(security) });
      this.kafkaBySecurity.set(key, kafka);
    }
    return kafka;
  }

  private async getAdmin(): Promise<Admin> {
    if (this.admin) return this.admin;
    this.adminConnecting ??= (async () => {
      const admin = this.kafkaFor('admin').admin();
      await admin.connect();
      this.admin = admin;
      return admin;
    })();
    try {
      return await this.adminConnecting;
    } catch (e) {
      this.adminConnecting = undefined;
      throw e;
    }
  }

  private async getProducer(): Promise<Producer> {
    if (this.sharedProducer) return this.sharedProducer;
    this.producerConnecting ??= (async () => {
      // The default partitioner is murmur2 on the key bytes, the same as Java clients: keys land where Connect would put them.
      const producer = this.kafkaFor('producer').producer({ allowAutoTopicCreation: true, idempotent: false, maxInFlightRequests: 5, createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      this.sharedProducer = producer;
      return producer;
    })();
    try {
      return await this.producerConnecting;
    } catch (e) {
      this.producerConnecting = undefined;
      throw e;
    }
  }

  async clusterId(): Promise<string> {
    const admin = await this.getAdmin();
    return (await withRetry(() => admin.describeCluster())).clusterId;
  }

  async ensureTopics(specs: TopicSpec[]): Promise<void> {
    if (specs.length === 0) return;
    const admin = await this.getAdmin();
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length === 0) return;
    const topics: ITopicConfig[] = missing.map((s) => ({
      topic: s.topic,
      numPartitions: s.partitions,
      replicationFactor: s.replicationFactor,
      configEntries: Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value })),
    }));
    try {
      await admin.createTopics({ topics, waitForLeaders: true });
    } catch (e) {
      // another worker may have created it between list and create
      type TopicError = { type?: string; message?: string; topic?: string };
      const err = e as TopicError & { errors?: TopicError[] };
      const all: TopicError[] = err.errors ?? [err];
      if (all.every((x) => x.type === 'TOPIC_ALREADY_EXISTS')) return;
      throw describeTopicErrors(all.filter((x) => x.type !== 'TOPIC_ALREADY_EXISTS').map((x) => ({ topic: x.topic ?? missing.map((s) => s.topic).join(','), reason: x.message ?? String(x.type) })), e as Error);
    }
  }

  async listTopics(): Promise<string[]> {
    return (await this.getAdmin()).listTopics();
  }

  async partitionsOf(topic: string): Promise<number[]> {
    const md = await (await this.getAdmin()).fetchTopicMetadata({ topics: [topic] });
    return md.topics[0]?.partitions.map((p) => p.partitionId).sort((a, b) => a - b) ?? [];
  }

  async groupOffsets(groupId: string): Promise<TopicPartitionOffset[]> {
    const admin = await this.getAdmin();
    const res = await withRetry(() => admin.fetchOffsets({ groupId }));
    const out: TopicPartitionOffset[] = [];
    for (const t of res) for (const p of t.partitions) {
      const o = Number(p.offset);
      if (o >= 0) out.push({ topic: t.topic, partition: p.partition, offset: o });
    }
    return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  /**
   * kafkajs has no OffsetDelete call, so a null offset commits -1, which every client reads as
   * "no committed offset" (GET offsets then omits it, and the consumer applies auto.offset.reset).
   */
  async setGroupOffsets(groupId: string, offsets: { topic: string; partition: number; offset: number | null }[]): Promise<void> {
    const admin = await this.getAdmin();
    const byTopic = new Map<string, { partition: number; offset: string }[]>();
    for (const o of offsets) {
      const list = byTopic.get(o.topic) ?? [];
      list.push({ partition: o.partition, offset: String(o.offset ?? -1) });
      byTopic.set(o.topic, list);
    }
    for (const [topic, partitions] of byTopic) await withRetry(() => admin.setOffsets({ groupId, topic, partitions }));
  }

  async deleteGroup(groupId: string): Promise<void> {
    const admin = await this.getAdmin();
    try {
      await admin.deleteGroups([groupId]);
    } catch (e) {
      const err = e as { groups?: { errorCode?: number; error?: { type?: string } }[] };
      const ok = (err.groups ?? []).every((g) => g.error?.type === 'GROUP_ID_NOT_FOUND' || g.errorCode === 69);
      if (!ok || !err.groups) throw e;
    }
  }

  async groupMemberCount(groupId: string): Promise<number> {
    const admin = await this.getAdmin();
    const res = await withRetry(() => admin.describeGroups([groupId]));
    return res.groups[0]?.members.length ?? 0;
  }

  async endOffsets(topic: string): Promise<Map<number, number>> {
    const admin = await this.getAdmin();
    const res = await withRetry(() => admin.fetchTopicOffsets(topic));
    return new Map(res.map((p) => [p.partition, Number(p.high)]));
  }

  async deleteTopics(topics: string[]): Promise<void> {
    await (await this.getAdmin()).deleteTopics({ topics });
  }

  /** Requests go one after another, so per-partition order is kept. */
  async send(messages: readonly OutgoingMessage[], producer?: Producer): Promise<void> {
    if (messages.length === 0) return;
    producer ??= await this.getProducer();
    for (const chunk of splitForRequests(messages, requestShareLimit(this.options.producerProps))) {
      await producer.sendBatch({ acks: -1, compression: CompressionTypes.None, topicMessages: toKafkajsMessages(chunk) });
    }
  }

  /**
   * kafkajs has no per-task producer worth its cost here: a task's sends go through the shared
   * producer, one request after another (no pipelining), and flush() reports the first failure.
   */
  producer(options: RecordProducerOptions): RecordProducer {
    let chain: Promise<void> = Promise.resolve();
    let failure: Error | undefined;
    // a connector that overrides the producer's security settings gets a producer of its own
    const kafka = Object.keys(options.overrides ?? {}).some(isSecurityKey) ? this.kafkaFor('producer', options.overrides) : undefined;
    let own: Promise<Producer> | undefined;
    const producer = kafka && (() => (own ??= (async () => {
      const p = kafka.producer({ allowAutoTopicCreation: true, idempotent: false, maxInFlightRequests: 5, createPartitioner: Partitioners.DefaultPartitioner });
      await p.connect();
      return p;
    })()));
    return {
      send: async (messages) => {
        if (failure) throw failure;
        chain = chain.then(async () => this.send(messages, producer && (await producer()))).catch((e) => { failure ??= e as Error; });
        await chain;
        if (failure) throw failure;
      },
      flush: async () => {
        await chain;
        if (failure) throw failure;
      },
      close: async () => {
        await chain.catch(() => undefined);
        if (own) await own.then((p) => p.disconnect()).catch(() => undefined);
      },
    };
  }

  transactionalProducer(_options: TransactionalProducerOptions): TransactionalProducer {
    throw new Error('processing.guarantee=exactly_once_v2 needs the worker property kafka.client=platformatic (the kafkajs adapter has no KIP-447 transactions)');
  }

  /**
   * kafkajs calls eachBatch one batch at a time and waits for it: the batch is queued for next()
   * and eachBatch resolves when the runtime releases it (heartbeating meanwhile). A crash is never
   * restarted by kafkajs itself (one owner for the consumer's lifetime: the task).
   */
  groupConsumer(opts: GroupConsumerOptions): GroupConsumer {
    const props = { ...this.options.consumerProps, ...(opts.overrides ?? {}) };
    const tuning = compact(consumerTuning(props));
    const fromBeginning = (props['auto.offset.reset'] ?? 'earliest').toLowerCase() !== 'latest';
    const allowAutoTopicCreation = (props['allow.auto.create.topics'] ?? 'true').toLowerCase() === 'true';
    const metadataMaxAgeMs = Number(props['metadata.max.age.ms'] ?? 30000);
    const log = this.options.logger;
    const consumer: Consumer = this.kafkaFor('consumer', opts.overrides).consumer({
      groupId: opts.groupId,
      allowAutoTopicCreation,
      sessionTimeout: 30000,
      heartbeatInterval: 3000,
      // only a coordinator that moved or is busy restarts the consumer (seen in CI: a task restarted
      // under load got NOT_COORDINATOR until kafkajs's retries ran out and the task failed, where
      // Java's consumer looks the coordinator up again and goes on)
      retry: { retries: 8, restartOnFailure: async (e: Error) => isCoordinatorChange(e) },
      ...tuning,
    });
    let stopped = false;
    let stopping: Promise<void> | undefined;
    let running = false;
    let refreshTimer: NodeJS.Timeout | undefined;
    let regexTopics = new Set<string>();
    let paused = false;
    let owned = new Set<string>();
    const knownTopics = new Set<string>(opts.topics ?? []);
    // one batch at a time: the queue holds at most the batch eachBatch is waiting on
    const queue: FetchedBatch[] = [];
    let waiter: ((b: FetchedBatch | null) => void) | undefined;
    const releases = new Map<FetchedBatch, () => void>();
    const deliver = (b: FetchedBatch | null) => {
      if (waiter) { const w = waiter; waiter = undefined; w(b); } else if (b) queue.push(b);
    };
    consumer.on(consumer.events.CRASH, (event) => {
      if (stopped) return;
      if (event.payload.restart) log.warn(`Consumer of group ${opts.groupId} restarts after a coordinator change: ${event.payload.error.message}`);
      else opts.onFatal?.(event.payload.error);
    });
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      const now = new Set<string>();
      const assigned: { topic: string; partition: number }[] = [];
      for (const [topic, partitions] of Object.entries(event.payload.memberAssignment)) {
        knownTopics.add(topic);
        for (const partition of partitions as number[]) { assigned.push({ topic, partition }); now.add(`${topic}:${partition}`); }
      }
      const revoked = [...owned].filter((k) => !now.has(k)).map((k) => { const i = k.lastIndexOf(':'); return { topic: k.slice(0, i), partition: Number(k.slice(i + 1)) }; });
      owned = now;
      if (paused) consumer.pause([...knownTopics, ...regexTopics].map((topic) => ({ topic })));
      if (revoked.length > 0) void opts.onRevoked?.(revoked, { committable: false });
      opts.onAssigned?.(assigned);
    });
    const matchingTopics = async () => (opts.topicsRegex ? (await this.listTopics()).filter((t) => opts.topicsRegex!.test(t)).sort() : []);
    const run = () => consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async (payload: EachBatchPayload) => {
        const { batch } = payload;
        if (batch.messages.length === 0 || stopped) return;
        const messages = batch.messages.map((m) => toMessage(m, batch.topic, batch.partition));
        let bytes = 0;
        for (const m of messages) bytes += 64 + (m.key?.length ?? 0) + (m.value?.length ?? 0);
        const fetched: FetchedBatch = { topic: batch.topic, partition: batch.partition, messages, bytes, highWatermark: Number(batch.highWatermark) };
        const heartbeat = setInterval(() => { payload.heartbeat().catch(() => undefined); }, 3000);
        try {
          await new Promise<void>((resolve) => { releases.set(fetched, resolve); deliver(fetched); });
        } finally {
          clearInterval(heartbeat);
        }
        if (!stopped && payload.isRunning() && !payload.isStale()) payload.resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
      },
    });
    const subscribeAndRun = async () => {
      let delay = 500;
      for (;;) {
        if (stopped) return;
        try {
          if (opts.topicsRegex) {
            regexTopics = new Set(await matchingTopics());
            if (regexTopics.size > 0) await consumer.subscribe({ topics: [opts.topicsRegex], fromBeginning });
          } else {
            await consumer.subscribe({ topics: opts.topics ?? [], fromBeginning });
          }
          if (opts.topicsRegex && regexTopics.size === 0) return; // nothing to consume until a topic appears
          running = true;
          await run();
          return;
        } catch (e) {
          const err = e as { type?: string; message?: string };
          const missing = err.type === 'UNKNOWN_TOPIC_OR_PARTITION' || /does not host this topic-partition|not present in metadata/i.test(err.message ?? '');
          if (!missing) throw e;
          log.info(`Waiting for topic(s) ${(opts.topics ?? []).join(',')} to exist (${opts.groupId})`);
          await new Promise((r) => setTimeout(r, delay));
          delay = Math.min(delay * 2, 5000);
        }
      }
    };
    const refreshRegex = async () => {
      if (stopped) return;
      const now = await matchingTopics();
      if (now.every((t) => regexTopics.has(t))) return;
      log.info(`New topics match ${String(opts.topicsRegex)}: ${now.filter((t) => !regexTopics.has(t)).join(',')}; resubscribing (${opts.groupId})`);
      if (running) { running = false; await consumer.stop(); }
      await subscribeAndRun();
    };
    const next = (): Promise<FetchedBatch | null> => {
      if (stopped) return Promise.resolve(null);
      const b = queue.shift();
      if (b) return Promise.resolve(b);
      return new Promise((resolve) => { waiter = resolve; });
    };
    return {
      start: async () => {
        await consumer.connect();
        await subscribeAndRun();
        if (opts.topicsRegex && !stopped) {
          refreshTimer = setInterval(() => { refreshRegex().catch((e) => { if (!stopped) opts.onFatal?.(e as Error); }); }, metadataMaxAgeMs);
          refreshTimer.unref();
        }
      },
      next,
      // kafkajs hands over one batch at a time (eachBatch waits for its release): a poll is one batch
      nextPoll: () => next().then((b) => (b ? [b] : null)),
      release: (b) => {
        const r = releases.get(b);
        releases.delete(b);
        r?.();
      },
      owns: (topic, partition) => owned.has(`${topic}:${partition}`),
      isCurrent: (b) => owned.has(`${b.topic}:${b.partition}`),
      committed: async (partitions) => {
        const all = await this.groupOffsets(opts.groupId);
        return all.filter((o) => partitions.some((p) => p.topic === o.topic && p.partition === o.partition));
      },
      pause: () => {
        paused = true;
        const topics = [...knownTopics, ...regexTopics];
        if (running && topics.length > 0) consumer.pause(topics.map((topic) => ({ topic })));
      },
      resume: () => {
        paused = false;
        const topics = [...knownTopics, ...regexTopics];
        if (running && topics.length > 0) consumer.resume(topics.map((topic) => ({ topic })));
      },
      seek: (topic, partition, offset) => {
        for (let i = queue.length - 1; i >= 0; i--) if (queue[i]!.topic === topic && queue[i]!.partition === partition) queue.splice(i, 1);
        consumer.seek({ topic, partition, offset: String(offset) });
      },
      commit: async (offsets) => {
        const mine = offsets.filter((o) => owned.has(`${o.topic}:${o.partition}`));
        if (mine.length === 0) return;
        await consumer.commitOffsets(mine.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset) })));
      },
      stop: () => {
        stopped = true;
        if (refreshTimer) clearInterval(refreshTimer);
        for (const r of releases.values()) r();
        releases.clear();
        deliver(null);
        stopping ??= consumer.disconnect().catch(() => undefined);
        return stopping;
      },
    };
  }

  topicReader(topics: string[], onMessage: (m: ConsumedMessage) => void, groupId: string): TopicReader {
    const consumer = this.kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 1000, maxWaitTimeInMs: 100, retry: { retries: 8 } });
    const position = new Map<string, number>(); // `${topic}:${partition}` → next offset
    let started: Promise<void> | undefined;
    const waiters: { target: Map<string, number>; resolve: () => void }[] = [];
    const checkWaiters = () => {
      for (let i = waiters.length - 1; i >= 0; i--) {
        const w = waiters[i]!;
        if ([...w.target].every(([k, end]) => (position.get(k) ?? 0) >= end)) {
          waiters.splice(i, 1);
          w.resolve();
        }
      }
    };
    const start = () => (started ??= (async () => {
      await consumer.connect();
      await consumer.subscribe({ topics, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) onMessage(toMessage(m, batch.topic, batch.partition));
          if (batch.messages.length > 0) {
            position.set(`${batch.topic}:${batch.partition}`, Number(batch.messages[batch.messages.length - 1]!.offset) + 1);
          }
          checkWaiters();
        },
      });
    })());
    return {
      readToEnd: async () => {
        await start();
        const target = new Map<string, number>();
        for (const topic of topics) {
          for (const [partition, end] of await this.endOffsets(topic)) if (end > 0) target.set(`${topic}:${partition}`, end);
        }
        await new Promise<void>((resolve) => { waiters.push({ target, resolve }); checkWaiters(); });
      },
      stop: async () => {
        for (const w of waiters.splice(0)) w.resolve();
        await consumer.disconnect().catch(() => undefined);
      },
    };
  }

  /**
   * kafkajs consumes through a group only: the read subscribes a throw-away group (never committed)
   * to the topic, seeks the partition to `from` and ignores the topic's other partitions. eachBatch
   * waits for the handler, so a slow handler slows the fetches down.
   */
  async readPartition(topic: string, partition: number, onRecords: PartitionRecordsHandler, options: PartitionReadOptions = {}): Promise<void> {
    if (!(await this.listTopics()).includes(topic)) return;
    const admin = await this.getAdmin();
    const offsets = (await withRetry(() => admin.fetchTopicOffsets(topic))).find((o) => o.partition === partition);
    if (!offsets) return;
    const end = Number(offsets.high);
    const start = Number(offsets.low);
    const from = Math.max(options.from ?? 0, start);
    if (from >= end) return;
    const consumer = this.kafka.consumer({
      groupId: `${this.options.clientId}-read-${process.pid}-${++this.reads}`,
      maxWaitTimeInMs: 200,
      maxBytesPerPartition: 4 * 1024 * 1024,
      retry: { retries: 8 },
    });
    const idleMs = options.idleTimeoutMs ?? DEFAULT_READ_IDLE_TIMEOUT_MS;
    let idle: NodeJS.Timeout | undefined;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        let done = false;
        const finish = (e?: Error) => {
          if (done) return;
          done = true;
          if (idle) clearTimeout(idle);
          if (e) reject(e); else resolve();
        };
        const progress = () => {
          if (idle) clearTimeout(idle);
          idle = setTimeout(() => finish(new Error(`reading ${topic}-${partition}: nothing fetched for ${idleMs} ms`)), idleMs);
        };
        progress();
        consumer.run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            if (done || batch.partition !== partition) return;
            progress();
            const records = batch.messages.map((m) => toMessage(m, topic, partition)).filter((m) => m.offset >= from && m.offset < end);
            try {
              const more = records.length > 0 ? await onRecords(records) : undefined;
              if (more === false || Number(batch.lastOffset()) + 1 >= end) finish();
            } catch (e) {
              finish(e as Error);
            }
          },
        }).then(() => {
          if (from > start) consumer.seek({ topic, partition, offset: String(from) });
        }, (e: Error) => finish(e));
      });
    } finally {
      if (idle) clearTimeout(idle);
      await consumer.disconnect().catch(() => undefined);
    }
  }

  isRetriable(error: unknown): boolean {
    const e = error as { retriable?: boolean; name?: string; message?: string; code?: string } | null;
    // refused credentials or an untrusted broker certificate: waiting cannot help
    if (e?.name === 'KafkaJSSASLAuthenticationError' || /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(e?.code ?? '')) return false;
    return !!e && (e.retriable === true || e.name === 'KafkaJSConnectionError' || e.name === 'KafkaJSNumberOfRetriesExceeded' || /ECONNREFUSED|Connection error|timeout/i.test(e.message ?? ''));
  }

  groupMembership(_options: GroupMembershipOptions): GroupMembership {
    throw new Error('A cluster of workers needs the worker property kafka.client=platformatic (kafkajs has no public group membership with a protocol type of our own)');
  }

  pluginKafka(groupPrefix: string): PluginKafka {
    return followerPluginKafka(this, groupPrefix);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([this.admin?.disconnect(), this.sharedProducer?.disconnect()]);
  }
}
