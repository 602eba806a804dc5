/**
 * A task's transactional producer (exactly_once_v2) on @platformatic/kafka. Sends are pipelined
 * inside the open transaction like PipelinedProducer's (bounded bytes in flight); the input offsets
 * go into the transaction with the consumer group's generation and member id (TxnOffsetCommit,
 * KIP-447), so the group coordinator refuses them from a member that lost its partitions; a newer
 * producer with the same transactional id (the task restarted, here or on another worker) bumps the
 * epoch and fences this one.
 */
import { Producer, compatibilityPartitioner } from '@platformatic/kafka';
import type { Logger } from '../../api';
import {
  approxSize, requestShareLimit, splitForRequests,
  type GroupConsumer, type OutgoingMessage, type TopicPartitionOffset, type TransactionalProducer,
} from '../port';
import { isRetriableKafkaError } from './errors';
import { PlatformaticGroupConsumer } from './group-consumer';
import { baseOptions, CONCURRENT_TRANSACTIONS_RETRY_MS, isConcurrentTransactions, producerTuning, type ConnectionSecurity } from './options';
import { toPlatformaticMessages } from './producer';

type Transaction = Awaited<ReturnType<Producer['beginTransaction']>>;
type ProduceMessage = Parameters<Producer['send']>[0]['messages'][number];

export interface TransactionalProducerDeps {
  bootstrapServers: string[];
  /** TLS and SASL of this producer */
  connection: ConnectionSecurity;
  clientId: string;
  props: Readonly<Record<string, string>>;
  logger: Logger;
  transactionalId: string;
  transactionTimeoutMs: number;
  maxInFlightBytes?: number;
}

export class PlatformaticTransactionalProducer implements TransactionalProducer {
  /** replaced after a failed begin (see begin) */
  private producer: Producer;
  private readonly maxInFlight: number;
  private readonly shareLimit: number;
  private tx?: Transaction;
  private beginning?: Promise<Transaction>;
  private readonly inFlight = new Set<Promise<void>>();
  private inFlightBytes = 0;
  private failure?: Error;
  private closed = false;
  /** InitProducerId done: the transactional id is this instance's until a newer one claims it */
  private claimed = false;
  /** the library producer in use has begun a transaction (has a producer id of its own) */
  private producerBegun = false;
  /** the producer id and epoch of the last claim, for a replacement library producer to claim after */
  private lastClaim?: { producerId: bigint; producerEpoch: number };
  /** how long coordinator requests are retried before the call fails (Java's max.block.ms) */
  private readonly blockMs: number;
  private readonly compression: ReturnType<typeof producerTuning>['compression'];
  /** the partitions the open transaction has added (written to) */
  private readonly transactionPartitions = new Set<string>();
  /** the chain that issues chunks in order, each behind the partitions an earlier one adds (see addNewPartitions) */
  private issuing: Promise<void> = Promise.resolve();
  private readonly partitionCounts = new Map<string, number>();

  constructor(private readonly d: TransactionalProducerDeps) {
    const tuning = producerTuning(d.props, d.logger);
    this.maxInFlight = d.maxInFlightBytes ?? 8 * 1024 * 1024;
    this.shareLimit = requestShareLimit(d.props);
    const block = Number(d.props['max.block.ms'] ?? 60_000);
    this.blockMs = Number.isFinite(block) && block >= 0 ? block : 60_000;
    this.compression = tuning.compression;
    this.producer = this.newProducer();
  }

  /**
   * A library producer for the transactional id. Its InitProducerId says "no previous producer"
   * (-1/-1) on the first claim: the library's default 0/0 reads as a claim to be producer 0, which
   * the coordinator fences once the transactional id has history. A replacement (see begin) gives
   * the last claim's id and epoch instead: the coordinator bumps that epoch if it is still the
   * current one and fences the call if a newer instance of the task has claimed the id since.
   */
  private newProducer(): Producer {
    return new Producer({
      ...baseOptions(this.d.bootstrapServers, this.d.clientId, this.d.props, 5, this.d.connection),
      // the library sends the transaction timeout with InitProducerId from `timeout`
      timeout: this.d.transactionTimeoutMs,
      idempotent: true,
      transactionalId: this.d.transactionalId,
      producerId: this.lastClaim?.producerId ?? -1n,
      producerEpoch: this.lastClaim?.producerEpoch ?? -1,
      acks: -1,
      compression: this.compression,
      autocreateTopics: true,
      partitioner: compatibilityPartitioner,
    });
  }

