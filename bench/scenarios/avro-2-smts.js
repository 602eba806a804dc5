'use strict';
/**
 * Avro → two SMTs → Avro through the worker, with a real Schema Registry (SCHEMA_REGISTRY_URL,
 * default the local Apicurio of scripts/registry/registry.sh): the input is the bench data in
 * Confluent's wire format (schema registered first, encoded with avsc), the connector reads it with
 * AvroConverter, applies the same two SMTs as `pipeline-2-smts` and KafkaTopicSink writes Avro back
 * with AvroConverter, auto-registering the output schema under `<output>-value`. Timed like the
 * other pipeline scenarios (same worker, same N, same partitions). Afterwards (untimed) the output
 * schema is checked in the registry and one output record is decoded with it; both subjects are
 * deleted again.
 */
const avro = require('avsc');
const { pipelineScenario } = require('./pipeline');
const { REGISTRY_URL, registry, latestSchema, deleteSubject, produceAvroInput } = require('../lib/avro');

const AVRO_CONVERTER = 'io.confluent.connect.avro.AvroConverter';
const NAME = 'avro-2-smts';

/** Reads the first record of partition 0 of `topic` (raw bytes). */
async function firstRecord(bk, topic, timeoutMs = 30_000) {
  const groupId = `kappa-bench-avro-check-${Date.now().toString(36)}`;
  const consumer = bk.kafka.consumer({ groupId, maxBytesPerPartition: 64 * 1024 });
  await consumer.connect();
  try {
    let got;
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ autoCommit: false, eachMessage: async ({ partition, message }) => { if (partition === 0 && !got) got = message; } });
    const deadline = Date.now() + timeoutMs;
    while (!got && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (!got) throw new Error(`no record read back from ${topic} within ${timeoutMs} ms`);
    return got;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await bk.admin.deleteGroups([groupId]).catch(() => undefined);
  }
}

/** Checks the registered output schema and decodes one output record with it. */
async function checkOutput(bk, output) {
  const { id, schema } = await latestSchema(`${output}-value`);
  const names = schema.fields.map((f) => f.name);
  for (const f of ['id', 'sequence', 'user', 'score', 'active', 'tag', 'pipeline']) {
    if (!names.includes(f)) throw new Error(`output schema ${id} lacks field ${f}: ${JSON.stringify(schema)}`);
  }
  if (names.includes('seq')) throw new Error(`output schema ${id} still has seq: ${JSON.stringify(schema)}`);
  const msg = await firstRecord(bk, output);
  const v = msg.value;
  if (!v || v[0] !== 0 || v.readInt32BE(1) !== id) throw new Error(`output record is not wire format with schema id ${id}: ${v && v.subarray(0, 8).toString('hex')}`);
  const decoded = avro.Type.forSchema(schema, { wrapUnions: true }).fromBuffer(v.subarray(5));
  const pipeline = decoded.pipeline && typeof decoded.pipeline === 'object' ? decoded.pipeline.string : decoded.pipeline;
  if (decoded.id !== 0 || decoded.sequence !== 0 || decoded.tag !== 'bench' || pipeline !== 'kappa' || String(msg.key) !== 'k0') {
    throw new Error(`output record 0 decodes to ${JSON.stringify(decoded)} (key ${msg.key})`);
  }
}

const inner = pipelineScenario({
  name: NAME,
  description: '',
  connectorConfig: {
    'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
    'value.converter': AVRO_CONVERTER,
    'value.converter.schema.registry.url': REGISTRY_URL,
    'value.converter.auto.register.schemas': 'true',
    transforms: 'insert,rename',
    'transforms.insert.type': 'org.apache.kafka.connect.transforms.InsertField$Value',
    'transforms.insert.static.field': 'pipeline',
    'transforms.insert.static.value': 'kappa',
    'transforms.rename.type': 'org.apache.kafka.connect.transforms.ReplaceField$Value',
    'transforms.rename.renames': 'seq:sequence',
  },
});

module.exports = {
  name: NAME,
  description: 'worker: Avro (registry wire format) → AvroConverter → InsertField$Value + ReplaceField$Value → KafkaTopicSink → AvroConverter (output schema auto-registered), tasks.max=1',
  // printed after the main table (run.js prints each scenario's `table(rows)` when it supports it)
  table(rows) {
    const avroRow = rows.find((r) => r.name === NAME && !r.error);
    const pass = rows.find((r) => r.name === 'pipeline-passthrough' && !r.error);
    if (!avroRow || !pass) return '';
    return `${NAME}: ${avroRow.recordsPerSec} records/s = ${(avroRow.recordsPerSec / pass.recordsPerSec).toFixed(2)} × pipeline-passthrough ` +
      `(${pass.recordsPerSec} records/s, JSON, no SMTs); end-to-end ${(avroRow.endToEndRecordsPerSec / pass.endToEndRecordsPerSec).toFixed(2)} ×`;
  },
  async run(ctx) {
    await registry('GET', '/subjects'); // fails fast, with how to start the registry, before producing
    const input = ctx.unique('in');
    const output = ctx.unique('out');
    // the pipeline scenario's input step, with Avro records in place of JSON ones
    const bk = Object.create(ctx.bk);
    bk.produceInput = (topic, count, partitions) => produceAvroInput(ctx.bk, topic, count, partitions);
    try {
      const r = await inner.run({ ...ctx, bk });
      await checkOutput(ctx.bk, output);
      return r;
    } finally {
      await deleteSubject(`${input}-value`);
      await deleteSubject(`${output}-value`);
    }
  },
};
