/**
 * org.apache.kafka.connect.json.JsonConverter: JSON with an optional {"schema","payload"} envelope.
 *
 * Decoding parses with JSON.parse, then walks the payload guided by the schema. Parsed schemas are
 * cached by their JSON text (schemas.cache.size entries, LRU). Encoding writes JSON text directly
 * (no intermediate tree), with each schema's JSON text cached per Schema object.
 */
import {
  ConfigException, DataException, LogicalTypes, Struct,
  type ConfigDef, type ConfigMap, type Converter, type ConverterDescriptor, type Field, type Schema, type SchemaAndValue, type SchemaType,
} from '../api';
import { BUILTIN_PLUGIN_VERSION } from '../api/version';
import { parseConfigOrThrow, validators } from '../config/parse';
import {
  bytesToUnscaled, decimalScale, describeType, formatDecimal, numberToPlain, parseDecimal, toUnscaled, unscaledToBytes,
} from './decimal';
import { LruCache } from './lru';
import { MAX_RECORD_DEPTH, nestingExceeds } from './nesting';
import { MILLIS_PER_DAY, dateToDays, schemaEquals, timeToMillis, timestampToMillis } from './schemas';

export const JSON_CONVERTER_CLASS = 'org.apache.kafka.connect.json.JsonConverter';

export const ENVELOPE_ERROR =
  'JsonConverter with schemas.enable requires "schema" and "payload" fields and may not contain additional fields. ' +
  'If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.';

/** ConverterConfig's `converter.type`, which the runtime passes to every converter. */
export const CONVERTER_TYPE_KEY = {
  name: 'converter.type',
  type: 'STRING',
  default: null,
  importance: 'LOW',
  documentation: 'How this converter will be used.',
  validator: validators.oneOf('key', 'value', 'header'),
  recommendedValues: ['key', 'value', 'header'],
} as const;

export const jsonConverterConfigDef: ConfigDef = [
  CONVERTER_TYPE_KEY,
  {
    name: 'schemas.enable', type: 'BOOLEAN', default: true, importance: 'HIGH',
    documentation: 'Include schemas within each of the serialized values and keys.',
    group: 'Schemas', orderInGroup: 0, width: 'MEDIUM', displayName: 'Enable Schemas',
  },
  {
    name: 'schemas.cache.size', type: 'INT', default: 1000, importance: 'HIGH',
    documentation: 'The maximum number of schemas that can be cached in this converter instance.',
    group: 'Schemas', orderInGroup: 1, width: 'MEDIUM', displayName: 'Schema Cache Size',
  },
  {
    name: 'decimal.format', type: 'STRING', default: 'BASE64', importance: 'LOW',
    documentation: "Controls which format this converter will serialize decimals in. This value is case insensitive and can be either 'BASE64' (default) or 'NUMERIC'",
    group: 'Serialization', orderInGroup: 0, width: 'MEDIUM', displayName: 'Decimal Format',
    validator: (value, name) =>
      typeof value === 'string' && !['BASE64', 'NUMERIC'].includes(value.toUpperCase())
        ? `Invalid value ${value} for configuration ${name}: String must be one of (case insensitive): BASE64, NUMERIC`
        : undefined,
    recommendedValues: ['BASE64', 'NUMERIC'],
  },
  {
    name: 'replace.null.with.default', type: 'BOOLEAN', default: true, importance: 'LOW',
    documentation: 'Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used.',
    group: 'Serialization', orderInGroup: 1, width: 'MEDIUM', displayName: 'Replace null with default',
  },
];

const JSON_TYPE_NAMES: Record<SchemaType, string> = {
  int8: 'int8', int16: 'int16', int32: 'int32', int64: 'int64', float32: 'float', float64: 'double',
  boolean: 'boolean', string: 'string', bytes: 'bytes', array: 'array', map: 'map', struct: 'struct',
};
const FROM_JSON_TYPE_NAMES: Record<string, SchemaType> = {
  int8: 'int8', int16: 'int16', int32: 'int32', int64: 'int64', float: 'float32', double: 'float64',
  boolean: 'boolean', string: 'string', bytes: 'bytes', array: 'array', map: 'map', struct: 'struct',
};

