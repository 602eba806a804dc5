/**
 * The cluster's state as every worker sees it: the config and status topics (Connect's
 * KafkaBasedLog), created if missing, read from the beginning at start and followed from then on.
 * Writes to the config topic resolve once they have been read back, so what a worker shows is the
 * topic's order whoever wrote. Start waits, retrying, while the broker is not reachable.
 */
import type { Logger } from '../api';
import type { WorkerConfig } from '../config/worker-config';
import { KafkaSecurityError, type KafkaClient, type TopicReader } from '../kafka/port';
import { ConfigStore } from './config-store';
import { StatusStore } from './status-store';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class ClusterState {
  readonly configs: ConfigStore;
  readonly statuses: StatusStore;
  private reader?: TopicReader;
  private stopped = false;

  constructor(private readonly kafka: KafkaClient, private readonly config: WorkerConfig, private readonly log: Logger) {
    this.configs = new ConfigStore(kafka, config.configTopic);
    this.statuses = new StatusStore(kafka, config.statusTopic, (e) => log.warn(`Failed to write a status: ${e.message}`));
    this.configs.setReadToEnd(() => this.readToEnd());
  }

  /** Creates the internal topics if needed and reads both topics up to their current end. */
  async start(): Promise<void> {
    const c = this.config;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.kafka.ensureTopics([
          { topic: c.configTopic, partitions: 1, replicationFactor: c.configReplicationFactor, config: { 'cleanup.policy': 'compact' } },
          { topic: c.statusTopic, partitions: c.statusPartitions, replicationFactor: c.statusReplicationFactor, config: { 'cleanup.policy': 'compact' } },
          { topic: c.offsetTopic, partitions: c.offsetPartitions, replicationFactor: c.offsetReplicationFactor, config: { 'cleanup.policy': 'compact' } },
        ]);
        break;
      } catch (e) {
        if (this.stopped) return;
        if (!this.kafka.isRetriable(e)) throw e;
        if (attempt === 1) this.log.warn(`Kafka at ${c.bootstrapServers.join(',')} is not reachable yet (${(e as Error).message}); waiting for it`);
        await sleep(Math.min(5000, 250 * attempt));
      }
    }
    this.reader = this.kafka.topicReader([c.configTopic, c.statusTopic], (m) => {
      try {
        if (m.topic === c.configTopic) this.configs.applyMessage(m);
        else this.statuses.applyMessage(m);
      } catch (e) {
        this.log.warn(`Skipping an unreadable record in ${m.topic} at offset ${m.offset}: ${(e as Error).message}`);
      }
    }, `${c.groupId}-state-reader-${process.pid}-${Date.now()}`);
    await this.readToEnd();
    this.configs.compactAfterReplay();
  }

  /** Resolves once both topics have been read up to the end offsets they have now. */
  async readToEnd(): Promise<void> {
    if (!this.reader) return;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.reader.readToEnd();
        return;
      } catch (e) {
        // refused credentials will not be accepted on a later attempt
        if (this.stopped || attempt >= 30 || e instanceof KafkaSecurityError) throw e;
        await sleep(Math.min(2000, 100 * attempt));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.statuses.flush();
    await this.reader?.stop();
  }
}
