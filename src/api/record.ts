import type { Schema } from './data';

/**
 * One header of a record, as Connect's Header: a value with its schema. The task's header converter
 * (`header.converter`) reads each Kafka header into one (SimpleHeaderConverter by default: "42" is
 * INT8 42); transformations add, copy or drop them, and a sink that writes to Kafka turns them back
 * into bytes with the same converter.
 */
export interface Header {
  readonly key: string;
  /** the Connect value (a Buffer or string when whoever set the header gave no schema) */
  readonly value: unknown;
  /** the value's schema; null or absent when unknown */
  readonly schema?: Schema | null;
  /**
   * The Kafka bytes this header was read from, while it is unchanged since: a writer may reuse them
   * instead of converting the value back (lossless, and no work). A transformation that changes a
   * header builds a new Header without them (records and headers are never mutated).
   */
  readonly bytes?: Buffer | null;
}

/**
 * A header's value as text (model ids, flags): the text it was read from while unchanged (so
 * "007" stays "007" although SimpleHeaderConverter reads INT8 7), else strings as they are, bytes
 * as UTF-8, dates in ISO 8601, other values printed.
 */
export function headerText(h: Header): string | null {
  if (Buffer.isBuffer(h.bytes)) return h.bytes.toString('utf8');
  const v = h.value;
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
  return String(v);
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