/** Jackson's node type names, used in Connect's error messages. */
function nodeType(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (Array.isArray(v)) return 'ARRAY';
  switch (typeof v) {
    case 'string': return 'STRING';
    case 'number': return 'NUMBER';
    case 'boolean': return 'BOOLEAN';
    default: return 'OBJECT';
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v) && !(v instanceof Date) && !(v instanceof Struct) && !(v instanceof Map) && !(v instanceof Uint8Array);
}

export interface JsonConverterOptions {
  schemasEnable: boolean;
  cacheSize: number;
  decimalNumeric: boolean;
  replaceNullWithDefault: boolean;
}

/**
 * The JSON ↔ Connect codec itself, usable without a converter (e.g. by the REST layer or DLQ):
 * schema ↔ JSON schema, value ↔ JSON text.
 */
export class JsonCodec {
  private readonly toConnectSchemaCache: LruCache<string, Schema>;
  private readonly fromConnectSchemaCache: LruCache<Schema, string>;

  constructor(readonly options: JsonConverterOptions) {
    this.toConnectSchemaCache = new LruCache(options.cacheSize);
    this.fromConnectSchemaCache = new LruCache(options.cacheSize);
  }

  // ---------- JSON text → Connect ----------

  toConnect(bytes: Buffer | null): SchemaAndValue {
    if (bytes === null) return { schema: null, value: null };
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch (e) {
      throw new DataException(`Converting byte[] to Kafka Connect data failed due to serialization error: ${(e as Error).message}`);
    }
    // Refused here as one record's error: deeper values would overflow the stack later (encoding,
    // SMTs), in the middle of a batch. Each level takes two bytes at least ([ and ]), so only
    // documents that long need the walk.
    if (bytes.length > 2 * MAX_RECORD_DEPTH && nestingExceeds(json, MAX_RECORD_DEPTH)) {
      throw new DataException(`Converting byte[] to Kafka Connect data failed due to serialization error: document nesting depth exceeds the maximum allowed (${MAX_RECORD_DEPTH})`);
    }
    if (!this.options.schemasEnable) return { schema: null, value: this.valueToConnect(null, json) };
    if (!isPlainObject(json)) throw new DataException(ENVELOPE_ERROR);
    let n = 0;
    for (const k in json) {
      n++;
      if (k !== 'schema' && k !== 'payload') throw new DataException(ENVELOPE_ERROR);
    }
    if (n !== 2) throw new DataException(ENVELOPE_ERROR);
    const schema = this.cachedSchemaFromJson(json.schema);
    return { schema, value: this.valueToConnect(schema, json.payload) };
  }

  private cachedSchemaFromJson(jsonSchema: unknown): Schema | null {
    if (jsonSchema === null) return null;
    const key = JSON.stringify(jsonSchema);
    const cached = this.toConnectSchemaCache.get(key);
    if (cached) return cached;
    const schema = this.schemaFromJson(jsonSchema);
    if (schema) this.toConnectSchemaCache.set(key, schema);
    return schema;
  }

