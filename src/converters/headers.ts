/**
 * Record headers through a header converter (`header.converter`), both ways: Kafka header bytes →
 * Connect header values with schemas when a task reads a record (Connect's WorkerSinkTask does the
 * same before the transformations), and back to bytes for a sink that writes records to Kafka.
 *
 * A converter with header methods (SimpleHeaderConverter) is called through them; any other
 * converter reads and writes a header as it would a value, as Connect's own converters do.
 */
import type { Converter, Header } from '../api';

type KafkaHeader = { readonly key: string; readonly value: Buffer | null };

/** Kafka headers → Connect headers. Throws the converter's error (the runtime's HEADER_CONVERTER stage). */
export function headersToConnect(converter: Converter, topic: string, kafkaHeaders: readonly KafkaHeader[]): readonly Header[] {
  const out: Header[] = new Array(kafkaHeaders.length);
  for (let i = 0; i < kafkaHeaders.length; i++) {
    const h = kafkaHeaders[i]!;
    const read = converter.toConnectHeader ? converter.toConnectHeader(topic, h.key, h.value) : converter.toConnectData(topic, h.value);
    out[i] = { key: h.key, schema: read.schema, value: read.value, bytes: h.value };
  }
  return out;
}

/**
 * Connect headers → Kafka header bytes for one record, or undefined when none has a value. A header
 * still carrying the bytes it was read from is written with them unchanged: the converter would
 * give the same bytes back at best, and SimpleHeaderConverter's reading is lossy ("007" reads as
 * INT8 7, text that is not UTF-8 is replaced), so a sink copying records keeps them exact.
 */
export function headersToKafka(converter: Converter, topic: string, headers: readonly Header[]): Record<string, Buffer> | undefined {
  let out: Record<string, Buffer> | undefined;
  for (const h of headers) {
    let bytes: Buffer | null;
    if (h.bytes !== undefined) bytes = h.bytes;
    else if (Object.isFrozen(h)) bytes = sharedHeaderBytes(converter, topic, h);
    else bytes = headerBytes(converter, topic, h);
    // a header without a value is left out (the producer port carries values only)
    if (bytes !== null) (out ??= {})[h.key] = bytes;
  }
  return out;
}

function headerBytes(converter: Converter, topic: string, h: Header): Buffer | null {
  return converter.fromConnectHeader ? converter.fromConnectHeader(topic, h.key, h.schema ?? null, h.value) : converter.fromConnectData(topic, h.schema ?? null, h.value);
}

/**
 * Frozen header objects are shared by many records (Score's provenance headers): their bytes are
 * kept for the last few (header, topic, converter) seen, so each is encoded once, not per record.
 * Frozen means the value cannot change under the cache; the bytes are read-only to the producer.
 */
const SHARED_SLOTS = 8;
const sharedHeaders: (Header | undefined)[] = new Array(SHARED_SLOTS);
const sharedTopics: (string | undefined)[] = new Array(SHARED_SLOTS);
const sharedConverters: (Converter | undefined)[] = new Array(SHARED_SLOTS);
const sharedBytes: (Buffer | null)[] = new Array(SHARED_SLOTS).fill(null);
let nextSlot = 0;

function sharedHeaderBytes(converter: Converter, topic: string, h: Header): Buffer | null {
  for (let i = 0; i < SHARED_SLOTS; i++) {
    if (sharedHeaders[i] === h && sharedTopics[i] === topic && sharedConverters[i] === converter) return sharedBytes[i]!;
  }
  const bytes = headerBytes(converter, topic, h);
  const slot = nextSlot;
  nextSlot = (nextSlot + 1) % SHARED_SLOTS;
  sharedHeaders[slot] = h;
  sharedTopics[slot] = topic;
  sharedConverters[slot] = converter;
  sharedBytes[slot] = bytes;
  return bytes;
}
