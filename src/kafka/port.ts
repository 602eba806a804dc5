/**
 * The Kafka port: what the worker needs from Kafka, named by the worker's needs rather than by one
 * client library's shapes. Two adapters implement it (src/kafka/platformatic, the default, and
 * src/kafka/kafkajs); src/kafka is the only module that imports a Kafka client, so the rest of the
 * worker, its tests and its plugins never see a library type.
 *
 *   admin          topics, cluster id, consumer-group offsets and members
 *   send           the shared producer of the control plane (configs, statuses, model control)
 *   producer()     a task's own producer: pipelined sends with a bounded number of bytes in flight
 *   groupConsumer  a task's consumer-group member: batches per partition, fetched ahead
 *   topicReader    a whole topic read from the beginning and followed (Connect's KafkaBasedLog)
 *   readPartition  one partition read once, from an offset up to its end (model artifacts)
 */
import type { Logger, PluginKafka } from '../api';

export type KafkaClientKind = 'platformatic' | 'kafkajs';

export interface KafkaClientOptions {
  bootstrapServers: string[];
  clientId: string;
  logger: Logger;
  /**
   * the worker's top-level `security.protocol`, `sasl.*` and `ssl.*` settings: every client of the
   * worker uses them, under its role's own `consumer.*`/`producer.*`/`admin.*` security settings and a
   * connector's overrides (src/kafka/security.ts)
   */
  securityProps?: Record<string, string>;
  /** worker-wide `consumer.*`, `producer.*`, `admin.*` client settings (Java client names) */
  consumerProps?: Record<string, string>;
  producerProps?: Record<string, string>;
  adminProps?: Record<string, string>;
}

export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor: number;
  config?: Record<string, string>;
}

export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number | null;
  key: Buffer | null;
  value: Buffer | null;
  /** read-only: records without headers share one empty array */
  headers: readonly { key: string; value: Buffer | null }[];
}

/** The headers of every consumed record that has none (never mutated). */
export const NO_HEADERS: readonly { key: string; value: Buffer | null }[] = Object.freeze([]);

export interface OutgoingMessage {
  topic: string;
  partition?: number;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, Buffer | string>;
  timestamp?: number | null;
}

export interface TopicPartition { topic: string; partition: number }
export interface TopicPartitionOffset { topic: string; partition: number; offset: number }

/** One fetch's records of one partition, in offset order (never empty). */
export interface FetchedBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: ConsumedMessage[];
  /** approximate bytes held by this batch, counted against the consumer's fetch buffer until released */
  readonly bytes: number;
  /** the partition's high watermark as this fetch saw it (for the consumer lag metric), when the client tells */
  readonly highWatermark?: number;
}

export interface GroupConsumerOptions {
  groupId: string;
  /** read_committed: records of aborted transactions are skipped (exactly-once pipelines downstream) */
  readCommitted?: boolean;
  clientId: string;
  topics?: string[];
  topicsRegex?: RegExp;
  /** partitions this member now owns (after a join); their positions come from the committed offsets */
  onAssigned?(partitions: TopicPartition[]): void;
  /**
   * Partitions this member gives up; their queued batches are dropped. With `committable` (a
   * rebalance is starting and this member's generation is still valid) the owner may still commit
   * their offsets until the returned promise settles — the next owner starts from there, as a Connect
   * task commits in onPartitionsRevoked. Without it the group has already moved on: nothing may be
   * committed for them any more.
   */
  onRevoked?(partitions: TopicPartition[], info: { committable: boolean }): void | Promise<void>;
  /** a problem the consumer cannot get past by itself (the task fails with it) */
  onFatal?(error: Error): void;
  /** a retriable condition (broker unreachable, coordinator moving) that lasts; cleared by onRecovered */
  onDegraded?(reason: string): void;
  onRecovered?(): void;
  /** the connector's `consumer.override.*` settings (prefix removed), over the worker's `consumer.*` */
  overrides?: Record<string, string>;
  /** bytes of fetched records held before the consumer stops fetching (default 16 MB) */
  maxBufferedBytes?: number;
}