  /** Connect's asConnectSchema: JSON schema object → Schema (null for JSON null). */
  schemaFromJson(json: unknown): Schema | null {
    if (json === null) return null;
    if (!isPlainObject(json)) throw new DataException("Schema must contain 'type' field");
    const typeName = json.type;
    if (typeof typeName !== 'string') throw new DataException("Schema must contain 'type' field");
    const type = FROM_JSON_TYPE_NAMES[typeName];
    if (!type) throw new DataException(`Unknown schema type: ${typeName}`);
    const s: { -readonly [K in keyof Schema]: Schema[K] } = { type, optional: json.optional === true };
    switch (type) {
      case 'array': {
        const items = json.items;
        if (items === undefined || items === null) throw new DataException('Array schema did not specify the element type');
        s.valueSchema = this.schemaFromJson(items)!;
        break;
      }
      case 'map': {
        if (json.keys === undefined) throw new DataException('Map schema did not specify the key type');
        if (json.values === undefined) throw new DataException('Map schema did not specify the value type');
        s.keySchema = this.schemaFromJson(json.keys)!;
        s.valueSchema = this.schemaFromJson(json.values)!;
        break;
      }
      case 'struct': {
        const fields = json.fields;
        if (!Array.isArray(fields)) throw new DataException('Struct schema\'s "fields" argument is not an array.');
        const out: Field[] = [];
        const seen = new Set<string>();
        for (const f of fields) {
          const fname = isPlainObject(f) ? f.field : undefined;
          if (typeof fname !== 'string') throw new DataException("Struct schema's field name not specified properly");
          if (seen.has(fname)) throw new DataException(`Cannot create field because of field name duplication ${fname}`);
          seen.add(fname);
          out.push({ name: fname, index: out.length, schema: this.schemaFromJson(f)! });
        }
        s.fields = out;
        break;
      }
      default:
        break;
    }
    if (typeof json.name === 'string') s.name = json.name;
    if (typeof json.version === 'number' && Number.isInteger(json.version)) s.version = json.version;
    if (typeof json.doc === 'string') s.doc = json.doc;
    if (isPlainObject(json.parameters)) {
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(json.parameters)) {
        if (typeof v !== 'string') throw new DataException('Schema parameters must have string values.');
        params[k] = v;
      }
      s.parameters = params;
    }
    if (json.default !== undefined) {
      const dv = this.valueToConnect(s, json.default);
      if (dv !== null) s.defaultValue = dv;
    }
    return s;
  }

  /** Connect's convertToConnect: parsed JSON → Connect value, guided by `schema` (or inferred when null). */
  valueToConnect(schema: Schema | null, v: unknown): unknown {
    if (schema === null) return this.schemalessToConnect(v);
    if (v === null || v === undefined) {
      if (schema.defaultValue !== undefined && schema.defaultValue !== null && this.options.replaceNullWithDefault) return schema.defaultValue;
      if (schema.optional) return null;
      throw new DataException(`Invalid null value for required ${schema.type.toUpperCase()} field`);
    }
    if (schema.name !== undefined) {
      switch (schema.name) {
        case LogicalTypes.Decimal: {
          if (schema.type !== 'bytes') break;
          const scale = decimalScale(schema);
          if (typeof v === 'number') return formatDecimal(toUnscaled(v, Math.max(scale, decimalPlaces(v))), Math.max(scale, decimalPlaces(v)));
          if (typeof v === 'string') {
            const buf = Buffer.from(v, 'base64');
            return formatDecimal(bytesToUnscaled(buf), scale);
          }
          throw new DataException(`Invalid type for Decimal, underlying representation should be numeric or bytes but was ${nodeType(v)}`);
        }
        case LogicalTypes.Date:
          if (schema.type !== 'int32') break;
          if (typeof v !== 'number' || !Number.isInteger(v)) throw new DataException(`Invalid type for Date, underlying representation should be integer but was ${nodeType(v)}`);
          return new Date(v * MILLIS_PER_DAY);
        case LogicalTypes.Time:
          if (schema.type !== 'int32') break;
          if (typeof v !== 'number' || !Number.isInteger(v)) throw new DataException(`Invalid type for Time, underlying representation should be integer but was ${nodeType(v)}`);
          return new Date(v);
        case LogicalTypes.Timestamp:
          if (schema.type !== 'int64') break;
          if (typeof v !== 'number' || !Number.isInteger(v)) throw new DataException(`Invalid type for Timestamp, underlying representation should be integral but was ${nodeType(v)}`);
          return new Date(v);
        default:
          break;
      }
    }
    switch (schema.type) {
      case 'boolean':
        if (typeof v !== 'boolean') throw mismatch(schema, v);
        return v;
      case 'int8':
        if (typeof v !== 'number') throw mismatch(schema, v);
        return (Math.trunc(v) << 24) >> 24;
      case 'int16':
        if (typeof v !== 'number') throw mismatch(schema, v);
        return (Math.trunc(v) << 16) >> 16;
      case 'int32':
        if (typeof v !== 'number') throw mismatch(schema, v);
        return Math.trunc(v) | 0;
      case 'int64':
        if (typeof v !== 'number') throw mismatch(schema, v);
        return Math.trunc(v);
      case 'float32':
      case 'float64':
        if (typeof v === 'number') return v;
        if (v === 'NaN') return NaN;
        if (v === 'Infinity') return Infinity;
        if (v === '-Infinity') return -Infinity;
        throw mismatch(schema, v);
      case 'string':
        if (typeof v !== 'string') throw mismatch(schema, v);
        return v;
      case 'bytes':
        if (typeof v !== 'string') throw new DataException('Invalid bytes field');
        return Buffer.from(v, 'base64');
      case 'array': {
        if (!Array.isArray(v)) throw mismatch(schema, v);
        const elem = schema.valueSchema ?? null;
        const out = new Array<unknown>(v.length);
        for (let i = 0; i < v.length; i++) out[i] = this.valueToConnect(elem, v[i]);
        return out;
      }
      case 'map': {
        const ks = schema.keySchema ?? null, vs = schema.valueSchema ?? null;
        if (ks === null || ks.type === 'string') {
          if (!isPlainObject(v)) throw new DataException(`Maps with string fields should be encoded as JSON objects, but found ${nodeType(v)}`);
          const out: Record<string, unknown> = {};
          for (const k of Object.keys(v)) out[k] = this.valueToConnect(vs, v[k]);
          return out;
        }
        if (!Array.isArray(v)) throw new DataException(`Maps with non-string fields should be encoded as JSON array of tuples, but found ${nodeType(v)}`);
        const out = new Map<unknown, unknown>();
        for (const entry of v) {
          if (!Array.isArray(entry)) throw new DataException(`Found invalid map entry instead of array tuple: ${nodeType(entry)}`);
          if (entry.length !== 2) throw new DataException(`Found invalid map entry, expected length 2 but found :${entry.length}`);
          out.set(this.valueToConnect(ks, entry[0]), this.valueToConnect(vs, entry[1]));
        }
        return out;
      }
      case 'struct': {
        if (!isPlainObject(v)) throw new DataException(`Structs should be encoded as JSON objects, but found ${nodeType(v)}`);
        const values: Record<string, unknown> = {};
        for (const f of schema.fields ?? []) values[f.name] = this.valueToConnect(f.schema, v[f.name]);
        return new Struct(schema, values);
      }
    }
  }

  private schemalessToConnect(v: unknown): unknown {
    // JSON.parse already yields the schemaless representation: objects are maps, numbers numbers.
    return v === undefined ? null : v;
  }

  // ---------- Connect → JSON text ----------

  fromConnect(schema: Schema | null, value: unknown): Buffer | null {
    if (schema === null && (value === null || value === undefined)) return null;
    const payload = this.valueToJson(schema, value);
    const text = this.options.schemasEnable ? `{"schema":${this.schemaJsonText(schema)},"payload":${payload}}` : payload;
    return Buffer.from(text, 'utf8');
  }

  /** Schema → JSON schema text (cached per Schema object). */
  schemaJsonText(schema: Schema | null): string {
    if (schema === null) return 'null';
    const cached = this.fromConnectSchemaCache.get(schema);
    if (cached !== undefined) return cached;
    const text = JSON.stringify(this.schemaToJson(schema));
    this.fromConnectSchemaCache.set(schema, text);
    return text;
  }

  /** Connect's asJsonSchema: Schema → JSON schema object, with Connect's key order. */
  schemaToJson(schema: Schema): Record<string, unknown> {
    const out: Record<string, unknown> = { type: JSON_TYPE_NAMES[schema.type] };
    if (out.type === undefined) throw new DataException(`Couldn't translate unsupported schema type ${schema.type}.`);
    switch (schema.type) {
      case 'array':
        out.items = schema.valueSchema ? this.schemaToJson(schema.valueSchema) : null;
        break;
      case 'map':
        out.keys = schema.keySchema ? this.schemaToJson(schema.keySchema) : null;
        out.values = schema.valueSchema ? this.schemaToJson(schema.valueSchema) : null;
        break;
      case 'struct':
        out.fields = (schema.fields ?? []).map((f) => ({ ...this.schemaToJson(f.schema), field: f.name }));
        break;
      default:
        break;
    }
    out.optional = schema.optional;
    if (schema.name !== undefined) out.name = schema.name;
    if (schema.version !== undefined) out.version = schema.version;
    if (schema.doc !== undefined) out.doc = schema.doc;
    if (schema.parameters !== undefined) out.parameters = { ...schema.parameters };
    if (schema.defaultValue !== undefined && schema.defaultValue !== null) out.default = JSON.parse(this.valueToJson(schema, schema.defaultValue));
    return out;
  }

  /** Connect's convertToJson, writing JSON text. */
  valueToJson(schema: Schema | null, value: unknown): string {
    if (value === null || value === undefined) {
      if (schema === null) return 'null';
      if (schema.defaultValue !== undefined && schema.defaultValue !== null && this.options.replaceNullWithDefault) return this.valueToJson(schema, schema.defaultValue);
      if (schema.optional) return 'null';
      throw new DataException('Conversion error: null value for field that is required and has no default value');
    }
    if (schema === null) return this.schemalessToJson(value);
    if (schema.name !== undefined) {
      switch (schema.name) {
        case LogicalTypes.Decimal:
          if (schema.type !== 'bytes') break;
          if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'bigint') {
            throw new DataException(`Invalid type for Decimal, expected BigDecimal but was ${describeType(value)}`);
          }
          if (this.options.decimalNumeric) {
            if (typeof value === 'number') return numberToPlain(value);
            const p = typeof value === 'bigint' ? { unscaled: value, scale: 0 } : parseDecimal(value);
            return formatDecimal(p.unscaled, p.scale);
          }
          return `"${unscaledToBytes(toUnscaled(value, decimalScale(schema))).toString('base64')}"`;
        case LogicalTypes.Date:
          if (schema.type === 'int32') return String(dateToDays(value));
          break;
        case LogicalTypes.Time:
          if (schema.type === 'int32') return String(timeToMillis(value));
          break;
        case LogicalTypes.Timestamp:
          if (schema.type === 'int64') return String(timestampToMillis(value));
          break;
        default:
          break;
      }
    }
    switch (schema.type) {
      case 'int8':
      case 'int16':
      case 'int32':
      case 'int64':
        if (typeof value === 'number') {
          if (!Number.isInteger(value)) throw invalidType(schema, value);
          return String(value);
        }
        if (typeof value === 'bigint') return value.toString();
        throw invalidType(schema, value);
      case 'float32':
      case 'float64':
        if (typeof value === 'number') return numberToJson(value, true);
        throw invalidType(schema, value);
      case 'boolean':
        if (typeof value !== 'boolean') throw invalidType(schema, value);
        return value ? 'true' : 'false';
      case 'string':
        if (typeof value !== 'string') throw invalidType(schema, value);
        return JSON.stringify(value);
      case 'bytes':
        if (value instanceof Uint8Array) return `"${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')}"`;
        throw new DataException(`Invalid type for bytes type: ${describeType(value)}`);
      case 'array': {
        if (!Array.isArray(value)) throw invalidType(schema, value);
        const elem = schema.valueSchema ?? null;
        let out = '[';
        for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + this.valueToJson(elem, value[i]);
        return out + ']';
      }
      case 'map':
        return this.mapToJson(schema.keySchema ?? null, schema.valueSchema ?? null, value, schema);
      case 'struct': {
        let values: Record<string, unknown>;
        if (value instanceof Struct) {
          if (value.schema !== schema && !schemaEquals(value.schema, schema)) throw new DataException('Mismatching schema.');
          values = value.values;
        } else if (isPlainObject(value)) {
          values = value;
        } else {
          throw invalidType(schema, value);
        }
        let out = '{';
        let first = true;
        for (const f of schema.fields ?? []) {
          let fv = values[f.name];
          if ((fv === undefined || fv === null) && !this.options.replaceNullWithDefault) fv = null;
          out += (first ? '' : ',') + JSON.stringify(f.name) + ':' + this.valueToJson(f.schema, fv);
          first = false;
        }
        return out + '}';
      }
    }
  }

  private mapToJson(ks: Schema | null, vs: Schema | null, value: unknown, schema: Schema | null): string {
    let entries: [unknown, unknown][];
    if (value instanceof Map) entries = [...value.entries()];
    else if (isPlainObject(value)) entries = Object.entries(value);
    else throw schema ? invalidType(schema, value) : new DataException(`Invalid type for map: ${describeType(value)}`);
    const objectMode = ks === null ? entries.every(([k]) => typeof k === 'string') : ks.type === 'string';
    if (objectMode) {
      let out = '{';
      for (let i = 0; i < entries.length; i++) {
        const [k, v] = entries[i]!;
        const keyJson = this.valueToJson(ks, k);
        out += (i ? ',' : '') + (keyJson.startsWith('"') ? keyJson : JSON.stringify(keyJson)) + ':' + this.valueToJson(vs, v);
      }
      return out + '}';
    }
    let out = '[';
    for (let i = 0; i < entries.length; i++) {
      const [k, v] = entries[i]!;
      const key = !(value instanceof Map) && ks ? keyFromString(ks, k as string) : k;
      out += (i ? ',' : '') + '[' + this.valueToJson(ks, key) + ',' + this.valueToJson(vs, v) + ']';
    }
    return out + ']';
  }

  private schemalessToJson(value: unknown): string {
    // Values made of what JSON.parse makes (plain objects, arrays, strings, finite numbers,
    // booleans, null) come out of the engine's JSON.stringify exactly as Connect writes them, several
    // times faster than building the text piece by piece; anything else (Maps, Structs, bytes,
    // dates, bigints, non-finite numbers, undefined fields) takes the general path below.
    if (typeof value === 'object' && value !== null && isJsonNative(value, 0)) return JSON.stringify(value);
    switch (typeof value) {
      case 'string': return JSON.stringify(value);
      case 'number': return numberToJson(value, false);
      case 'bigint': return value.toString();
      case 'boolean': return value ? 'true' : 'false';
      case 'undefined': return 'null';
      default: break;
    }
    if (value === null) return 'null';
    if (value instanceof Uint8Array) return `"${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')}"`;
    if (value instanceof Date) return String(value.getTime());
    if (value instanceof Struct) return this.valueToJson(value.schema, value);
    if (Array.isArray(value)) {
      let out = '[';
      for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + this.schemalessToJson(value[i]);
      return out + ']';
    }
    if (value instanceof Map || isPlainObject(value)) return this.mapToJson(null, null, value, null);
    throw new DataException(`Class ${describeType(value)} does not have corresponding schema type.`);
  }
}

