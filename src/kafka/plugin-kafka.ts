/**
 * The narrow Kafka access given to plugins (src/api PluginKafka), on top of any adapter of the
 * port: sends with the shared producer, topic creation, topics followed from the beginning
 * with a throw-away group id that never commits, and single partitions read once.
 */
import type { PluginKafka } from '../api';
import type { KafkaClient } from './port';

export function followerPluginKafka(client: KafkaClient, groupPrefix: string, options: { readCommitted?: boolean } = {}): PluginKafka {
  let followers = 0;
  return {
    send: (records) => client.send(records.map((r) => ({ ...r, headers: r.headers ? { ...r.headers } : undefined }))),
    ensureTopic: (topic, o = {}) => client.ensureTopics([{
      topic,
      partitions: o.partitions ?? 1,
      replicationFactor: o.replicationFactor ?? -1,
      config: o.compact ? { 'cleanup.policy': 'compact' } : undefined,
    }]),
    followTopics: (topics, onRecord) => client.topicReader([...topics], onRecord, `${groupPrefix}-follower-${process.pid}-${Date.now()}-${followers++}`, options),
    readPartition: (topic, partition, onRecords, o) => client.readPartition(topic, partition, onRecords, o),
  };
}
