/** Shared plumbing for the built-in SMTs: config parsing, $Key/$Value variants, Connect's Requirements. */
import {
  ConfigException, DataException, Struct,
  type ConfigDef, type ConfigKey, type ConfigMap, type Predicate, type PredicateDescriptor, type Schema, type SinkRecord,
  type Transformation, type TransformationDescriptor,
} from '../api';
import { BUILTIN_PLUGIN_VERSION } from '../api/version';
import { parseConfigOrThrow, type ParsedConfig } from '../config/parse';
import { describeType } from '../converters/decimal';
import { LruCache } from '../converters/lru';
import { withSchema } from '../converters/schemas';

export const TRANSFORMS_PKG = 'org.apache.kafka.connect.transforms';
export const PREDICATES_PKG = 'org.apache.kafka.connect.transforms.predicates';

export function configure(def: ConfigDef, config: ConfigMap): ParsedConfig {
  return parseConfigOrThrow(def, config);
}

/** Connect's ConfigException(name, value, message) wording. */
export function invalidValue(name: string, value: unknown, message: string): string {
  const shown = Array.isArray(value) ? `[${value.join(', ')}]` : String(value);
  return `Invalid value ${shown} for configuration ${name}: ${message}`;
}

export const v = {
  nonEmptyList: (value: unknown, name: string) =>
    Array.isArray(value) && value.length === 0 ? invalidValue(name, value, 'Empty list') : undefined,
  nonEmptyString: (value: unknown, name: string) =>
    typeof value === 'string' && value.length === 0 ? invalidValue(name, value, 'String must be non-empty') : undefined,
  in: (...allowed: string[]) => (value: unknown, name: string) =>
    typeof value === 'string' && !allowed.includes(value) ? invalidValue(name, value, `String must be one of: ${allowed.join(', ')}`) : undefined,
  regex: (value: unknown, name: string) => {
    if (typeof value !== 'string') return undefined;
    try {
      compileJavaRegex(value);
      return undefined;
    } catch (e) {
      return invalidValue(name, value, `Invalid regex: ${(e as Error).message}`);
    }
  },
};

/** Key definition helper with Connect's defaults. */
export function key(k: Partial<ConfigKey> & Pick<ConfigKey, 'name' | 'type' | 'documentation'>): ConfigKey {
  return { importance: 'MEDIUM', ...k };
}

/** Java regex → JS RegExp for a full match (Matcher.matches()). Named groups (?<n>) are the same in both. */
export function compileJavaRegex(pattern: string, flags = ''): RegExp {
  return new RegExp(`^(?:${pattern})$`, flags);
}

/** Java replacement string ($1, ${name}, \$) → JS replacement string. */
export function javaReplacement(replacement: string): string {
  let out = '';
  for (let i = 0; i < replacement.length; i++) {
    const c = replacement[i]!;
    if (c === '\\' && i + 1 < replacement.length) {
      const n = replacement[++i]!;
      out += n === '$' ? '$$' : n;
    } else if (c === '$' && replacement[i + 1] === '{') {
      const end = replacement.indexOf('}', i);
      out += `$<${replacement.slice(i + 2, end)}>`;
      i = end;
    } else {
      out += c;
    }
  }
  return out;
}

// ---------- Requirements ----------

export function isMapValue(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Struct)
    && !Buffer.isBuffer(value) && !(value instanceof Date) && !(value instanceof Uint8Array) && !(value instanceof Map);
}

export function requireMap(value: unknown, purpose: string): Record<string, unknown> {
  if (value instanceof Map) return Object.fromEntries(value) as Record<string, unknown>;
  if (!isMapValue(value)) throw new DataException(`Only Map objects supported in absence of schema for [${purpose}], found: ${nullSafeClassName(value)}`);
  return value;
}
export function requireMapOrNull(value: unknown, purpose: string): Record<string, unknown> | null {
  return value === null || value === undefined ? null : requireMap(value, purpose);
}
export function requireStruct(value: unknown, purpose: string): Struct {
  if (!(value instanceof Struct)) throw new DataException(`Only Struct objects supported for [${purpose}], found: ${nullSafeClassName(value)}`);
  return value;
}
export function requireStructOrNull(value: unknown, purpose: string): Struct | null {
  return value === null || value === undefined ? null : requireStruct(value, purpose);
}
export function requireSchema(schema: Schema | null, purpose: string): Schema {
  if (schema === null) throw new DataException(`Schema required for [${purpose}]`);
  return schema;
}
export function nullSafeClassName(value: unknown): string {
  return value === null || value === undefined ? 'null' : describeType(value);
}

// ---------- schema helpers ----------

/** SchemaUtil.copySchemaBasics: name, version, doc, parameters of `source` on a schema of `type`. */
export function copySchemaBasics(source: Schema, target: Partial<Schema> & Pick<Schema, 'type'>): Schema {
  const out: Record<string, unknown> = { optional: false, ...target };
  if (source.name !== undefined) out.name = source.name;
  if (source.version !== undefined) out.version = source.version;
  if (source.doc !== undefined) out.doc = source.doc;
  if (source.parameters !== undefined) out.parameters = { ...source.parameters };
  return out as unknown as Schema;
}

export function asOptional(schema: Schema): Schema {
  return schema.optional ? schema : withSchema(schema, { optional: true });
}

/** Per-instance cache of derived schemas (Connect's schemaUpdateCache, LRU of 16). */
export class SchemaCache {
  private readonly cache = new LruCache<Schema, Schema>(16);
  get(schema: Schema, build: (s: Schema) => Schema): Schema {
    let out = this.cache.get(schema);
    if (!out) {
      out = build(schema);
      this.cache.set(schema, out);
    }
    return out;
  }
}

// ---------- records and variants ----------

export interface Side {
  readonly isKey: boolean;
}
export function operatingSchema(record: SinkRecord, isKey: boolean): Schema | null {
  return isKey ? record.keySchema : record.valueSchema;
}
export function operatingValue(record: SinkRecord, isKey: boolean): unknown {
  return isKey ? record.key : record.value;
}
export function newRecord(record: SinkRecord, isKey: boolean, schema: Schema | null, value: unknown): SinkRecord {
  return isKey ? { ...record, keySchema: schema, key: value } : { ...record, valueSchema: schema, value };
}

/** Base class for SMTs: parses config against the def; subclasses implement `init` and `apply`. */
export abstract class BaseTransform implements Transformation {
  protected abstract readonly def: ConfigDef;
  configure(config: ConfigMap): void {
    this.init(configure(this.def, config), config);
  }
  protected abstract init(values: ParsedConfig, raw: ConfigMap): void;
  abstract apply(record: SinkRecord): SinkRecord | null;
  close(): void {}
}

export function transformation(className: string, configDef: ConfigDef, create: () => Transformation): TransformationDescriptor {
  return { className, type: 'transformation', version: BUILTIN_PLUGIN_VERSION, configDef, create };
}
export function keyValue(base: string, configDef: ConfigDef, create: (isKey: boolean) => Transformation): TransformationDescriptor[] {
  return [
    transformation(`${TRANSFORMS_PKG}.${base}$Key`, configDef, () => create(true)),
    transformation(`${TRANSFORMS_PKG}.${base}$Value`, configDef, () => create(false)),
  ];
}
export function predicate(className: string, configDef: ConfigDef, create: () => Predicate): PredicateDescriptor {
  return { className, type: 'predicate', version: BUILTIN_PLUGIN_VERSION, configDef, create };
}

export { ConfigException, DataException, Struct };
export { ConnectException as ConnectExceptionCtor } from "../api";