/** Deeper values take the general path (they are refused at MAX_RECORD_DEPTH anyway). */
const JSON_NATIVE_MAX_DEPTH = 64;

/**
 * Whether JSON.stringify(v) equals Connect's schemaless JSON of v: only plain objects (no
 * undefined fields: JSON.stringify would drop them, Connect writes null), arrays, strings, finite
 * numbers, booleans and null.
 */
function isJsonNative(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string': case 'boolean': return true;
    case 'number': return Number.isFinite(v);
    case 'object': break;
    default: return false;
  }
  if (v === null) return true;
  if (depth >= JSON_NATIVE_MAX_DEPTH) return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const e = v[i];
      // a hole or undefined element: both writers put null there
      if (e !== undefined && !isJsonNative(e, depth + 1)) return false;
    }
    return true;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  // Object.values, not for-in: a for-in keyed load is specialised to one object shape, and the
  // shapes met here alternate (record, prediction, probabilities), so V8 deoptimised this function
  // hundreds of times per run and it cost more than the JSON.stringify it guards.
  const fields = Object.values(v);
  for (let i = 0; i < fields.length; i++) {
    const e = fields[i];
    if (e === undefined || !isJsonNative(e, depth + 1)) return false;
  }
  return true;
}

function decimalPlaces(n: number): number {
  const s = numberToPlain(n);
  const dot = s.indexOf('.');
  return dot < 0 ? 0 : s.length - dot - 1;
}

