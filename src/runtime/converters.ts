/**
 * Builds a connector's converters the way Connect does: the connector's own `key.converter`
 * (with its `key.converter.*` settings) when set, otherwise the worker's converter with the
 * worker's `key.converter.*` settings.
 */
import type { ConfigMap, Converter, PluginType } from '../api';
import { ConfigException } from '../api';
import { withPrefix } from '../config/parse';
import type { WorkerConfig } from '../config/worker-config';
import type { PluginRegistry } from '../plugins/registry';

export interface BuiltConverter { converter: Converter; className: string }

export async function buildConverter(
  which: 'key.converter' | 'value.converter' | 'header.converter',
  connectorConfig: ConfigMap,
  worker: WorkerConfig,
  registry: PluginRegistry,
): Promise<BuiltConverter> {
  const own = connectorConfig[which];
  const className = own && own.trim() !== '' ? own.trim() : (worker.raw[which] ?? (which === 'header.converter' ? worker.headerConverter : ''));
  const settings = own && own.trim() !== '' ? withPrefix(connectorConfig, which + '.') : withPrefix(worker.raw, which + '.');
  const types: PluginType[] = which === 'header.converter' ? ['header_converter', 'converter'] : ['converter'];
  const entry = registry.find(className, types);
  if (!entry) throw new ConfigException(`Invalid value ${className} for configuration ${which}: Class ${className} could not be found.`);
  const converter = entry.descriptor.create() as Converter;
  await converter.configure({ ...settings, 'converter.type': which.split('.')[0]! }, which === 'key.converter');
  return { converter, className: entry.descriptor.className };
}
