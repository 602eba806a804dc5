/**
 * The plugin registry: built-in plugins listed statically, third-party ones loaded from
 * `plugin.path`. Plugins are found as Connect finds them: by fully qualified class name, by simple
 * name, or by simple name without its type suffix (`FileStreamSinkConnector` → `FileStreamSink`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PluginDescriptor, PluginType, SinkConnectorDescriptor, Logger } from '../api';

const typeOrder: PluginType[] = ['sink', 'source', 'transformation', 'predicate', 'converter', 'header_converter'];
const suffixes: Partial<Record<PluginType, string>> = {
  sink: 'Connector', source: 'Connector', converter: 'Converter', header_converter: 'HeaderConverter',
};

export interface PluginEntry {
  readonly descriptor: PluginDescriptor;
  /** where it came from: `builtin` or the plugin.path folder */
  readonly location: string;
}

export function simpleName(className: string): string {
  return className.slice(className.lastIndexOf('.') + 1);
}

/** Connect's normalisation for suffix checks: drop a trailing `Connector`. */
export function prunedName(className: string, type: PluginType): string {
  const simple = simpleName(className);
  const suffix = suffixes[type];
  return suffix && simple.endsWith(suffix) && simple !== suffix ? simple.slice(0, -suffix.length) : simple;
}

export class PluginRegistry {
  private readonly entries: PluginEntry[] = [];

  constructor(builtins: readonly PluginDescriptor[]) {
    for (const d of builtins) this.add(d, 'builtin');
  }

  add(descriptor: PluginDescriptor, location: string): void {
    this.entries.push({ descriptor, location });
  }

  /** Loads every plugin module below the given folders; a broken module is logged and skipped. */
  loadPluginPath(folders: readonly string[], logger: Logger): void {
    for (const folder of folders) {
      const root = path.resolve(folder);
      if (!fs.existsSync(root)) { logger.warn(`plugin.path entry ${root} does not exist`); continue; }
      const candidates = [root, ...fs.readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => path.join(root, d.name))];
      for (const dir of candidates) {
        if (!fs.existsSync(path.join(dir, 'package.json')) && !fs.existsSync(path.join(dir, 'index.js'))) continue;
        try {
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          const mod = require(dir) as { plugins?: PluginDescriptor[]; default?: { plugins?: PluginDescriptor[] } };
          const plugins = mod.plugins ?? mod.default?.plugins ?? [];
          for (const p of plugins) {
            if (!p || typeof p.className !== 'string' || !typeOrder.includes(p.type) || typeof p.create !== 'function') {
              logger.warn(`Ignoring an invalid plugin descriptor in ${dir}`);
              continue;
            }
            this.add(p, dir);
            logger.info(`Loaded plugin ${p.className} (${p.type}) from ${dir}`);
          }
        } catch (e) {
          logger.error(`Failed to load plugins from ${dir}: ${(e as Error).message}`);
        }
      }
    }
  }

  /** All plugins, in Connect's listing order (sinks, sources, transformations, predicates, converters, header converters). */
  all(): PluginEntry[] {
    return [...this.entries].sort((a, b) =>
      typeOrder.indexOf(a.descriptor.type) - typeOrder.indexOf(b.descriptor.type) || a.descriptor.className.localeCompare(b.descriptor.className));
  }

  /** Finds a plugin of one of the given types by class name or alias. */
  find(name: string, types: readonly PluginType[]): PluginEntry | undefined {
    const candidates = this.entries.filter((e) => types.includes(e.descriptor.type));
    return candidates.find((e) => e.descriptor.className === name)
      ?? candidates.find((e) => e.descriptor.aliases?.includes(name))
      ?? candidates.find((e) => simpleName(e.descriptor.className) === name)
      ?? candidates.find((e) => prunedName(e.descriptor.className, e.descriptor.type) === name);
  }

  /** Any plugin by name, for /connector-plugins/{p}/config. */
  findAny(name: string): PluginEntry | undefined {
    return this.find(name, typeOrder);
  }

  findConnector(name: string): SinkConnectorDescriptor | undefined {
    return this.find(name, ['sink', 'source'])?.descriptor as SinkConnectorDescriptor | undefined;
  }

  /** Connect's message for an unknown connector class, listing what is available. */
  unknownConnectorMessage(name: string): string {
    const available = this.entries
      .filter((e) => (['sink', 'source'] as PluginType[]).includes(e.descriptor.type))
      .map((e) => `PluginDesc{klass=class ${e.descriptor.className}, name='${e.descriptor.className}', version='${e.descriptor.version}', encodedVersion=${e.descriptor.version}, type=${e.descriptor.type}, typeName='${e.descriptor.type}', location='${e.location}'}`);
    return `Failed to find any class that implements Connector and which name matches ${name}, available connectors are: ${available.join(', ')}`;
  }
}