function keyFromString(ks: Schema, k: string): unknown {
  switch (ks.type) {
    case 'int8': case 'int16': case 'int32': case 'int64': case 'float32': case 'float64': return Number(k);
    case 'boolean': return k === 'true';
    default: return k;
  }
}

/** Numbers as Jackson writes them: floats keep a ".0", non-finite values become quoted strings. */
function numberToJson(n: number, isFloat: boolean): string {
  if (!Number.isFinite(n)) return `"${String(n)}"`;
  const s = String(n);
  return isFloat && Number.isInteger(n) && !s.includes('e') ? s + '.0' : s;
}

function mismatch(schema: Schema, v: unknown): DataException {
  return new DataException(`Invalid value for ${schema.type.toUpperCase()} field: expected ${expectedNode(schema.type)} but found ${nodeType(v)}`);
}
function expectedNode(type: SchemaType): string {
  switch (type) {
    case 'boolean': return 'BOOLEAN';
    case 'string': return 'STRING';
    case 'array': return 'ARRAY';
    case 'map': case 'struct': return 'OBJECT';
    default: return 'NUMBER';
  }
}
function invalidType(schema: Schema, value: unknown): DataException {
  return new DataException(`Invalid type for ${schema.type.toUpperCase()}: ${describeType(value)}`);
}

