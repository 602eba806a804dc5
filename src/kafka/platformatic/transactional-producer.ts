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
import { PlatformaticGroupConsumer } from './group-consumer';
import { baseOptions, producerTuning } from './options';
import { toPlatformaticMessages } from './producer';

type Transaction = Awaited<ReturnType<Producer['beginTransaction']>>;

export interface TransactionalProducerDeps {
  bootstrapServers: string[];
  clientId: string;
  props: Readonly<Record<string, string>>;
  logger: Logger;
  transactionalId: string;
  transactionTimeoutMs: number;
  maxInFlightBytes?: number;
}

export class PlatformaticTransactionalProducer implements TransactionalProducer {
  private readonly producer: Producer;
  private readonly maxInFlight: number;
  private readonly shareLimit: number;
  private tx?: Transaction;
  private beginning?: Promise<Transaction>;
  private readonly inFlight = new Set<Promise<void>>();
  private inFlightBytes = 0;
  private failure?: Error;
  private closed = false;

  constructor(private readonly d: TransactionalProducerDeps) {
    const tuning = producerTuning(d.props, d.logger);
    this.maxInFlight = d.maxInFlightBytes ?? 8 * 1024 * 1024;
    this.shareLimit = requestShareLimit(d.props);
    this.producer = new Producer({
      ...baseOptions(d.bootstrapServers, d.clientId, d.props, 5),
      // the library sends the transaction timeout with InitProducerId from `timeout`
      timeout: d.transactionTimeoutMs,
      idempotent: true,
      transactionalId: d.transactionalId,
      acks: -1,
      compression: tuning.compression,
      autocreateTopics: true,
      partitioner: compatibilityPartitioner,
    });
  }

  get inTransaction(): boolean {
    return this.tx !== undefined || this.beginning !== undefined;
  }

  private transaction(): Promise<Transaction> {
    if (this.tx) return Promise.resolve(this.tx);
    this.beginning ??= this.producer.beginTransaction().then((t) => {
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
      while (this.inFlightBytes >= this.maxInFlight && this.inFlight.size > 0) {
        await Promise.race(this.inFlight);
        if (this.failure) throw this.failure;
      }
      let bytes = 0;
      for (const m of chunk) bytes += approxSize(m);
      this.inFlightBytes += bytes;
      const p: Promise<void> = tx.send({ messages: toPlatformaticMessages(chunk) }).then(
        () => undefined,
        (e: Error) => { this.failure ??= e; },
      ).finally(() => {
        this.inFlightBytes -= bytes;
        this.inFlight.delete(p);
      });
      this.inFlight.add(p);
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
    await tx.addConsumer(c);
    // one TxnOffsetCommit per partition, one after another (the library folds concurrent ones into one)
    for (const o of offsets) {
      const message = {
        topic: o.topic,
        partition: o.partition,
        // the library commits `offset + 1`: the last record processed
        offset: BigInt(o.offset) - 1n,
        metadata: { consumer: { groupId: c.groupId, generationId: c.generationId, memberId: c.memberId, coordinatorId: c.coordinatorId } },
      };
      await tx.addOffset(message as never);
    }
  }

  async commit(): Promise<void> {
    if (!this.tx && !this.beginning) return;
    await this.flush();
    const tx = await this.transaction();
    await tx.commit();
    this.tx = undefined;
  }

  async abort(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    const tx = this.tx ?? (this.beginning ? await this.beginning.catch(() => undefined) : undefined);
    this.tx = undefined;
    this.failure = undefined;
    if (tx && !tx.completed) await tx.abort().catch((e: Error) => this.d.logger.debug(`aborting the transaction of ${this.d.transactionalId}: ${e.message}`));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.producer.close(true).catch(() => undefined);
  }
}
