/**
 * Task configs as Connect's Worker builds them: the connector's taskConfigs(tasks.max), each with
 * `task.class` and the sink's `topics`/`topics.regex`; more than tasks.max fails the connector.
 */
import type { SinkConnector, SinkConnectorDescriptor } from '../api';
import { parseFramework } from '../config/connector-config';

export function generateTaskConfigs(name: string, instance: SinkConnector, descriptor: SinkConnectorDescriptor, config: Readonly<Record<string, string>>, workerMaxTasks: number): Record<string, string>[] {
  checkTasksMax(name, config, workerMaxTasks);
  const framework = parseFramework(config, true);
  const maxTasks = (framework['tasks.max'] as number | null) ?? 1;
  const configs = instance.taskConfigs(maxTasks).map((t) => ({
    ...t,
    'task.class': descriptor.taskClassName,
    ...(config['topics'] !== undefined ? { topics: config['topics'] } : {}),
    ...(config['topics.regex'] !== undefined ? { 'topics.regex': config['topics.regex'] } : {}),
  }));
  if (framework['tasks.max.enforce'] !== false && configs.length > maxTasks) {
    throw new Error(`The connector ${name} has generated ${configs.length} tasks, which is greater than ${maxTasks}, the maximum number of tasks it is configured to create.`);
  }
  return configs;
}

/**
 * Validation refuses tasks.max above the worker's limit; this guards configs stored before the
 * limit (or under a higher one): the connector fails with the reason and gets no tasks.
 */
export function checkTasksMax(name: string, config: Readonly<Record<string, string>>, workerMaxTasks: number): void {
  const maxTasks = (parseFramework(config, true)['tasks.max'] as number | null) ?? 1;
  if (maxTasks > workerMaxTasks) {
    throw new Error(`The connector ${name} asks for tasks.max=${maxTasks}, more than this worker's limit of ${workerMaxTasks} (kappa.connector.tasks.max.limit); no tasks were created`);
  }
}

export function sameConfigs(a: readonly Readonly<Record<string, string>>[], b: readonly Readonly<Record<string, string>>[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => sameConfig(x, b[i]!));
}

export function sameConfig(x: Readonly<Record<string, string>>, y: Readonly<Record<string, string>>): boolean {
  const kx = Object.keys(x);
  return kx.length === Object.keys(y).length && kx.every((k) => x[k] === y[k]);
}
