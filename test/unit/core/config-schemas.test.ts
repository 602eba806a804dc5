/**
 * The JSON Schemas in schemas/config/ are generated from the plugins' ConfigDefs
 * (scripts/config/gen-config-schemas.js): they must not drift from the code, and every example
 * connector config in connectors/ must satisfy them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { builtinPlugins } from '../../../src/plugins/builtins';
import { PluginRegistry } from '../../../src/plugins/registry';
import { pluginConfigSchema, schemaFileName } from '../../../src/config/json-schema';
import { withPrefix } from '../../../src/config/parse';

const root = path.resolve(__dirname, '..', '..', '..');
const schemaDir = path.join(root, 'schemas', 'config');
const registry = new PluginRegistry(builtinPlugins());
const ajv = new Ajv({ allErrors: true, strict: false });

describe('generated config schemas', () => {
  it('match the code (regenerate with `make build && node scripts/config/gen-config-schemas.js`)', () => {
    const expected = new Map(builtinPlugins().map((p) => [schemaFileName(p), JSON.stringify(pluginConfigSchema(p), null, 2) + '\n']));
    expect(fs.readdirSync(schemaDir).sort()).toEqual([...expected.keys()].sort());
    for (const [file, text] of expected) expect(fs.readFileSync(path.join(schemaDir, file), 'utf8')).toBe(text);
  });

  it('reject what the worker rejects: a non-numeric tasks.max, a missing required key', () => {
    const validate = ajv.compile(pluginConfigSchema(registry.findConnector('KafkaTopicSink')!));
    expect(validate({ name: 'x', 'connector.class': 'KafkaTopicSink', topics: 't', 'target.topic': 'o', 'tasks.max': '2' })).toBe(true);
    expect(validate({ name: 'x', 'connector.class': 'KafkaTopicSink', topics: 't', 'target.topic': 'o', 'tasks.max': 'two' })).toBe(false);
    expect(validate({ name: 'x', 'connector.class': 'KafkaTopicSink', topics: 't' })).toBe(false);
    expect(JSON.stringify(validate.errors)).toContain('target.topic');
  });

  const examples = fs.readdirSync(path.join(root, 'connectors')).filter((f) => f.endsWith('.json'));
  it.each(examples)('connectors/%s satisfies the schemas of its connector, converters and transforms', (file) => {
    const { name, config } = JSON.parse(fs.readFileSync(path.join(root, 'connectors', file), 'utf8')) as { name: string; config: Record<string, string> };
    const problems: string[] = [];
    const check = (className: string | undefined, types: Parameters<PluginRegistry['find']>[1], values: Record<string, string>, what: string) => {
      const plugin = className ? registry.find(className, types) : undefined;
      if (!plugin) { problems.push(`${what}: unknown class ${className}`); return; }
      const validate = ajv.compile(pluginConfigSchema(plugin.descriptor));
      if (!validate(values)) problems.push(`${what}: ${ajv.errorsText(validate.errors)}`);
    };
    check(config['connector.class'], ['sink'], { name, ...config }, 'connector');
    for (const which of ['key.converter', 'value.converter'] as const) {
      if (config[which]) check(config[which], ['converter'], withPrefix(config, `${which}.`), which);
    }
    for (const alias of (config['transforms'] ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
      const own = withPrefix(config, `transforms.${alias}.`);
      const { type, predicate, negate, ...rest } = own;
      void predicate; void negate;
      check(type, ['transformation'], rest, `transforms.${alias}`);
    }
    expect(problems).toEqual([]);
  });
});
