import type { Schema } from './data';

/** One header of a record; Connect headers carry a value with an optional schema. */
export interface Header {
  readonly key: string;
  /** raw bytes as read from Kafka (or null); header converters may turn them into other values */
  readonly value: Buffer | string | null;
}

/**
 * A record inside the worker, after the converters (Connect's SinkRecord).
 * Transformations return a new record (or null to drop it); they never mutate their input.
 */
export interface SinkRecord {
  readonly topic: string;
  readonly kafkaPartition: number;
  /** offset as a decimal string would lose nothing, but Connect uses long; we keep number (< 2^53) */
  readonly kafkaOffset: number;
  readonly timestamp: number | null;
  readonly keySchema: Schema | null;
  readonly key: unknown;
  readonly valueSchema: Schema | null;
  readonly value: unknown;
  readonly headers: readonly Header[];
}

/** The raw Kafka record as consumed, before converters; kept to feed the DLQ and error reports. */
export interface RawRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number | null;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly { key: string; value: Buffer | null }[];
}

export function withChanges(record: SinkRecord, changes: Partial<SinkRecord>): SinkRecord {
  return { ...record, ...changes };
}
