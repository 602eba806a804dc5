/**
 * Picks the adapter of the Kafka port: `platformatic` (default: @platformatic/kafka, fetch-ahead
 * and pipelined produce, cluster membership, transactions) or `kafkajs` (the single-worker data
 * plane the project first shipped with), as the worker property `kafka.client` says.
 */
import type { KafkaClient, KafkaClientKind, KafkaClientOptions } from './port';
import { KafkajsClient } from './kafkajs/client';
import { PlatformaticClient } from './platformatic/client';

export * from './port';
export { TopicCreationError } from './topic-errors';

export const KAFKA_CLIENT_KINDS: readonly KafkaClientKind[] = ['platformatic', 'kafkajs'];

export function createKafkaClient(kind: KafkaClientKind, options: KafkaClientOptions): KafkaClient {
  return kind === 'kafkajs' ? new KafkajsClient(options) : new PlatformaticClient(options);
}