  /**
   * Retries a transaction's coordinator request (begin, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn)
   * while it fails with an error a retry can mend, for up to max.block.ms as Java's producer does.
   * The library gives up after a few tries, which on a busy broker is too soon: a coordinator still
   * writing the previous transaction's markers answers CONCURRENT_TRANSACTIONS for longer than the
   * library's five 20 ms retries, and a task whose commit failed that way used to fail for good.
   */
  private async persist<T>(what: string, op: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.blockMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await op();
      } catch (e) {
        if (this.closed || !(e instanceof Error) || !isRetriableKafkaError(e) || Date.now() >= deadline) throw e;
        if (attempt === 1) this.d.logger.debug(`${what} for ${this.d.transactionalId} failed, retrying for up to ${this.blockMs} ms: ${e.message}`);
        const delay = isConcurrentTransactions(e) ? CONCURRENT_TRANSACTIONS_RETRY_MS : Math.min(1000, 100 * 2 ** Math.min(4, attempt - 1));
        await new Promise((r) => setTimeout(r, Math.max(0, Math.min(delay, deadline - Date.now()))));
      }
    }
  }

  /**
   * Begins a transaction on the library producer. A begin that fails (FindCoordinator or
   * InitProducerId refused or unanswered) leaves the library producer with a transaction that
   * never started, and every later begin is refused with "There is already an active
   * transaction": the producer is replaced by a new one, which claims the id again from the last
   * claim's epoch (a fenced instance stays fenced).
   */
  private async begin(): Promise<Transaction> {
    try {
      const t = await this.producer.beginTransaction();
      this.claimed = true;
      this.producerBegun = true;
      const producerId = this.producer.producerId;
      const producerEpoch = this.producer.producerEpoch;
      if (producerId !== undefined && producerEpoch !== undefined) this.lastClaim = { producerId, producerEpoch };
      return t;
    } catch (e) {
      if (!this.closed && e instanceof Error && isRetriableKafkaError(e)) this.replaceProducer();
      throw e;
    }
  }

  private replaceProducer(): void {
    const old = this.producer;
    this.producer = this.newProducer();
    this.producerBegun = false;
    void old.close(true).catch(() => undefined);
  }

  get inTransaction(): boolean {
    return this.tx !== undefined || this.beginning !== undefined;
  }

  async init(): Promise<void> {
    if (this.claimed) return;
    // beginTransaction sends InitProducerId (and nothing else); cancel only forgets the local
    // transaction, the producer id and epoch stay for the next one
    const t = await this.persist('Claiming the transactional id', () => this.begin());
    await t.cancel();
  }

  private transaction(): Promise<Transaction> {
    if (this.tx) return Promise.resolve(this.tx);
    // Once fenced (a newer instance of the task claimed the transactional id), the library forgets
    // its producer id and would claim the id again on the next transaction, fencing the newer
    // instance in turn: a fenced producer never begins another transaction.
    if (this.claimed && this.producerBegun && this.producer.producerEpoch === undefined) {
      return Promise.reject(this.failure ??= new Error(`The transactional producer ${this.d.transactionalId} was fenced: a newer instance of this task has taken over its transactional id`));
    }
    this.beginning ??= this.persist('Beginning a transaction', () => this.begin()).then((t) => {
      this.tx = t;
      this.beginning = undefined;
      return t;
    }, (e: Error) => {
      this.beginning = undefined;
      throw e;
    });
    return this.beginning;
  }

  async send(messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error('the producer is closed');
    if (messages.length === 0) return;
    const tx = await this.transaction();
    for (const chunk of splitForRequests(messages, this.shareLimit)) {
      const out = toPlatformaticMessages(chunk);
      await this.placeOnPartitions(out);
      while (this.inFlightBytes >= this.maxInFlight && this.inFlight.size > 0) {
        await Promise.race(this.inFlight);
        if (this.failure) throw this.failure;
      }
      let bytes = 0;
      for (const m of chunk) bytes += approxSize(m);
      this.inFlightBytes += bytes;
      // Every chunk is issued in the order send() saw it (per-partition order), behind the
      // AddPartitionsToTxn of any chunk before it; the caller does not wait for that round trip.
      const issued = this.issuing.then(() => this.addNewPartitions(tx, out));
      this.issuing = issued.catch(() => undefined);
      const p: Promise<void> = issued.then(() => tx.send({ messages: out })).then(
        () => undefined,
        (e: Error) => { this.failure ??= e; },
      ).finally(() => {
        this.inFlightBytes -= bytes;
        this.inFlight.delete(p);
      });
      this.inFlight.add(p);
    }
  }

  /**
   * Adds the partitions of a chunk that the open transaction has not written to yet
   * (AddPartitionsToTxn), before the chunk is sent. The adds run one at a time on the issue chain:
   * the library folds concurrent adds into the first one, so a second chunk's new partitions would
   * never be added and the broker would answer its Produce with TRANSACTION_ABORTABLE. Chunks to
   * partitions already in the transaction are issued right away (the chain link is a microtask).
   */
  private addNewPartitions(tx: Transaction, out: ProduceMessage[]): Promise<void> | undefined {
    let fresh: Set<string> | undefined;
    // one record per new partition: the library walks every record it is given (building a key per
    // record), and only their topics and partitions matter
    let representatives: ProduceMessage[] | undefined;
    // a chunk's records come grouped by partition: one key per run of records, not per record
    let topic: string | undefined;
    let partition: number | undefined;
    for (const m of out) {
      if (m.topic === topic && m.partition === partition) continue;
      topic = m.topic;
      partition = m.partition;
      const key = `${topic}:${partition}`;
      if (this.transactionPartitions.has(key) || fresh?.has(key)) continue;
      (fresh ??= new Set()).add(key);
      (representatives ??= []).push(m);
    }
    if (!fresh || !representatives) return undefined;
    const topics = new Map<string, { partitionsCount: number }>();
    for (const m of representatives) topics.set(m.topic, { partitionsCount: this.partitionCounts.get(m.topic)! });
    // the library reads only each topic's partition count from the metadata
    return this.persist('Adding partitions to the transaction', () => tx.addPartitions({ topics } as never, representatives as never)).then(() => {
      for (const key of fresh) this.transactionPartitions.add(key);
    });
  }

  /**
   * Chooses every record's partition here (the library's own choice, Java's murmur2) and learns
   * every topic's partition count, so the transaction knows which partitions a chunk adds.
   */
  private async placeOnPartitions(out: ProduceMessage[]): Promise<void> {
    let unknown: Set<string> | undefined;
    for (const m of out) if (!this.partitionCounts.has(m.topic)) (unknown ??= new Set()).add(m.topic);
    if (unknown) {
      const topics = [...unknown];
      const metadata = await this.producer.metadata({ topics, autocreateTopics: true });
      for (const t of topics) {
        const count = metadata.topics.get(t)?.partitionsCount;
        if (!count) throw new Error(`no partitions known for topic ${t}`);
        this.partitionCounts.set(t, count);
      }
    }
    for (const m of out) {
      if (m.partition != null) continue;
      m.partition = compatibilityPartitioner(m as never, m.key as Buffer) % this.partitionCounts.get(m.topic)!;
    }
  }

  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
    if (this.failure) throw this.failure;
  }

  async sendOffsets(consumer: GroupConsumer, offsets: TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    if (!(consumer instanceof PlatformaticGroupConsumer)) throw new Error('exactly-once needs the consumer of the same client');
    const c = consumer.groupMember;
    const tx = await this.transaction();
    // AddOffsetsToTxn (the library reads only the group id)
    await this.persist('Adding the consumer group to the transaction', () => tx.addConsumer(c as never) ?? Promise.resolve());
    const producerId = this.producer.producerId;
    const producerEpoch = this.producer.producerEpoch;
    if (producerId === undefined || producerEpoch === undefined) throw new Error(`The transactional producer ${this.d.transactionalId} has no producer id`);
    await consumer.commitInTransaction({ transactionalId: this.d.transactionalId, producerId, producerEpoch }, offsets);
  }

  async commit(): Promise<void> {
    if (!this.tx && !this.beginning) return;
    await this.flush();
    const tx = await this.transaction();
    await this.persist('Committing the transaction', () => tx.commit());
    this.tx = undefined;
    this.transactionPartitions.clear();
  }

  async abort(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    const tx = this.tx ?? (this.beginning ? await this.beginning.catch(() => undefined) : undefined);
    await this.issuing;
    this.tx = undefined;
    const sendFailed = this.failure !== undefined;
    this.failure = undefined;
    this.transactionPartitions.clear();
    let ended: 'yes' | 'unreachable' | 'refused' = 'yes';
    if (tx && !tx.completed) {
      ended = await this.persist('Aborting the transaction', () => tx.abort()).then(() => 'yes' as const, (e: Error) => {
        this.d.logger.debug(`aborting the transaction of ${this.d.transactionalId}: ${e.message}`);
        return isRetriableKafkaError(e) ? 'unreachable' as const : 'refused' as const;
      });
    }
    // A new library producer, which claims the id again from the last claim's epoch (the
    // coordinator bumps it, and aborts the open transaction if there still is one), when the
    // transaction could not be ended (the library producer keeps it and refuses to begin another)
    // or a send failed (the library has counted the records' sequence numbers, and the broker
    // would answer the next send with OUT_OF_ORDER_SEQUENCE_NUMBER). A producer whose abort was
    // refused (fenced) is kept: it reports the fencing.
    if ((ended === 'unreachable' || (sendFailed && ended === 'yes')) && !this.closed) this.replaceProducer();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.producer.close(true).catch(() => undefined);
  }
}
