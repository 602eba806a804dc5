/**
 * The default adapter of the Kafka port, on @platformatic/kafka (pure JavaScript, maintained,
 * pipelined requests, KIP-447 transactions, OffsetDelete). One admin client and one producer are
 * shared by the control plane; every task gets its own consumer and producer.
 */
import { Admin, Consumer, ListOffsetTimestamps, Producer, compatibilityPartitioner } from '@platformatic/kafka';
import type { PluginKafka } from '../../api';
import { followerPluginKafka } from '../plugin-kafka';
import {
  DEFAULT_READ_IDLE_TIMEOUT_MS, requestShareLimit, splitForRequests,
  type ConsumedMessage, type PartitionReadOptions, type PartitionRecordsHandler, type GroupConsumer, type GroupConsumerOptions, type GroupMembership, type GroupMembershipOptions, type KafkaClient, type KafkaClientOptions,
  type OutgoingMessage, type RecordProducer, type RecordProducerOptions, type TopicPartitionOffset, type TopicReader, type TopicSpec,
  type TransactionalProducer, type TransactionalProducerOptions,
} from '../port';
import { describeTopicErrors } from '../topic-errors';
import { flattenErrors, hasApiError, isRetriableKafkaError, withSecurityReason } from './errors';
import { PartitionFetcher } from './fetcher';
import { PlatformaticGroupConsumer } from './group-consumer';
import { PlatformaticGroupMembership } from './group-membership';
import { baseOptions, connectionSecurity, libraryGroupId, producerTuning, type ConnectionSecurity } from './options';
import { resolveKafkaSecurity } from '../security';
import { PipelinedProducer, toPlatformaticMessages } from './producer';
import { PlatformaticTransactionalProducer } from './transactional-producer';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Retries a call on retriable errors (a fresh topic without a leader yet, a coordinator loading) for up to `timeoutMs`. */
async function withRetry<T>(fn: () => Promise<T>, timeoutMs = 15000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 100;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      // refused credentials or an untrusted certificate: said plainly, never retried
      if (!isRetriableKafkaError(e as Error) || Date.now() + delay > deadline) throw withSecurityReason(e as Error);
      await sleep(delay);
      delay = Math.min(delay * 2, 1000);
    }
  }
}

export class PlatformaticClient implements KafkaClient {
  readonly kind = 'platformatic' as const;
  private adminClient?: Admin;
  private sharedProducer?: Producer;
  private offsetsReader?: Consumer;
  private closed = false;
  /** partition reads so far (each gets a client id of its own) */
  private reads = 0;
  private readonly closables = new Set<{ close(): Promise<void> }>();

  constructor(private readonly options: KafkaClientOptions) {}

  private props(kind: 'admin' | 'producer' | 'consumer'): Record<string, string> {
    return { ...(kind === 'admin' ? this.options.adminProps : kind === 'producer' ? this.options.producerProps : this.options.consumerProps) };
  }

  /**
   * TLS and SASL of a client of this role: the worker's top-level security settings, under the
   * role's `consumer.*`/`producer.*`/`admin.*` ones, under a connector's `<role>.override.*` ones.
   * Throws ConfigException naming the key when a setting is malformed.
   */
  private connection(kind: 'admin' | 'producer' | 'consumer', overrides?: Record<string, string>): ConnectionSecurity {
    const security = resolveKafkaSecurity([
      { prefix: '', props: this.options.securityProps },
      { prefix: `${kind}.`, props: this.props(kind) },
      { prefix: `${kind}.override.`, props: overrides },
    ]);
    return connectionSecurity(security, this.options.bootstrapServers);
  }

  private get admin(): Admin {
    this.adminClient ??= new Admin({ ...baseOptions(this.options.bootstrapServers, `${this.options.clientId}-admin`, this.props('admin'), 5, this.connection('admin')), metadataMaxAge: 5000 });
    return this.adminClient;
  }

