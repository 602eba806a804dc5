'use strict';
/**
 * Baseline: the plainest kafkajs consume → produce loop over the same data. One consumer (group of
 * one) with eachBatch, each batch re-sent as is (same key, value, partition) with one sendBatch
 * (acks=all), offsets resolved per batch and auto-committed every second (as the worker's
 * offset.flush.interval.ms=1000). No conversion, no transformation. Like the worker, a batch
 * is split into requests of at most 256 KB per partition.
 */
/** same split limit as the worker's Kafka port (min(256 KB, 80 % of max.request.size)) */
const MAX_REQUEST_BYTES = Number(process.env.KAPPA_BENCH_RAW_SPLIT_BYTES) || 256 * 1024;

module.exports = {
  name: 'raw-kafkajs',
  description: 'kafkajs eachBatch → sendBatch loop (bytes passed through), commits every 1 s',
  baseline: true,
  async run(ctx) {
    const { bk, records, partitions, unique } = ctx;
    const input = await bk.createTopic(unique('in'), partitions);
    const output = await bk.createTopic(unique('out'), partitions);
    ctx.cleanupTopics.push(input, output);
    await bk.produceInput(input, records, partitions);

    const groupId = unique('group');
    const consumer = bk.kafka.consumer({ groupId, sessionTimeout: 30_000, heartbeatInterval: 3000 });
    const producer = bk.kafka.producer({ allowAutoTopicCreation: false, idempotent: false, maxInFlightRequests: 5 });
    await Promise.all([consumer.connect(), producer.connect()]);
    try {
      await consumer.subscribe({ topics: [input], fromBeginning: true });
      const t0 = Date.now();
      const watching = bk.watchOutput(output, records);
      await consumer.run({
        autoCommit: true,
        autoCommitInterval: 1000,
        eachBatchAutoResolve: true,
        eachBatch: async ({ batch }) => {
          // one partition's messages in one sendBatch form one record batch, which the broker refuses
          // above message.max.bytes (1 MB): split a full 1 MB fetch, sending the parts in order
          let part = [];
          let bytes = 0;
          const flush = async () => {
            if (part.length === 0) return;
            const messages = part;
            part = [];
            bytes = 0;
            await producer.sendBatch({ acks: -1, topicMessages: [{ topic: output, messages }] });
          };
          for (const m of batch.messages) {
            const size = 32 + (m.key ? m.key.length : 0) + (m.value ? m.value.length : 0);
            if (bytes + size > MAX_REQUEST_BYTES) await flush();
            part.push({ key: m.key, value: m.value, partition: batch.partition, timestamp: m.timestamp });
            bytes += size;
          }
          await flush();
        },
      });
      const { first, last, count } = await watching;
      const committedAt = await bk.waitCommitted(groupId, input, records);
      return { t0, first, last, committedAt, outputRecords: count };
    } finally {
      await consumer.disconnect().catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
      await bk.admin.deleteGroups([groupId]).catch(() => undefined);
    }
  },
};
