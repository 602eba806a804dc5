/**
 * Builds a SinkTaskRunner from a TaskSpec: the connector's plugin, its converters and
 * transformation chain, its error handling. The same code runs in a task's worker thread and,
 * with `kappa.task.threads=false`, in the worker's main thread.
 */
import type { PluginKafka, SinkConnectorDescriptor } from '../api';
import { ConfigException, EXACTLY_ONCE_CONFIG_DEF } from '../api';
import { parseConfig } from '../config/parse';
import { followerPluginKafka } from '../kafka/plugin-kafka';
import { parseFramework } from '../config/connector-config';
import type { WorkerConfig } from '../config/worker-config';
import type { KafkaClient } from '../kafka/port';
import type { LogRegistry } from '../logging/logger';
import type { PluginRegistry } from '../plugins/registry';
import { buildConverter } from './converters';
import type { ErrorHandlingConfig } from './errors';
import { SinkTaskRunner } from './sink-task-runner';
import type { TaskEvents, TaskSpec } from './task-spec';
import { buildChain } from './transformation-chain';

export interface TaskEnvironment {
  readonly registry: PluginRegistry;
  readonly workerConfig: WorkerConfig;
  /** the client the task's consumer, producer and plugins use */
  readonly kafka: KafkaClient;
  readonly logs: LogRegistry;
}

export function errorHandlingConfig(config: Readonly<Record<string, string>>): ErrorHandlingConfig {
  const framework = parseFramework(config, true);
  return {
    retryTimeoutMs: framework['errors.retry.timeout'] as number,
    retryDelayMaxMs: framework['errors.retry.delay.max.ms'] as number,
    tolerance: (framework['errors.tolerance'] as string).toLowerCase() === 'all' ? 'all' : 'none',
    logEnable: framework['errors.log.enable'] as boolean,
    logIncludeMessages: framework['errors.log.include.messages'] as boolean,
    dlqTopic: ((framework['errors.deadletterqueue.topic.name'] as string) ?? '').trim(),
    dlqReplicationFactor: framework['errors.deadletterqueue.topic.replication.factor'] as number,
    dlqContextHeaders: framework['errors.deadletterqueue.context.headers.enable'] as boolean,
  };
}

/** The connector's exactly-once settings (api/config.ts EXACTLY_ONCE_CONFIG_DEF), or undefined for at-least-once. */
export function exactlyOnceSettings(spec: TaskSpec, groupId: string): { transactionalId: string; transactionTimeoutMs: number; commitIntervalMs: number } | undefined {
  const { values } = parseConfig(EXACTLY_ONCE_CONFIG_DEF, spec.connectorConfig);
  if (values['processing.guarantee'] !== 'exactly_once_v2') return undefined;
  return {
    // stable per task: a restarted instance, here or on another worker, fences the one before it
    transactionalId: `kappa-${groupId}-${spec.connector}-${spec.taskId}`,
    transactionTimeoutMs: values['transaction.timeout.ms'] as number,
    commitIntervalMs: values['commit.interval.ms'] as number,
  };
}

export async function createSinkTaskRunner(spec: TaskSpec, env: TaskEnvironment, events: TaskEvents): Promise<SinkTaskRunner> {
  const { connector: name, taskId: id, connectorConfig: config } = spec;
  const cls = config['connector.class'] ?? '';
  const descriptor = env.registry.findConnector(cls) as SinkConnectorDescriptor | undefined;
  if (!descriptor) throw new ConfigException(env.registry.unknownConnectorMessage(cls));
  const framework = parseFramework(config, true);
  const [key, value, header] = await Promise.all([
    buildConverter('key.converter', config, env.workerConfig, env.registry),
    buildConverter('value.converter', config, env.workerConfig, env.registry),
    buildConverter('header.converter', config, env.workerConfig, env.registry),
  ]);
  const chain = buildChain(config, env.registry);
  const logger = env.logs.logger('io.kappa.connect.runtime.WorkerSinkTask', `${name}|task-${id}`);
  const exactlyOnce = exactlyOnceSettings(spec, env.workerConfig.groupId);
  // Under exactly-once a transformation's writes (state checkpoints, model publications) go into the
  // task's transaction, and what it reads back is what committed transactions wrote.
  const pluginKafka: PluginKafka = exactlyOnce
    ? { ...followerPluginKafka(env.kafka, `connect-${name}-${id}`, { readCommitted: true }), send: (records) => runner.sendWithTask(records) }
    : env.kafka.pluginKafka(`connect-${name}-${id}`);
  const runner: SinkTaskRunner = new SinkTaskRunner({
    connector: name,
    taskId: id,
    connectorConfig: config,
    taskConfig: spec.taskConfig,
    descriptor,
    kafka: env.kafka,
    keyConverter: key.converter,
    valueConverter: value.converter,
    keyConverterClass: key.className,
    valueConverterClass: value.className,
    headerConverter: header.converter,
    headerConverterClass: header.className,
    chain,
    errors: errorHandlingConfig(config),
    topics: (framework['topics'] as string[] | null) ?? [],
    topicsRegex: (framework['topics.regex'] as string | null) ?? '',
    offsetFlushIntervalMs: env.workerConfig.offsetFlushIntervalMs,
    shutdownTimeoutMs: env.workerConfig.taskShutdownTimeoutMs,
    startPaused: spec.startPaused,
    logger,
    onStateChange: (state, trace) => events.onStateChange(state, trace),
    onTopicSeen: (topic) => events.onTopicSeen(topic),
    exactlyOnce,
    onRestartNeeded: events.onRestartNeeded ? (reason) => events.onRestartNeeded!(reason) : undefined,
    transformationContext: {
      connectorName: name,
      taskId: id,
      workerId: env.workerConfig.workerId,
      logger: env.logs.logger('io.kappa.connect.runtime.Transformation', `${name}|task-${id}`),
      kafka: pluginKafka,
      workerConfig: env.workerConfig.raw,
      reportWarning: (message) => {
        // Shown in the task status as `trace` while the task keeps RUNNING (e.g. a refused model version).
        logger.warn(message);
        if (runner.state !== 'FAILED') events.onWarning(message);
      },
    },
  });
  return runner;
}