  /** A consumer that never joins a group: ListOffsets for end offsets. */
  private get offsets(): Consumer {
    this.offsetsReader ??= new Consumer({ ...baseOptions(this.options.bootstrapServers, `${this.options.clientId}-offsets`, this.props('consumer'), 5, this.connection('consumer')), groupId: libraryGroupId(`${this.options.clientId}-offsets`), metadataMaxAge: 5000 });
    return this.offsetsReader;
  }

  private get producerClient(): Producer {
    if (!this.sharedProducer) {
      const props = this.props('producer');
      const tuning = producerTuning(props, this.options.logger);
      this.sharedProducer = new Producer({
        ...baseOptions(this.options.bootstrapServers, `${this.options.clientId}-producer`, props, 5, this.connection('producer')),
        idempotent: false,
        acks: -1,
        compression: tuning.compression,
        autocreateTopics: true,
        // Java's murmur2 partitioner: keyed records land where Connect's would
        partitioner: compatibilityPartitioner,
      });
    }
    return this.sharedProducer;
  }

  async clusterId(): Promise<string> {
    const md = await withRetry(() => this.admin.metadata({ topics: [], forceUpdate: true }));
    return md.id;
  }

  async ensureTopics(specs: TopicSpec[]): Promise<void> {
    if (specs.length === 0) return;
    const existing = new Set(await withRetry(() => this.admin.listTopics()));
    const missing = specs.filter((s) => !existing.has(s.topic));
    const failures: { topic: string; reason: string }[] = [];
    let cause: Error | undefined;
    for (const s of missing) {
      try {
        await this.admin.createTopics({
          topics: [{ topic: s.topic, partitions: s.partitions, replicas: s.replicationFactor }],
          configs: Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value })),
        });
      } catch (e) {
        // another worker may have created it between list and create
        if (hasApiError(e as Error, 'TOPIC_ALREADY_EXISTS')) continue;
        cause ??= e as Error;
        // the broker's error name and what was asked for: "INVALID_REPLICATION_FACTOR: ... (asked for
        // replication factor 3)" tells a single-broker user which setting to change
        const reasons = flattenErrors(e as Error).map((x) => (x.apiId ? `${x.apiId}: ${x.message}` : x.message)).join('; ');
        const rf = s.replicationFactor > 0 ? `replication factor ${s.replicationFactor}` : "the broker's default replication factor";
        failures.push({ topic: s.topic, reason: `${reasons} (asked for ${rf})` });
      }
    }
    if (failures.length > 0) throw describeTopicErrors(failures, cause);
    if (missing.length > 0) await this.waitForLeaders(missing.map((s) => s.topic));
  }

  /** A new topic answers NOT_LEADER until its partitions have leaders: wait for them (bounded). */
  private async waitForLeaders(topics: string[]): Promise<void> {
    const deadline = Date.now() + 15000;
    for (;;) {
      try {
        const md = await this.admin.metadata({ topics, forceUpdate: true });
        const ready = topics.every((t) => {
          const tm = md.topics.get(t);
          return tm !== undefined && tm.partitions.length > 0 && tm.partitions.every((p) => p !== undefined && p.leader >= 0);
        });
        if (ready) return;
      } catch (e) {
        if (!isRetriableKafkaError(e as Error)) throw e;
      }
      if (Date.now() > deadline) return;
      await sleep(100);
    }
  }

  async listTopics(): Promise<string[]> {
    return withRetry(() => this.admin.listTopics());
  }

  async partitionsOf(topic: string): Promise<number[]> {
    const md = await withRetry(() => this.admin.metadata({ topics: [topic], forceUpdate: true }));
    const n = md.topics.get(topic)?.partitionsCount ?? 0;
    return Array.from({ length: n }, (_v, i) => i);
  }

  async endOffsets(topic: string): Promise<Map<number, number>> {
    const listed = await withRetry(() => this.offsets.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.LATEST }));
    return new Map((listed.get(topic) ?? []).map((o, partition) => [partition, Number(o)] as [number, number]));
  }

  async deleteTopics(topics: string[]): Promise<void> {
    await this.admin.deleteTopics({ topics });
  }

  async groupOffsets(groupId: string): Promise<TopicPartitionOffset[]> {
    const res = await withRetry(() => this.admin.listConsumerGroupOffsets({ groups: [groupId] }));
    const out: TopicPartitionOffset[] = [];
    for (const g of res) for (const t of g.topics) for (const p of t.partitions) {
      const o = Number(p.committedOffset);
      if (o >= 0) out.push({ topic: t.name, partition: p.partitionIndex, offset: o });
    }
    return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  /** Null offsets are removed with OffsetDelete (the partition then has no committed offset at all). */
  async setGroupOffsets(groupId: string, offsets: { topic: string; partition: number; offset: number | null }[]): Promise<void> {
    const alter = new Map<string, { partition: number; offset: bigint }[]>();
    const remove = new Map<string, number[]>();
    for (const o of offsets) {
      if (o.offset === null) {
        const list = remove.get(o.topic) ?? [];
        list.push(o.partition);
        remove.set(o.topic, list);
      } else {
        const list = alter.get(o.topic) ?? [];
        list.push({ partition: o.partition, offset: BigInt(o.offset) });
        alter.set(o.topic, list);
      }
    }
    if (alter.size > 0) {
      await withRetry(() => this.admin.alterConsumerGroupOffsets({ groupId, topics: [...alter].map(([name, partitionOffsets]) => ({ name, partitionOffsets })) }));
    }
    if (remove.size > 0) {
      await withRetry(async () => {
        try {
          await this.admin.deleteConsumerGroupOffsets({ groupId, topics: [...remove].map(([name, partitionIndexes]) => ({ name, partitionIndexes })) });
        } catch (e) {
          // nothing committed for the group yet: nothing to remove
          if (!hasApiError(e as Error, 'GROUP_ID_NOT_FOUND')) throw e;
        }
      });
    }
  }

  async deleteGroup(groupId: string): Promise<void> {
    try {
      await withRetry(() => this.admin.deleteGroups({ groups: [groupId] }));
    } catch (e) {
      if (!hasApiError(e as Error, 'GROUP_ID_NOT_FOUND')) throw e;
    }
  }

  async groupMemberCount(groupId: string): Promise<number> {
    try {
      const groups = await withRetry(() => this.admin.describeGroups({ groups: [groupId] }));
      return groups.get(groupId)?.members.size ?? 0;
    } catch (e) {
      if (hasApiError(e as Error, 'GROUP_ID_NOT_FOUND')) return 0;
      throw e;
    }
  }

  /** Requests go one after another (each per-partition share under the request limit), so per-partition order is kept. */
  async send(messages: readonly OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    for (const chunk of splitForRequests(messages, requestShareLimit(this.options.producerProps))) {
      await this.producerClient.send({ messages: toPlatformaticMessages(chunk), acks: -1 });
    }
  }

  producer(options: RecordProducerOptions): RecordProducer {
    const props = { ...this.props('producer'), ...(options.overrides ?? {}) };
    const p = new PipelinedProducer({
      bootstrapServers: this.options.bootstrapServers,
      connection: this.connection('producer', options.overrides),
      clientId: options.clientId,
      props,
      logger: this.options.logger,
      maxInFlightBytes: options.maxInFlightBytes,
    });
    this.closables.add(p);
    return {
      send: (m) => p.send(m),
      flush: () => p.flush(),
      close: async () => { this.closables.delete(p); await p.close(); },
    };
  }

  transactionalProducer(options: TransactionalProducerOptions): TransactionalProducer {
    const p = new PlatformaticTransactionalProducer({
      bootstrapServers: this.options.bootstrapServers,
      connection: this.connection('producer', options.overrides),
      clientId: options.clientId,
      props: { ...this.props('producer'), ...(options.overrides ?? {}) },
      logger: this.options.logger,
      transactionalId: options.transactionalId,
      transactionTimeoutMs: options.transactionTimeoutMs,
      maxInFlightBytes: options.maxInFlightBytes,
    });
    this.closables.add(p);
    const close = p.close.bind(p);
    p.close = async () => { this.closables.delete(p); await close(); };
    return p;
  }

  groupConsumer(options: GroupConsumerOptions): GroupConsumer {
    return new PlatformaticGroupConsumer({
      bootstrapServers: this.options.bootstrapServers,
      connection: this.connection('consumer', options.overrides),
      props: { ...this.props('consumer'), ...(options.overrides ?? {}) },
      logger: this.options.logger,
      listTopics: () => this.listTopics(),
    }, options);
  }

  /**
   * Reads whole topics from the beginning and then follows them, without a consumer group (nothing
   * to commit): positions start at each partition's log start; outages are retried forever.
   */
  topicReader(topics: string[], onMessage: (m: ConsumedMessage) => void, groupId: string, options: { readCommitted?: boolean } = {}): TopicReader {
    const log = this.options.logger;
    const consumer = new Consumer({ ...baseOptions(this.options.bootstrapServers, groupId, this.props('consumer'), 5, this.connection('consumer')), groupId: libraryGroupId(groupId), metadataMaxAge: 5000 });
    const position = new Map<string, number>();
    const waiters: { target: Map<string, number>; resolve: () => void; reject: (e: Error) => void }[] = [];
    let stopped = false;
    let failure: Error | undefined;
    const checkWaiters = () => {
      for (let i = waiters.length - 1; i >= 0; i--) {
        const w = waiters[i]!;
        if ([...w.target].every(([k, end]) => (position.get(k) ?? 0) >= end)) {
          waiters.splice(i, 1);
          w.resolve();
        }
      }
    };
    const fetcher = new PartitionFetcher({
      consumer,
      maxWaitTime: 200,
      minBytes: 1,
      maxBytes: 8 * 1024 * 1024,
      maxBytesPerPartition: 4 * 1024 * 1024,
      isolationLevel: options.readCommitted ? 'read_committed' : 'read_uncommitted',
      offsetReset: 'earliest',
      canFetch: () => !stopped,
      onBatch: (batch) => {
        for (const m of batch.messages) onMessage(m);
        position.set(`${batch.topic}:${batch.partition}`, batch.messages[batch.messages.length - 1]!.offset + 1);
        checkWaiters();
      },
      onCaughtUp: (topic, partition, pos) => {
        const k = `${topic}:${partition}`;
        if ((position.get(k) ?? -1) < pos) position.set(k, pos);
        checkWaiters();
      },
      onRetrying: (failures, e) => { if (failures === 1 || failures % 20 === 0) log.debug(`reading ${topics.join(',')}: ${e.message}; retrying`); },
      onFatal: (e) => { failure = e; for (const w of waiters.splice(0)) w.reject(e); },
    });
    let started: Promise<void> | undefined;
    const start = () => (started ??= (async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          const listed = await consumer.listOffsets({ topics, timestamp: ListOffsetTimestamps.EARLIEST });
          for (const topic of topics) {
            (listed.get(topic) ?? []).forEach((o, partition) => {
              position.set(`${topic}:${partition}`, Number(o));
              fetcher.add(topic, partition, Number(o));
            });
          }
          return;
        } catch (e) {
          if (stopped) return;
          const security = withSecurityReason(e as Error);
          if (security !== e) {
            // refused credentials or an untrusted certificate: readToEnd fails with the reason
            failure = security;
            for (const w of waiters.splice(0)) w.reject(security);
            return;
          }
          if (attempt === 1 || attempt % 20 === 0) log.debug(`reading ${topics.join(',')}: ${(e as Error).message}; retrying`);
          await sleep(Math.min(2000, 100 * attempt));
        }
      }
    })());
    return {
      readToEnd: async () => {
        if (failure) throw failure;
        await start();
        if (failure) throw failure;
        const target = new Map<string, number>();
        for (const topic of topics) {
          for (const [partition, end] of await this.endOffsets(topic)) if (end > 0) target.set(`${topic}:${partition}`, end);
        }
        await new Promise<void>((resolve, reject) => { waiters.push({ target, resolve, reject }); checkWaiters(); });
      },
      stop: async () => {
        stopped = true;
        fetcher.stop();
        for (const w of waiters.splice(0)) w.resolve();
        await consumer.close(true).catch(() => undefined);
      },
    };
  }

  async readPartition(topic: string, partition: number, onRecords: PartitionRecordsHandler, options: PartitionReadOptions = {}): Promise<void> {
    if (!(await this.listTopics()).includes(topic)) return;
    const groupId = `${this.options.clientId}-read-${process.pid}-${++this.reads}`;
    const consumer = new Consumer({ ...baseOptions(this.options.bootstrapServers, groupId, this.props('consumer'), 5, this.connection('consumer')), groupId, metadataMaxAge: 5000 });
    let fetcher: PartitionFetcher | undefined;
    try {
      const [earliest, latest] = await Promise.all([ListOffsetTimestamps.EARLIEST, ListOffsetTimestamps.LATEST].map((timestamp) =>
        withRetry(() => consumer.listOffsets({ topics: [topic], timestamp })).then((listed) => listed.get(topic)?.[partition])));
      if (earliest === undefined || latest === undefined) return;
      const end = Number(latest);
      const from = Math.max(options.from ?? 0, Number(earliest));
      if (from >= end) return;
      const idleMs = options.idleTimeoutMs ?? DEFAULT_READ_IDLE_TIMEOUT_MS;
      await new Promise<void>((resolve, reject) => {
        let handling = false;
        let done = false;
        let lastError: Error | undefined;
        let idle: NodeJS.Timeout | undefined;
        const finish = (e?: Error) => {
          if (done) return;
          done = true;
          if (idle) clearTimeout(idle);
          if (e) reject(e); else resolve();
        };
        const progress = () => {
          if (idle) clearTimeout(idle);
          idle = setTimeout(() => finish(new Error(`reading ${topic}-${partition}: nothing fetched for ${idleMs} ms${lastError ? ` (${lastError.message})` : ''}`)), idleMs);
        };
        progress();
        fetcher = new PartitionFetcher({
          consumer,
          maxWaitTime: 200,
          minBytes: 1,
          maxBytes: 8 * 1024 * 1024,
          maxBytesPerPartition: 4 * 1024 * 1024,
          isolationLevel: 'read_uncommitted',
          offsetReset: 'earliest',
          canFetch: () => !handling && !done,
          onBatch: (batch) => {
            progress();
            const records = batch.messages.filter((m) => m.offset < end);
            const next = batch.messages[batch.messages.length - 1]!.offset + 1;
            handling = true;
            Promise.resolve()
              .then(() => (records.length > 0 ? onRecords(records) : undefined))
              .then((more) => {
                handling = false;
                if (more === false || next >= end) finish();
                else fetcher!.kick();
              }, (e: Error) => finish(e));
          },
          onCaughtUp: (_t, _p, position) => {
            progress();
            if (position >= end) finish();
          },
          onRetrying: (_failures, e) => { lastError = e; },
          onFatal: (e) => finish(e),
        });
        fetcher.add(topic, partition, from);
      });
    } finally {
      fetcher?.stop();
      await consumer.close(true).catch(() => undefined);
    }
  }

  isRetriable(error: unknown): boolean {
    return error instanceof Error && isRetriableKafkaError(error);
  }

  groupMembership(options: GroupMembershipOptions): GroupMembership {
    return new PlatformaticGroupMembership(this.options.bootstrapServers, this.connection('consumer'), options, this.options.logger);
  }

  pluginKafka(groupPrefix: string): PluginKafka {
    return followerPluginKafka(this, groupPrefix);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.closables].map((c) => c.close()));
    await Promise.allSettled([this.adminClient?.close(), this.sharedProducer?.close(true), this.offsetsReader?.close(true)]);
  }
}