/**
 * A member of a consumer group. Fetching runs ahead of processing: `next()` hands over batches
 * that were fetched while the previous ones were processed, until `maxBufferedBytes` of unreleased
 * batches are held; then fetching waits (backpressure) until batches are released.
 */
export interface GroupConsumer {
  /** joins the group; waits (retrying) while the broker or a subscribed topic is not there yet */
  start(): Promise<void>;
  /** the next batch, in offset order per partition; null once stopped */
  next(): Promise<FetchedBatch | null>;
  /**
   * What a poll returns: the next batch and the batches queued behind it, of any partitions, up to
   * max.poll.records records in all (the first one whatever its size); each is handed out as by
   * next(). An adapter may return one batch at a time. Null once stopped.
   */
  nextPoll(): Promise<FetchedBatch[] | null>;
  /** a batch handed out by next() is done: its bytes leave the fetch buffer */
  release(batch: FetchedBatch): void;
  /** whether this member owns the partition now */
  owns(topic: string, partition: number): boolean;
  /**
   * Whether a batch handed out by next() may still be processed: its partition is owned and was not
   * given back (rebalance) or moved (seek) since the batch was fetched.
   */
  isCurrent(batch: FetchedBatch): boolean;
  /** stops fetching (the member stays in the group); queued batches stay queued */
  pause(): void;
  resume(): void;
  /** the next batch of the partition starts at `offset`; batches already queued for it are dropped */
  seek(topic: string, partition: number, offset: number): void;
  /** commits offsets of owned partitions (others are left out) */
  commit(offsets: TopicPartitionOffset[]): Promise<void>;
  /** leaves the group and closes every connection; after it resolves no request of this member is sent. Idempotent. */
  stop(): Promise<void>;
  /** the committed offsets of the given partitions (for a task that must go back to them) */
  committed(partitions: TopicPartition[]): Promise<TopicPartitionOffset[]>;
}

/**
 * A task's producer. `send` resolves once the records are handed to the client (after waiting
 * while too many bytes are in flight); `flush` resolves when everything sent before it is
 * acknowledged by the broker, and rejects with the first failure of any of them.
 */
