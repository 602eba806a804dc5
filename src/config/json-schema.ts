/**
 * JSON Schemas of connector and plugin configs, generated from their ConfigDefs. Every value is a
 * string (Connect's configs are Map<String,String>); the schema states what the string must look
 * like (an integer, a boolean, a list), the defaults, the required keys and the documentation, so
 * editors and CI pipelines can check a connector config before it reaches a worker. The generated
 * files live in schemas/config/ and a test fails when they drift from the code.
 */
import type { ConfigDef, ConfigKey, PluginDescriptor } from '../api';
import { sinkConfigDef } from './connector-config';

const patterns: Partial<Record<ConfigKey['type'], string>> = {
  INT: '^\\s*[-+]?[0-9]+\\s*$',
  SHORT: '^\\s*[-+]?[0-9]+\\s*$',
  LONG: '^\\s*[-+]?[0-9]+\\s*$',
  DOUBLE: '^\\s*[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?\\s*$',
  BOOLEAN: '^\\s*([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])\\s*$',
};

export interface JsonSchema {
  $schema: string;
  title: string;
  description?: string;
  type: 'object';
  required: string[];
  properties: Record<string, Record<string, unknown>>;
  additionalProperties: { type: 'string' };
}

function propertyOf(key: ConfigKey): Record<string, unknown> {
  const p: Record<string, unknown> = { type: 'string', description: key.documentation, 'x-config-type': key.type };
  const pattern = patterns[key.type];
  if (pattern) p['pattern'] = pattern;
  if ('default' in key && key.default !== null && key.default !== undefined) {
    p['default'] = Array.isArray(key.default) ? key.default.join(',') : String(key.default);
  }
  if (key.recommendedValues && key.recommendedValues.length > 0) p['examples'] = [...key.recommendedValues];
  if (key.group) p['x-group'] = key.group;
  return p;
}

export function configDefToJsonSchema(def: ConfigDef, title: string, description?: string): JsonSchema {
  const properties: Record<string, Record<string, unknown>> = {};
  const required: string[] = [];
  for (const key of def) {
    properties[key.name] = propertyOf(key);
    if (!('default' in key)) required.push(key.name);
  }
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title,
    ...(description ? { description } : {}),
    type: 'object',
    required,
    properties,
    // transforms.<alias>.*, predicates.<alias>.*, converter and client settings: strings too
    additionalProperties: { type: 'string' },
  };
}

/** The schema of a plugin's config: a connector's includes the framework keys (name, topics, errors.*). */
export function pluginConfigSchema(plugin: PluginDescriptor): JsonSchema {
  const own = plugin.configDef;
  const def: ConfigDef = plugin.type === 'sink'
    ? [...sinkConfigDef().filter((k) => !own.some((o) => o.name === k.name)), ...own]
    : own;
  const kind = plugin.type === 'sink' ? 'sink connector' : plugin.type.replace('_', ' ');
  const schema = configDefToJsonSchema(def, plugin.className, `Configuration of the ${kind} ${plugin.className} (version ${plugin.version}). All values are strings.`);
  return schema;
}

/** File name of a plugin's schema in schemas/config/. */
export function schemaFileName(plugin: PluginDescriptor): string {
  return `${plugin.className.replace(/\$/g, '-')}${plugin.type === 'header_converter' ? '.header' : ''}.schema.json`;
}
