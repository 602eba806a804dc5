/**
 * Entry of a sink task's worker thread: the task runs here on its own event loop (its own core),
 * with its own Kafka client, converters and transformation chain. The main thread keeps the
 * control plane, the REST API and the model catalog; this thread reaches the catalog and reports
 * its state through the channel (channel.ts):
 *
 *   main → thread   pause, resume, stop (request: resolves once everything is closed), log levels,
 *                   metrics.snapshot (request: this thread's metrics, when /metrics is scraped)
 *   thread → main   state, topic, warning, serving.* (scoring), learner.* (/learners)
 */
import { parentPort, workerData } from 'node:worker_threads';
import { compileWorkerConfig } from '../../config/worker-config';
import { createKafkaClient } from '../../kafka';
import { LogRegistry, type Level } from '../../logging/logger';
import { exposeLearners } from '../../ml/online/remote-learners';
import { exposeThreadMetrics } from '../../metrics/thread-bridge';
import { installServingHub } from '../../ml/serving/hub';
import { remoteServingHub } from '../../ml/serving/remote-hub';
import { builtinPlugins } from '../../plugins/builtins';
import { PluginRegistry } from '../../plugins/registry';
import { traceOf } from '../errors';
import type { SinkTaskRunner, TaskState } from '../sink-task-runner';
import { createSinkTaskRunner } from '../task-factory';
import type { TaskSpec } from '../task-spec';
import { Channel } from './channel';

export interface TaskThreadData {
  spec: TaskSpec;
  levels: Record<string, Level>;
}

async function main(): Promise<void> {
  if (!parentPort) throw new Error('task-thread.ts runs in a worker thread only');
  const { spec, levels } = workerData as TaskThreadData;
  const channel = new Channel(parentPort);
  const workerConfig = compileWorkerConfig({ ...spec.workerProps });
  const logs = new LogRegistry(LogRegistry.parseLevel(workerConfig.logLevel) ?? 'INFO', undefined, workerConfig.logFormat);
  logs.applySnapshot(levels);
  channel.on('log.levels', (l: Record<string, Level>) => logs.applySnapshot(l));
  const log = logs.logger('io.kappa.connect.runtime.TaskThread', `${spec.connector}|task-${spec.taskId}`);

  installServingHub(remoteServingHub(channel));
  exposeLearners(channel);
  exposeThreadMetrics(channel);

  const registry = new PluginRegistry(builtinPlugins());
  registry.loadPluginPath(workerConfig.pluginPath, logs.logger('io.kappa.connect.plugins'));
  const kafka = createKafkaClient(workerConfig.kafkaClient, {
    bootstrapServers: workerConfig.bootstrapServers,
    clientId: `connect-${workerConfig.groupId}-${spec.connector}-${spec.taskId}`,
    logger: logs.logger('io.kappa.connect.kafka', `${spec.connector}|task-${spec.taskId}`),
    securityProps: { ...workerConfig.securityProps },
    consumerProps: { ...workerConfig.consumerProps },
    producerProps: { ...workerConfig.producerProps },
    adminProps: { ...workerConfig.adminProps },
  });

  let runner: SinkTaskRunner | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= (async () => {
    await runner?.stop().catch((e: Error) => log.warn(`task stop failed: ${e.message}`));
    await kafka.close().catch(() => undefined);
  })());
  channel.on('pause', () => runner?.pause());
  channel.on('resume', () => runner?.resume());
  channel.handle('stop', () => stop());

  const events = {
    onStateChange: (state: TaskState, trace?: string) => channel.notify('state', { state, trace }),
    onTopicSeen: (topic: string) => channel.notify('topic', topic),
    onWarning: (message: string) => channel.notify('warning', message),
    // exactly-once after a rebalance: the runner has closed itself; build the task anew in this thread
    onRestartNeeded: (reason: string) => {
      if (stopping) return;
      log.info(`Rebuilding the task: ${reason}`);
      void build();
    },
  };
  const build = async (): Promise<void> => {
    try {
      runner = await createSinkTaskRunner(spec, { registry, workerConfig, kafka, logs }, events);
    } catch (e) {
      const error = e as Error;
      log.error(`Failed to start task ${spec.connector}-${spec.taskId}: ${error.message}`);
      channel.notify('state', { state: 'FAILED', trace: traceOf(error) });
      return;
    }
    if (stopping) {
      // stopped while it was being built: close what was built
      await runner.stop().catch(() => undefined);
      return;
    }
    await runner.start();
  };
  await build();
}

// A stray rejected promise must not take the task's thread down (the main process does the same).
process.on('unhandledRejection', (reason) => {
  process.stderr.write(`Unhandled promise rejection in task thread (task keeps running): ${(reason as Error)?.stack ?? String(reason)}\n`);
});

main().catch((e: Error) => {
  // nothing here may end the process: report and let the main thread decide
  parentPort?.postMessage({ kind: 'note', event: 'state', data: { state: 'FAILED', trace: traceOf(e) } });
});