/** Reads JsonConverter options from a converter config map (prefix already stripped). */
export function jsonConverterOptions(config: ConfigMap): JsonConverterOptions {
  const v = parseConfigOrThrow(jsonConverterConfigDef, config);
  const cacheSize = v['schemas.cache.size'] as number;
  if (cacheSize < 0) throw new ConfigException(`Invalid value ${cacheSize} for configuration schemas.cache.size`);
  return {
    schemasEnable: v['schemas.enable'] as boolean,
    cacheSize,
    decimalNumeric: String(v['decimal.format']).toUpperCase() === 'NUMERIC',
    replaceNullWithDefault: v['replace.null.with.default'] as boolean,
  };
}

export class JsonConverter implements Converter {
  private codec = new JsonCodec({ schemasEnable: true, cacheSize: 1000, decimalNumeric: false, replaceNullWithDefault: true });
  configure(config: ConfigMap, _isKey: boolean): void {
    this.codec = new JsonCodec(jsonConverterOptions(config));
  }
  toConnectData(_topic: string, bytes: Buffer | null): SchemaAndValue {
    return this.codec.toConnect(bytes);
  }
  fromConnectData(_topic: string, schema: Schema | null, value: unknown): Buffer | null {
    return this.codec.fromConnect(schema, value);
  }
  /** The underlying codec (schema ↔ JSON helpers). */
  get jsonCodec(): JsonCodec {
    return this.codec;
  }
  close(): void {}
}

export const jsonConverterPlugin: ConverterDescriptor = {
  className: JSON_CONVERTER_CLASS,
  type: 'converter',
  version: BUILTIN_PLUGIN_VERSION,
  configDef: jsonConverterConfigDef,
  create: () => new JsonConverter(),
};
export const jsonHeaderConverterPlugin: ConverterDescriptor = { ...jsonConverterPlugin, type: 'header_converter' };
