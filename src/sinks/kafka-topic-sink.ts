/**
 * Writes each record to a Kafka topic, keeping key, headers and timestamp. The target topic is a
 * template: `${topic}` is the record's topic after transformations, so RegexRouter or a template
 * such as `${topic}.scored` routes per record. Key and value are encoded with the connector's
 * converters (`key.converter`/`value.converter`), so JSON in gives JSON out unless told otherwise;
 * headers that a transformation set or changed with the header converter (`header.converter`), the
 * others with the bytes they came with.
 * put() queues the batch on the task's producer and returns (the next batch is processed while this
 * one travels); flush() resolves when the broker has acknowledged everything put (acks=all), so
 * offsets are committed only for records Kafka has.
 */
import { EXACTLY_ONCE_CONFIG_DEF, type ConfigDef, type ConfigMap, type ProducedRecord, type SinkConnector, type SinkConnectorDescriptor, type SinkRecord, type SinkTask, type SinkTaskContext } from '../api';
import { parseConfigOrThrow, validators } from '../config/parse';
import { BUILTIN_PLUGIN_VERSION } from '../api/version';
import { headersToKafka } from '../converters/headers';

const configDef: ConfigDef = [
  { name: 'target.topic', type: 'STRING', importance: 'HIGH', documentation: 'Topic to write to; ${topic} is replaced by the record\'s topic (after transformations).', group: 'Target', orderInGroup: 1, width: 'LONG', displayName: 'Target topic' },
  { name: 'target.partition', type: 'STRING', default: 'same', importance: 'MEDIUM', documentation: "'same' writes to the record's own partition number (keeps partition order; the target needs at least as many partitions); 'key' lets the producer choose by key.", group: 'Target', orderInGroup: 2, width: 'SHORT', displayName: 'Target partition', validator: validators.oneOf('same', 'key'), recommendedValues: ['same', 'key'] },
  // writes only through the task's producer: it can take part in exactly-once
  ...EXACTLY_ONCE_CONFIG_DEF,
];

class KafkaTopicSinkConnector implements SinkConnector {
  private config: ConfigMap = {};
  start(config: ConfigMap): void { this.config = config; parseConfigOrThrow(configDef, config); }
  taskConfigs(maxTasks: number): ConfigMap[] {
    return Array.from({ length: maxTasks }, () => ({ ...this.config, 'task.class': 'io.kappa.connect.kafka.KafkaTopicSinkTask' }));
  }
  stop(): void {}
}

class KafkaTopicSinkTask implements SinkTask {
  private template = '';
  /** target topic per record topic: the template is resolved once per topic, not per record */
  private readonly targets = new Map<string, string>();
  private samePartition = true;
  private context?: SinkTaskContext;

  start(config: ConfigMap, context: SinkTaskContext): void {
    const values = parseConfigOrThrow(configDef, config);
    this.template = values['target.topic'] as string;
    this.samePartition = values['target.partition'] === 'same';
    this.context = context;
  }

  async put(records: readonly SinkRecord[]): Promise<void> {
    const ctx = this.context!;
    const out: ProducedRecord[] = new Array(records.length);
    const topics = records.map((r) => this.targetFor(r.topic));
    // Converters that register schemas (Avro with a registry) prepare once per target topic.
    if (ctx.keyConverter.prepareEncode || ctx.valueConverter.prepareEncode) {
      const byTopic = new Map<string, SinkRecord[]>();
      records.forEach((r, i) => {
        const list = byTopic.get(topics[i]!);
        if (list) list.push(r); else byTopic.set(topics[i]!, [r]);
      });
      for (const [topic, list] of byTopic) {
        await ctx.keyConverter.prepareEncode?.(topic, list.map((r) => r.keySchema));
        await ctx.valueConverter.prepareEncode?.(topic, list.map((r) => r.valueSchema));
      }
    }
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      const topic = topics[i]!;
      const headers = r.headers.length > 0 ? headersToKafka(ctx.headerConverter, topic, r.headers) : undefined;
      out[i] = {
        topic,
        partition: this.samePartition ? r.kafkaPartition : undefined,
        key: ctx.keyConverter.fromConnectData(topic, r.keySchema, r.key),
        value: ctx.valueConverter.fromConnectData(topic, r.valueSchema, r.value),
        headers,
        timestamp: r.timestamp,
      };
    }
    await ctx.producer.enqueue(out);
  }

  private targetFor(topic: string): string {
    let target = this.targets.get(topic);
    if (target === undefined) {
      target = this.template.split('${topic}').join(topic);
      this.targets.set(topic, target);
    }
    return target;
  }

  flush(): Promise<void> {
    return this.context!.producer.flush();
  }

  stop(): void {}
}

export const kafkaTopicSink: SinkConnectorDescriptor = {
  className: 'io.kappa.connect.kafka.KafkaTopicSinkConnector',
  type: 'sink',
  version: BUILTIN_PLUGIN_VERSION,
  configDef,
  taskClassName: 'io.kappa.connect.kafka.KafkaTopicSinkTask',
  create: () => new KafkaTopicSinkConnector(),
  createTask: () => new KafkaTopicSinkTask(),
};