export interface RecordProducer {
  send(messages: readonly OutgoingMessage[]): Promise<void>;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A task's transactional producer (`processing.guarantee=exactly_once_v2`): everything sent between
 * two commits — outputs, DLQ records, state checkpoints — and the consumer group's input offsets
 * become visible together or not at all. A transaction starts with the first send after a commit;
 * `sendOffsets` adds the input offsets with the consumer group's generation (KIP-447), so a task
 * instance that lost its partitions cannot commit them any more; a newer instance with the same
 * transactional id fences an older one (its next send or commit fails).
 */
export interface TransactionalProducer extends RecordProducer {
  readonly inTransaction: boolean;
  /**
   * Claims the transactional id (InitProducerId): an earlier instance's open transaction is
   * aborted and that instance fenced. Done before the task restores state, whose read_committed
   * reader would otherwise wait behind the dead instance's transaction until its timeout.
   */
  init(): Promise<void>;
  sendOffsets(consumer: GroupConsumer, offsets: TopicPartitionOffset[]): Promise<void>;
  /** waits for every send of the transaction, then commits it */
  commit(): Promise<void>;
  /** aborts the transaction (its records are never read by read_committed consumers) */
  abort(): Promise<void>;
}

export interface TransactionalProducerOptions extends RecordProducerOptions {
  /** stable per task, so that a restarted task fences its predecessor */
  transactionalId: string;
  transactionTimeoutMs: number;
}

export interface RecordProducerOptions {
  clientId: string;
  /** the connector's `producer.override.*` settings (prefix removed), over the worker's `producer.*` */
  overrides?: Record<string, string>;
  /** bytes in flight before send() waits (default 8 MB) */
  maxInFlightBytes?: number;
}

/** A group of processes that share work through the group coordinator (Connect's worker group). */
export interface GroupMembershipOptions {
  groupId: string;
  clientId: string;
  /** the group's protocol type, e.g. "connect" */
  protocolType: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** the protocols this member offers, asked before every JoinGroup (so the metadata is fresh) */
  protocols(): { name: string; metadata: Buffer }[];
  /** the leader's job: every member's assignment for this generation */
  assign(group: { generation: number; leaderId: string; protocol: string; members: { memberId: string; metadata: Buffer }[] }): Promise<Map<string, Buffer>>;
  /** this member's assignment for a generation */
  onAssigned(a: { generation: number; memberId: string; leaderId: string; protocol: string; assignment: Buffer }): void;
  /**
   * No contact with the coordinator for `lostAfterMs` (at least the session timeout): the group may
   * have given this member's work to others, so it should stop it (it rejoins when it can).
   */
  onLost?(reason: string): void;
  lostAfterMs?: number;
  /**
   * A rebalance is due and the member will join again: it gives back what it was assigned first
   * (eager protocol). `stillMember`: its generation is still valid, so it can commit its work now;
   * false when the group has already dropped it. Awaited before the JoinGroup.
   */
  beforeRejoin?(stillMember: boolean): Promise<void>;
  /** joining (or rejoining) failed `failures` times in a row; it is retried with backoff */
  onJoinFailing?(failures: number, error: Error): void;
}

export interface GroupMembership {
  /** joins in the background and keeps the membership alive until stop() */
  start(): void;
  /** asks for a new rebalance (the leader after a config change, a member after revoking work) */
  requestRejoin(reason: string): void;
  readonly memberId: string | null;
  readonly generation: number;
  /** leaves the group; idempotent */
  stop(): Promise<void>;
}

export interface TopicReader {
  /** resolves when every record up to the end offsets seen at call time has been delivered */
  readToEnd(): Promise<void>;
  stop(): Promise<void>;
}

/** What `KafkaClient.readPartition` reads and how. */
export interface PartitionReadOptions {
  /** the first offset to read (default, or when below it: the partition's log start) */
  from?: number;
  /**
   * Fails the read when no record and no empty fetch has come back for this long (default
   * 60 s): a broker that stays unreachable ends the read instead of holding it forever.
   */
  idleTimeoutMs?: number;
}

/**
 * The records of one fetch, in offset order. The read waits for the returned promise before it
 * fetches more (backpressure); returning `false` ends the read early. A throw or rejection ends it
 * and `readPartition` rejects with that error.
 */
export type PartitionRecordsHandler = (records: readonly ConsumedMessage[]) => boolean | void | Promise<boolean | void>;

export interface KafkaClient {
  readonly kind: KafkaClientKind;
  clusterId(): Promise<string>;
  /** Creates the topics that do not exist yet; existing ones are left as they are. Errors name the broker's reason. */
  ensureTopics(specs: TopicSpec[]): Promise<void>;
  listTopics(): Promise<string[]>;
  partitionsOf(topic: string): Promise<number[]>;
  endOffsets(topic: string): Promise<Map<number, number>>;
  deleteTopics(topics: string[]): Promise<void>;
  /** Committed offsets of a group, only partitions with a committed offset. */
  groupOffsets(groupId: string): Promise<TopicPartitionOffset[]>;
  /** Sets committed offsets of an inactive group; a null offset removes the partition's position. */
  setGroupOffsets(groupId: string, offsets: { topic: string; partition: number; offset: number | null }[]): Promise<void>;
  /** Deletes a consumer group; a group that does not exist is not an error. */
  deleteGroup(groupId: string): Promise<void>;
  /** Number of live members of a group (0 when empty or unknown). */
  groupMemberCount(groupId: string): Promise<number>;
  /** Sends with the shared producer, resolving when all records are acknowledged (acks=all). */
  send(messages: readonly OutgoingMessage[]): Promise<void>;
  producer(options: RecordProducerOptions): RecordProducer;
  /** a task's transactional producer; the kafkajs adapter has none (exactly-once needs kafka.client=platformatic) */
  transactionalProducer(options: TransactionalProducerOptions): TransactionalProducer;
  groupConsumer(options: GroupConsumerOptions): GroupConsumer;
  topicReader(topics: string[], onMessage: (m: ConsumedMessage) => void, groupId: string, options?: { readCommitted?: boolean }): TopicReader;
  /**
   * Reads one partition once, without a consumer group (nothing is committed): from `options.from`
   * (or the log start) up to the partition's end offset when the call starts, handing over each
   * fetch's records and waiting for the handler before fetching more. Resolves once the end is
   * reached or the handler returned false. Records are read uncommitted (no transactions expected).
   * A topic or partition that does not exist reads as empty.
   */
  readPartition(topic: string, partition: number, onRecords: PartitionRecordsHandler, options?: PartitionReadOptions): Promise<void>;
  /** A member of a group with its own protocol type (worker clusters). */
  groupMembership(options: GroupMembershipOptions): GroupMembership;
  /** The narrow Kafka access given to plugins (src/api PluginKafka). */
  pluginKafka(groupPrefix: string): PluginKafka;
  /** Whether an error of this client means "try again later" (broker unreachable, leader moving, coordinator loading). */
  isRetriable(error: unknown): boolean;
  /** Closes the shared admin and producer; idempotent. */
  close(): Promise<void>;
}

/** Upper estimate of a message's size inside a record batch (v2 record overhead ≤ ~30 bytes). */
export function approxSize(m: OutgoingMessage): number {
  const len = (v: Buffer | string | null | undefined) => (v == null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length);
  let n = 32 + len(m.key) + len(m.value);
  if (m.headers) for (const k in m.headers) n += 8 + k.length + len(m.headers[k]);
  return n;
}

/**
 * Splits messages into requests whose share of any one partition stays under `limit` bytes: a
 * broker rejects a record batch above `message.max.bytes` (1 MB by default), and a client puts all
 * records of one partition of one request into one batch. Order within a partition is kept.
 */
export function splitForRequests(messages: readonly OutgoingMessage[], limit: number): OutgoingMessage[][] {
  const chunks: OutgoingMessage[][] = [];
  let chunk: OutgoingMessage[] = [];
  const bytes = new Map<string, number>();
  // records mostly come in runs of one partition: the slot's count is kept in `used` during a run
  // and stored in the map when the run ends (no key string and map lookups per record)
  let topic: string | undefined;
  let partition: number | undefined;
  let slot: string | undefined;
  let used = 0;
  for (const m of messages) {
    if (slot === undefined || m.topic !== topic || m.partition !== partition) {
      if (slot !== undefined) bytes.set(slot, used);
      topic = m.topic;
      partition = m.partition;
      // partition unknown (chosen by key): count against the whole topic, conservatively
      slot = partition === undefined ? topic : `${topic}\u0000${partition}`;
      used = bytes.get(slot) ?? 0;
    }
    const size = approxSize(m);
    if (chunk.length > 0 && used + size > limit) {
      chunks.push(chunk);
      chunk = [];
      bytes.clear();
      used = 0;
    }
    chunk.push(m);
    used += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** The per-partition request share: 256 KB, or 80 % of `max.request.size` when that is smaller. */
export function requestShareLimit(producerProps: Readonly<Record<string, string>> | undefined): number {
  return Math.min(256 * 1024, Math.floor(Number(producerProps?.['max.request.size'] ?? 1048576) * 0.8));
}

/** The default idle timeout of `KafkaClient.readPartition`. */
export const DEFAULT_READ_IDLE_TIMEOUT_MS = 60_000;

/**
 * Kafka refused this client's credentials, or the broker's TLS certificate failed the check: a
 * retry cannot help, the configuration (src/kafka/security.ts) must change.
 */
export class KafkaSecurityError extends Error {
  override name = 'KafkaSecurityError';
  readonly retriable = false;
}

/** An error the caller may retry after a while: the broker or a leader is not reachable right now. */
export class KafkaUnavailableError extends Error {
  override name = 'KafkaUnavailableError';
  readonly retriable = true;
}
