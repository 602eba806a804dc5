/**
 * Assembles one worker from its compiled config: Kafka client, plugin registry, herder and REST
 * server, and takes them down in reverse order. `close()` is idempotent.
 */
import type { FastifyInstance } from 'fastify';
import { ConfigException } from './api';
import type { WorkerConfig } from './config/worker-config';
import { Herder } from './herder/herder';
import { createKafkaClient, type KafkaClient } from './kafka';
import { LogRegistry } from './logging/logger';
import { builtinPlugins } from './plugins/builtins';
import { PluginRegistry } from './plugins/registry';
import { buildServer } from './rest/server';
import { InlineTask, ThreadTask } from './runtime/task-handles';
import { servingSettings } from './ml/serving/hub';
import { WorkerMetrics } from './metrics/worker-metrics';
import { startMetricsListener } from './rest/metrics';
import type { Server } from 'node:http';
import { ConfigResolver } from './config/providers/resolver';
import { RestListeners } from './rest/listeners';
import { restTlsSettings, type RestTls } from './rest/tls';
import { basicAuthFrom, type BasicAuth } from './rest/basic-auth';

export class Worker {
  readonly logs: LogRegistry;
  readonly kafka: KafkaClient;
  readonly registry: PluginRegistry;
  readonly herder: Herder;
  readonly metrics: WorkerMetrics;
  private server?: FastifyInstance;
  private metricsServer?: Server;
  private readonly listeners: RestListeners;
  private readonly tls: RestTls | null;
  private readonly basicAuth: BasicAuth | null;
  private closing?: Promise<void>;

  constructor(readonly config: WorkerConfig, logs?: LogRegistry) {
    this.logs = logs ?? new LogRegistry(LogRegistry.parseLevel(config.logLevel) ?? 'INFO', undefined, config.logFormat);
    this.kafka = createKafkaClient(config.kafkaClient, {
      bootstrapServers: config.bootstrapServers,
      clientId: `connect-${config.groupId}`,
      logger: this.logs.logger('io.kappa.connect.kafka'),
      securityProps: { ...config.securityProps },
      consumerProps: { ...config.consumerProps },
      producerProps: { ...config.producerProps },
      adminProps: { ...config.adminProps },
    });
    this.registry = new PluginRegistry(builtinPlugins());
    this.registry.loadPluginPath(config.pluginPath, this.logs.logger('io.kappa.connect.plugins'));
    // The worker's default converters must exist, or no connector could ever run: fail at start.
    for (const [key, cls, types] of [
      ['key.converter', config.keyConverter, ['converter']],
      ['value.converter', config.valueConverter, ['converter']],
      ['header.converter', config.headerConverter, ['header_converter', 'converter']],
    ] as const) {
      if (!this.registry.find(cls, types)) throw new ConfigException(`Invalid value ${cls} for configuration ${key}: Class ${cls} could not be found.`);
    }
    // The serving layer's kappa.model.* properties are read when a model is first needed: check them now.
    try {
      servingSettings(config.raw);
    } catch (e) {
      throw new ConfigException((e as Error).message);
    }
    // REST security is read and checked now: a bad keystore or JAAS file stops the worker at start
    this.tls = restTlsSettings(config.raw, config.listeners.some((l) => l.protocol === 'https'));
    this.listeners = new RestListeners(config.listeners, this.tls);
    this.basicAuth = basicAuthFrom(config.raw);
    const env = { registry: this.registry, workerConfig: config, kafka: this.kafka, logs: this.logs };
    const threadServices = {
      logs: this.logs,
      catalogContext: { kafka: this.kafka.pluginKafka(`connect-${config.groupId}-models`), workerConfig: config.raw, logger: this.logs.logger('io.kappa.connect.ml.serving') },
      // the task's own graceful bound, plus time to leave its consumer group
      stopTimeoutMs: config.taskShutdownTimeoutMs + 15_000,
      youngGenerationMb: config.taskThreadYoungGenerationMb,
      logger: this.logs.logger('io.kappa.connect.Worker'),
    };
    this.herder = new Herder({
      config,
      kafka: this.kafka,
      registry: this.registry,
      logs: this.logs,
      createTask: (spec, events) => (config.taskThreads ? new ThreadTask(spec, events, threadServices) : new InlineTask(spec, events, env)),
      resolver: ConfigResolver.fromWorkerProperties(config.raw),
    });
    this.metrics = new WorkerMetrics({ workerId: config.workerId, connectorNames: () => this.herder.connectorNames(), connectorStatus: (n) => this.herder.connectorStatus(n) });

  }

  /** Starts the REST server first (so /health answers 503 while starting), then the herder. */
  async start(): Promise<void> {
    const log = this.logs.logger('io.kappa.connect.Worker');
    let markReady: () => void = () => undefined;
    let markFailed: (e: Error) => void = () => undefined;
    const ready = new Promise<void>((resolve, reject) => { markReady = resolve; markFailed = reject; });
    ready.catch(() => undefined);
    this.server = buildServer({
      herder: this.herder,
      registry: this.registry,
      logs: this.logs,
      config: this.config,
      clusterId: () => this.kafka.clusterId(),
      ready,
      metrics: this.metrics,
      publishClusterLogLevel: async (namespace, level) => {
        await this.kafka.send([{ topic: this.config.configTopic, partition: 0, key: `logger-cluster-${namespace}`, value: JSON.stringify({ level }) }]);
      },
      serverFactory: this.listeners.serverFactory,
      tls: this.tls,
      basicAuth: this.basicAuth,
    });
    const urls = await this.listeners.listen(this.server);
    log.info(`REST server listening on ${urls.join(', ')}, advertised as ${this.config.advertisedUrl}${this.basicAuth ? `, basic auth with the users of ${this.basicAuth.file}` : ''}`);
    const metricsListener = this.config.metricsListener;
    if (metricsListener) {
      this.metricsServer = await startMetricsListener(metricsListener, this.metrics);
      log.info(`Metrics listening on http://${metricsListener.host}:${metricsListener.port}/metrics`);
    }
    try {
      await this.herder.start();
      markReady();
    } catch (e) {
      markFailed(e as Error);
      throw e;
    }
    log.info('Worker started');
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const log = this.logs.logger('io.kappa.connect.Worker');
      log.info('Worker stopping');
      await this.herder.stop().catch((e) => log.error(`Herder stop failed: ${(e as Error).message}`));
      await this.server?.close().catch(() => undefined);
      await new Promise<void>((resolve) => (this.metricsServer ? this.metricsServer.close(() => resolve()) : resolve()));
      await this.listeners.closeOthers();
      await this.kafka.close();
      log.info('Worker stopped');
    })();
    return this.closing;
  }
}
