'use strict';
/**
 * Avro input for the benchmark, as an outside producer would write it: the bench record's schema
 * registered in the Schema Registry (Confluent REST API) under `<topic>-value`, values encoded with
 * avsc in Confluent's wire format (magic byte 0, 4-byte big-endian schema id, Avro binary), keys
 * plain strings. Same records as the JSON scenarios (bench/lib/kafka.js recordValue), same
 * partitions, same batching.
 */
const avro = require('avsc');

const REGISTRY_URL = (process.env.SCHEMA_REGISTRY_URL || 'http://127.0.0.1:18081/apis/ccompat/v7').replace(/\/+$/, '');
const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/** The JSON bench record's fields as an Avro record (id/seq long, score double). */
const BENCH_SCHEMA = {
  type: 'record',
  name: 'BenchRecord',
  namespace: 'io.kappa.bench',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'seq', type: 'long' },
    { name: 'user', type: 'string' },
    { name: 'score', type: 'double' },
    { name: 'active', type: 'boolean' },
    { name: 'tag', type: 'string' },
  ],
};
const BENCH_SCHEMA_TEXT = JSON.stringify(BENCH_SCHEMA);
const benchType = avro.Type.forSchema(BENCH_SCHEMA);

async function registry(method, p, body) {
  let res;
  try {
    res = await fetch(REGISTRY_URL + p, {
      method,
      headers: { 'Content-Type': CONTENT_TYPE, Accept: CONTENT_TYPE },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    throw new Error(`no Schema Registry at ${REGISTRY_URL} (${e.cause ? e.cause.code || e.cause.message : e.message}): ` +
      'make bench starts it; by hand: bash scripts/registry/registry.sh start, or set SCHEMA_REGISTRY_URL');
  }
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!res.ok) throw new Error(`registry ${method} ${p}: HTTP ${res.status} ${text.slice(0, 500)}`);
  return json;
}

/** Registers `schemaText` under `subject`; returns the schema id. */
async function registerSchema(subject, schemaText) {
  const body = await registry('POST', `/subjects/${encodeURIComponent(subject)}/versions`, { schema: schemaText });
  if (!body || typeof body.id !== 'number') throw new Error(`registry returned no id for ${subject}: ${JSON.stringify(body)}`);
  return body.id;
}

/** The latest schema registered under `subject`: { id, schema (parsed) }. */
async function latestSchema(subject) {
  const body = await registry('GET', `/subjects/${encodeURIComponent(subject)}/versions/latest`);
  return { id: body.id, schema: JSON.parse(body.schema) };
}

/** Deletes a subject (soft, then permanent); errors ignored. */
async function deleteSubject(subject) {
  const p = `/subjects/${encodeURIComponent(subject)}`;
  await registry('DELETE', p).catch(() => undefined);
  await registry('DELETE', `${p}?permanent=true`).catch(() => undefined);
}

/** Record i of the bench data as an Avro value in the wire format with schema id `id`. */
function wireValue(id, i, partitions) {
  const body = benchType.toBuffer({ id: i, seq: Math.floor(i / partitions), user: `user-${i % 9973}`, score: (i % 1000) / 1000, active: i % 3 === 0, tag: 'bench' });
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = 0;
  out.writeInt32BE(id, 1);
  body.copy(out, 5);
  return out;
}

/**
 * Registers the bench schema under `<topic>-value` and produces `count` wire-format records
 * (record i → partition i % partitions, key `k<i>`), batches of 1000, a few in flight, acks=all.
 * Returns the input schema id.
 */
async function produceAvroInput(bk, topic, count, partitions, batch = 1000, inFlight = 4) {
  const id = await registerSchema(`${topic}-value`, BENCH_SCHEMA_TEXT);
  const producer = bk.kafka.producer({ allowAutoTopicCreation: false, idempotent: false, maxInFlightRequests: 5 });
  await producer.connect();
  try {
    let next = 0;
    const sendOne = async () => {
      while (next < count) {
        const start = next;
        next = Math.min(count, next + batch);
        const messages = [];
        for (let i = start; i < next; i++) messages.push({ key: `k${i}`, value: wireValue(id, i, partitions), partition: i % partitions });
        await producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] });
      }
    };
    await Promise.all(Array.from({ length: inFlight }, sendOne));
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
  return id;
}

module.exports = { REGISTRY_URL, BENCH_SCHEMA, BENCH_SCHEMA_TEXT, registry, registerSchema, latestSchema, deleteSubject, produceAvroInput, wireValue };
