/**
 * A task's producer: sends are pipelined instead of awaited one by one. Each send() splits its
 * records into requests (per-partition share under the request limit), hands them to the client
 * and returns; it waits only while more than `maxInFlightBytes` are unacknowledged. flush()
 * resolves when everything sent before it is acknowledged, and rejects with the first failure.
 *
 * Order: the producer is idempotent (as Java's is by default), so requests in flight to one
 * partition keep their order even when one is retried. Outages: an idempotent send is retried
 * until the broker is back, so a task waits instead of failing (its status says it is degraded).
 */
import { Producer, compatibilityPartitioner } from '@platformatic/kafka';
import type { Logger } from '../../api';
import { approxSize, requestShareLimit, splitForRequests, type OutgoingMessage } from '../port';
import { withSecurityReason } from './errors';
import { baseOptions, producerTuning, type ConnectionSecurity } from './options';

type ProduceMessage = Parameters<Producer['send']>[0]['messages'][number];

const asBuffer = (v: Buffer | string | null | undefined): Buffer | undefined => (v == null ? undefined : typeof v === 'string' ? Buffer.from(v) : v);

/** Header names as bytes, made once per name (records repeat the same few names) */
const headerNames = new Map<string, Buffer>();
function headerName(name: string): Buffer {
  let bytes = headerNames.get(name);
  if (!bytes) {
    bytes = Buffer.from(name);
    if (headerNames.size < 10_000) headerNames.set(name, bytes);
  }
  return bytes;
}

export function toPlatformaticMessages(messages: readonly OutgoingMessage[]): ProduceMessage[] {
  const out: ProduceMessage[] = new Array(messages.length);
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    let headers: Map<Buffer, Buffer> | undefined;
    if (m.headers) {
      for (const k in m.headers) {
        headers ??= new Map();
        headers.set(headerName(k), asBuffer(m.headers[k])!);
      }
    }
    out[i] = {
      topic: m.topic,
      partition: m.partition,
      key: asBuffer(m.key),
      // a null value is a tombstone: the record keeps a null value
      value: asBuffer(m.value) as Buffer,
      headers,
      timestamp: m.timestamp == null ? undefined : BigInt(m.timestamp),
    } as ProduceMessage;
  }
  return out;
}

export interface PipelinedProducerOptions {
  bootstrapServers: string[];
  /** TLS and SASL of this producer */
  connection: ConnectionSecurity;
  clientId: string;
  props: Readonly<Record<string, string>>;
  logger: Logger;
  maxInFlightBytes?: number;
}

export class PipelinedProducer {
  private readonly producer: Producer;
  private readonly maxInFlight: number;
  private readonly shareLimit: number;
  private readonly acks: number;
  private readonly idempotent: boolean;
  private ready?: Promise<unknown>;
  private readonly inFlight = new Set<Promise<void>>();
  private inFlightBytes = 0;
  private failure?: Error;
  private closed = false;

  constructor(o: PipelinedProducerOptions) {
    const tuning = producerTuning(o.props, o.logger);
    this.acks = tuning.acks;
    this.idempotent = tuning.idempotent;
    this.maxInFlight = o.maxInFlightBytes ?? 8 * 1024 * 1024;
    this.shareLimit = requestShareLimit(o.props);
    this.producer = new Producer({
      // idempotent sends retry until the broker answers (the library's default for them)
      ...baseOptions(o.bootstrapServers, o.clientId, o.props, tuning.idempotent ? true : 5, o.connection),
      idempotent: tuning.idempotent,
      acks: tuning.acks,
      compression: tuning.compression,
      maxInflights: tuning.maxInflights,
      autocreateTopics: true,
      partitioner: compatibilityPartitioner,
    });
  }

  async send(messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error('the producer is closed');
    if (messages.length === 0) return;
    // one InitProducerId before the first request, so concurrent first sends share one producer id
    if (this.idempotent) await (this.ready ??= this.producer.initIdempotentProducer({}).catch((e: Error) => { this.ready = undefined; throw e; }));
    for (const chunk of splitForRequests(messages, this.shareLimit)) {
      while (this.inFlightBytes >= this.maxInFlight && this.inFlight.size > 0) {
        await Promise.race(this.inFlight);
        if (this.failure) throw this.failure;
      }
      let bytes = 0;
      for (const m of chunk) bytes += approxSize(m);
      this.inFlightBytes += bytes;
      const p: Promise<void> = this.producer.send({ messages: toPlatformaticMessages(chunk), acks: this.acks }).then(
        () => undefined,
        (e: Error) => { this.failure ??= withSecurityReason(e); },
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

  get pendingBytes(): number {
    return this.inFlightBytes;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.producer.close(true).catch(() => undefined);
  }
}
