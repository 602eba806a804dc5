/**
 * Avro ↔ Connect data (Confluent's AvroData, reimplemented): schema mapping both ways and value
 * conversion compiled into per-schema closures, so that the hot path is a tree of direct calls.
 *
 * Avro → Connect schema:
 * - record → struct (name = the record's full name); array → array; map → map (string keys)
 * - union [null, X] (either order) → X with optional=true; other unions → struct named
 *   io.confluent.connect.avro.Union with one optional field per branch (as Confluent does)
 * - enum → string, name = full name, parameters io.confluent.connect.avro.Enum(.SYMBOL)
 * - fixed → bytes, name = full name, parameter connect.fixed.size
 * - int/long/float/double/boolean/string/bytes → int32/int64/float32/float64/boolean/string/bytes;
 *   int with "connect.type": int8/int16 → int8/int16
 * - logical types: decimal (bytes or fixed) → Decimal (parameters scale, connect.decimal.precision),
 *   date → Date, time-millis → Time, timestamp-millis → Timestamp (micros stay int64 as in Confluent)
 * - array of io.confluent.connect.avro.MapEntry records → map with non-string keys
 *
 * Values use the JSON converter's representation (docs/transforms.md): int64 number, Decimal exact
 * string with the schema's scale, Date/Time/Timestamp JS Date, bytes Buffer, struct Struct.
 */
import * as avro from 'avsc';
import { DataException, LogicalTypes, Struct, type Field, type Schema } from '../../api';
import { bytesToUnscaled, decimalScale, formatDecimal, toUnscaled, unscaledToBytes } from '../decimal';
import { MILLIS_PER_DAY, dateToDays, timeToMillis, timestampToMillis } from '../schemas';
import { MAX_RECORD_DEPTH, nestingExceeds } from '../nesting';

export const AVRO_NAMESPACE = 'io.confluent.connect.avro';
export const ENUM_PARAM = 'io.confluent.connect.avro.Enum';
export const UNION_NAME = 'io.confluent.connect.avro.Union';
export const MAP_ENTRY_NAME = 'io.confluent.connect.avro.MapEntry';
export const FIXED_SIZE_PARAM = 'connect.fixed.size';
export const PRECISION_PARAM = 'connect.decimal.precision';
export const DEFAULT_RECORD_NAME = 'ConnectDefault';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

/** A resolved Avro schema node: named references are resolved, full names computed. */
export type AvroNode =
  | { kind: 'null' | 'boolean' | 'int' | 'long' | 'float' | 'double' | 'bytes' | 'string'; attrs: JsonObject }
  | { kind: 'record'; fullName: string; fields: { name: string; node: AvroNode; default?: Json; doc?: string }[]; attrs: JsonObject }
  | { kind: 'enum'; fullName: string; symbols: string[]; attrs: JsonObject }
  | { kind: 'fixed'; fullName: string; size: number; attrs: JsonObject }
  | { kind: 'array'; items: AvroNode; attrs: JsonObject }
  | { kind: 'map'; values: AvroNode; attrs: JsonObject }
  | { kind: 'union'; branches: AvroNode[]; attrs: JsonObject };

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses Avro schema JSON into resolved nodes (names resolved against the enclosing namespace). */
export function parseAvroSchema(schema: unknown): AvroNode {
  const named = new Map<string, AvroNode>();
  const fullNameOf = (name: string, namespace: string | undefined): string =>
    name.includes('.') || !namespace ? name : `${namespace}.${name}`;

  const walk = (s: unknown, ns: string | undefined): AvroNode => {
    if (typeof s === 'string') {
      if (PRIMITIVES.has(s)) return { kind: s as 'int', attrs: {} };
      const ref = named.get(fullNameOf(s, ns)) ?? named.get(s);
      if (!ref) throw new DataException(`Invalid Avro schema: unknown type ${s}`);
      return ref;
    }
    if (Array.isArray(s)) return { kind: 'union', branches: s.map((b) => walk(b, ns)), attrs: {} };
    if (!isObject(s)) throw new DataException(`Invalid Avro schema: ${JSON.stringify(s)}`);
    const type = s.type;
    if (Array.isArray(type) || isObject(type)) return walk(type, ns);
    if (typeof type !== 'string') throw new DataException('Invalid Avro schema: missing type');
    const attrs = s;
    if (PRIMITIVES.has(type)) return { kind: type as 'int', attrs };
    switch (type) {
      case 'record':
      case 'error': {
        if (typeof s.name !== 'string') throw new DataException('Invalid Avro schema: record without a name');
        const fullName = fullNameOf(s.name, typeof s.namespace === 'string' ? s.namespace : ns);
        const node: AvroNode = { kind: 'record', fullName, fields: [], attrs };
        named.set(fullName, node);
        const childNs = fullName.includes('.') ? fullName.slice(0, fullName.lastIndexOf('.')) : undefined;
        if (!Array.isArray(s.fields)) throw new DataException(`Invalid Avro schema: record ${fullName} without fields`);
        for (const f of s.fields) {
          if (!isObject(f) || typeof f.name !== 'string') throw new DataException(`Invalid Avro schema: bad field in ${fullName}`);
          const field: { name: string; node: AvroNode; default?: Json; doc?: string } = { name: f.name, node: walk(f.type, childNs) };
          if ('default' in f) field.default = f.default!;
          if (typeof f.doc === 'string') field.doc = f.doc;
          node.fields.push(field);
        }
        return node;
      }
      case 'enum': {
        if (typeof s.name !== 'string' || !Array.isArray(s.symbols)) throw new DataException('Invalid Avro schema: bad enum');
        const fullName = fullNameOf(s.name, typeof s.namespace === 'string' ? s.namespace : ns);
        const node: AvroNode = { kind: 'enum', fullName, symbols: s.symbols.map(String), attrs };
        named.set(fullName, node);
        return node;
      }
      case 'fixed': {
        if (typeof s.name !== 'string' || typeof s.size !== 'number') throw new DataException('Invalid Avro schema: bad fixed');
        const fullName = fullNameOf(s.name, typeof s.namespace === 'string' ? s.namespace : ns);
        const node: AvroNode = { kind: 'fixed', fullName, size: s.size, attrs };
        named.set(fullName, node);
        return node;
      }
      case 'array':
        return { kind: 'array', items: walk(s.items, ns), attrs };
      case 'map':
        return { kind: 'map', values: walk(s.values, ns), attrs };
      default:
        return walk(type, ns);
    }
  };
  return walk(schema, undefined);
}

/** avsc's name for a union branch (wrapped unions): full name for named types, else the type name. */
function branchName(n: AvroNode): string {
  return n.kind === 'record' || n.kind === 'enum' || n.kind === 'fixed' ? n.fullName : n.kind;
}
function simpleName(fullName: string): string {
  return fullName.slice(fullName.lastIndexOf('.') + 1);
}

// ------------------------------------------------------------------------------------------------
// Avro → Connect

export interface Decoder {
  readonly schema: Schema;
  readonly convert: (v: unknown) => unknown;
}

const logicalOf = (n: AvroNode): string | undefined => (typeof n.attrs.logicalType === 'string' ? n.attrs.logicalType : undefined);

/** Compiles the Connect schema and a value converter for an Avro node (values as avsc decodes them, wrapped unions). */
export function compileDecoder(root: AvroNode): Decoder {
  const memo = new Map<AvroNode, Decoder>();
  const memoOptional = new Map<AvroNode, Decoder>();
  const inProgress = new Set<AvroNode>();

  const build = (n: AvroNode, optional: boolean): Decoder => {
    const cache = optional ? memoOptional : memo;
    const hit = cache.get(n);
    if (hit) return hit;
    if (inProgress.has(n)) throw new DataException(`Recursive Avro schemas are not supported by Connect (${branchName(n)})`);
    inProgress.add(n);
    try {
      const d = buildUncached(n, optional);
      cache.set(n, d);
      return d;
    } finally {
      inProgress.delete(n);
    }
  };

  const buildUncached = (n: AvroNode, optional: boolean): Decoder => {
    const logical = logicalOf(n);
    switch (n.kind) {
      case 'null':
        throw new DataException('A null Avro type outside a union has no Connect equivalent');
      case 'boolean': return { schema: { type: 'boolean', optional }, convert: identity };
      case 'int': {
        if (logical === 'date') return { schema: { type: 'int32', optional, name: LogicalTypes.Date, version: 1 }, convert: (v) => new Date((v as number) * MILLIS_PER_DAY) };
        if (logical === 'time-millis') return { schema: { type: 'int32', optional, name: LogicalTypes.Time, version: 1 }, convert: (v) => new Date(v as number) };
        const ct = n.attrs['connect.type'];
        if (ct === 'int8' || ct === 'int16') return { schema: { type: ct, optional }, convert: identity };
        return { schema: { type: 'int32', optional }, convert: identity };
      }
      case 'long':
        if (logical === 'timestamp-millis') return { schema: { type: 'int64', optional, name: LogicalTypes.Timestamp, version: 1 }, convert: (v) => new Date(v as number) };
        return { schema: { type: 'int64', optional }, convert: identity };
      case 'float': return { schema: { type: 'float32', optional }, convert: identity };
      case 'double': return { schema: { type: 'float64', optional }, convert: identity };
      case 'string': return { schema: { type: 'string', optional }, convert: identity };
      case 'bytes':
      case 'fixed': {
        if (logical === 'decimal') {
          const scale = typeof n.attrs.scale === 'number' ? n.attrs.scale : 0;
          const params: Record<string, string> = { scale: String(scale) };
          if (typeof n.attrs.precision === 'number') params[PRECISION_PARAM] = String(n.attrs.precision);
          if (n.kind === 'fixed') params[FIXED_SIZE_PARAM] = String(n.size);
          const schema: Schema = { type: 'bytes', optional, name: LogicalTypes.Decimal, version: 1, parameters: params };
          return { schema, convert: (v) => formatDecimal(bytesToUnscaled(v as Buffer), scale) };
        }
        if (n.kind === 'fixed') {
          return { schema: { type: 'bytes', optional, name: n.fullName, parameters: { [FIXED_SIZE_PARAM]: String(n.size) } }, convert: identity };
        }
        return { schema: { type: 'bytes', optional }, convert: identity };
      }
      case 'enum': {
        const params: Record<string, string> = { [ENUM_PARAM]: n.fullName };
        for (const sym of n.symbols) params[`${ENUM_PARAM}.${sym}`] = sym;
        const doc = typeof n.attrs.doc === 'string' ? { doc: n.attrs.doc } : {};
        return { schema: { type: 'string', optional, name: n.fullName, ...doc, parameters: params }, convert: identity };
      }
      case 'array': {
        const items = n.items;
        if (items.kind === 'record' && items.fullName === MAP_ENTRY_NAME && items.fields.length === 2) {
          const key = build(items.fields[0]!.node, false);
          const val = build(items.fields[1]!.node, false);
          const kConv = key.convert, vConv = val.convert;
          return {
            schema: { type: 'map', optional, keySchema: key.schema, valueSchema: val.schema },
            convert: (v) => {
              const out = new Map<unknown, unknown>();
              for (const e of v as Record<string, unknown>[]) out.set(kConv(e.key), vConv(e.value));
              return out;
            },
          };
        }
        const el = elementDecoder(items);
        return {
          schema: { type: 'array', optional, valueSchema: el.schema },
          convert: (v) => {
            const a = v as unknown[];
            const out = new Array<unknown>(a.length);
            for (let i = 0; i < a.length; i++) out[i] = el.convert(a[i]);
            return out;
          },
        };
      }
      case 'map': {
        const el = elementDecoder(n.values);
        return {
          schema: { type: 'map', optional, keySchema: { type: 'string', optional: false }, valueSchema: el.schema },
          convert: (v) => {
            const m = v as Record<string, unknown>;
            const out: Record<string, unknown> = {};
            for (const k of Object.keys(m)) out[k] = el.convert(m[k]);
            return out;
          },
        };
      }
      case 'record': {
        const fieldDecoders = n.fields.map((f) => elementDecoder(f.node));
        const fields: Field[] = n.fields.map((f, index) => {
          let fs = fieldDecoders[index]!.schema;
          if (f.default !== undefined && f.default !== null) {
            const dv = defaultToConnect(f.node, f.default, fieldDecoders[index]!);
            if (dv !== undefined) fs = { ...fs, defaultValue: dv };
          }
          return { name: f.name, index, schema: fs };
        });
        // Confluent's placeholder names for unnamed Connect structs map back to no name
        const isDefaultName = n.fullName.startsWith(`${AVRO_NAMESPACE}.${DEFAULT_RECORD_NAME}`);
        const schema: Schema = {
          type: 'struct', optional, ...(isDefaultName ? {} : { name: n.fullName }), fields,
          ...(typeof n.attrs.doc === 'string' ? { doc: n.attrs.doc } : {}),
        };
        const names = n.fields.map((f) => f.name);
        const convs = fieldDecoders.map((d) => d.convert);
        const count = names.length;
        return {
          schema,
          convert: (v) => {
            const rec = v as Record<string, unknown>;
            const values: Record<string, unknown> = {};
            for (let i = 0; i < count; i++) {
              const name = names[i]!;
              values[name] = convs[i]!(rec[name]);
            }
            return new Struct(schema, values);
          },
        };
      }
      case 'union': {
        const nonNull = n.branches.filter((b) => b.kind !== 'null');
        const hasNull = nonNull.length < n.branches.length;
        if (nonNull.length === 1 && hasNull) {
          const inner = build(nonNull[0]!, true);
          return { schema: inner.schema, convert: unionNullConv(n, inner) };
        }
        // general union → struct io.confluent.connect.avro.Union with one optional field per branch
        const branchDecoders = nonNull.map((b) => build(b, true));
        const fieldNames = nonNull.map((b) => (b.kind === 'record' || b.kind === 'enum' || b.kind === 'fixed' ? simpleName(b.fullName) : b.kind));
        const schema: Schema = {
          type: 'struct', optional: optional || hasNull, name: UNION_NAME,
          fields: fieldNames.map((name, index) => ({ name, index, schema: branchDecoders[index]!.schema })),
        };
        const byBranch = new Map<string, { field: string; convert: (v: unknown) => unknown }>();
        nonNull.forEach((b, i) => byBranch.set(branchName(b), { field: fieldNames[i]!, convert: branchDecoders[i]!.convert }));
        return {
          schema,
          convert: (v) => {
            if (v === null || v === undefined) return null;
            const key = Object.keys(v as object)[0]!;
            const b = byBranch.get(key);
            if (!b) throw new DataException(`Unknown union branch ${key}`);
            const values: Record<string, unknown> = {};
            for (const f of fieldNames) values[f] = null;
            values[b.field] = b.convert((v as Record<string, unknown>)[key]);
            return new Struct(schema, values);
          },
        };
      }
    }
  };

  /** the decoder of a field/element type: unions with null become optional */
  const elementDecoder = (n: AvroNode): Decoder => build(n, false);

  return build(root, false);
}

function identity(v: unknown): unknown {
  return v;
}

/** Converter for a wrapped [null, X] union value ({X: v} or null). */
function unionNullConv(n: AvroNode, inner: Decoder): (v: unknown) => unknown {
  const nonNull = n.kind === 'union' ? n.branches.find((b) => b.kind !== 'null')! : n;
  const key = branchName(nonNull);
  const conv = inner.convert;
  return (v) => (v === null || v === undefined ? null : conv((v as Record<string, unknown>)[key]));
}

/** Field default (Avro JSON form) → Connect value, for primitive-like types; undefined when not mapped. */
function defaultToConnect(n: AvroNode, dflt: Json, d: Decoder): unknown {
  let node = n;
  if (node.kind === 'union') {
    // the default belongs to the first branch
    node = node.branches[0]!;
    if (node.kind === 'null') return undefined;
  }
  try {
    switch (node.kind) {
      case 'boolean': case 'int': case 'long': case 'float': case 'double': case 'string': case 'enum':
        if (logicalOf(node)) return undefined;
        return n.kind === 'union' ? undefined : d.convert(dflt);
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------------------------------------
// Connect → Avro schema

interface ToAvroState {
  defined: Map<string, string>;
  unnamed: number;
}

/** Connect schema → Avro schema JSON (Confluent's fromConnectSchema, for the common cases). */
export function connectToAvroSchema(schema: Schema): Json {
  return toAvro(schema, { defined: new Map(), unnamed: 0 }, true);
}

function splitName(full: string): { name: string; namespace?: string } {
  const i = full.lastIndexOf('.');
  return i < 0 ? { name: full } : { name: full.slice(i + 1), namespace: full.slice(0, i) };
}

const AVRO_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

function named(full: string, st: ToAvroState, json: JsonObject): Json {
  const text = JSON.stringify(json);
  const prev = st.defined.get(full);
  if (prev !== undefined) {
    if (prev === text) return full; // same definition: reference it by name
    throw new DataException(`Cannot write two different Avro types named ${full} in one schema`);
  }
  st.defined.set(full, text);
  return json;
}

function toAvro(schema: Schema, st: ToAvroState, top: boolean): Json {
  const base = toAvroNonOptional(schema, st, top);
  return schema.optional ? ['null', base] : base;
}

function toAvroNonOptional(schema: Schema, st: ToAvroState, top: boolean): Json {
  switch (schema.name) {
    case LogicalTypes.Decimal:
      if (schema.type === 'bytes') {
        const scale = decimalScale(schema);
        const precision = Number(schema.parameters?.[PRECISION_PARAM] ?? 64);
        const size = schema.parameters?.[FIXED_SIZE_PARAM];
        if (size !== undefined) {
          return named('Decimal', st, { type: 'fixed', name: 'Decimal', size: Number(size), logicalType: 'decimal', precision, scale });
        }
        return { type: 'bytes', logicalType: 'decimal', precision, scale };
      }
      break;
    case LogicalTypes.Date:
      if (schema.type === 'int32') return { type: 'int', logicalType: 'date' };
      break;
    case LogicalTypes.Time:
      if (schema.type === 'int32') return { type: 'int', logicalType: 'time-millis' };
      break;
    case LogicalTypes.Timestamp:
      if (schema.type === 'int64') return { type: 'long', logicalType: 'timestamp-millis' };
      break;
    default:
      break;
  }
  switch (schema.type) {
    case 'int8': case 'int16': return { type: 'int', 'connect.type': schema.type };
    case 'int32': return 'int';
    case 'int64': return 'long';
    case 'float32': return 'float';
    case 'float64': return 'double';
    case 'boolean': return 'boolean';
    case 'string': {
      const enumName = schema.parameters?.[ENUM_PARAM];
      if (enumName) {
        const prefix = `${ENUM_PARAM}.`;
        const symbols = Object.keys(schema.parameters!).filter((k) => k.startsWith(prefix)).map((k) => schema.parameters![k]!);
        const { name, namespace } = splitName(enumName);
        return named(enumName, st, { type: 'enum', name, ...(namespace ? { namespace } : {}), symbols });
      }
      return 'string';
    }
    case 'bytes': {
      const size = schema.parameters?.[FIXED_SIZE_PARAM];
      if (size !== undefined && schema.name) {
        const { name, namespace } = splitName(schema.name);
        return named(schema.name, st, { type: 'fixed', name, ...(namespace ? { namespace } : {}), size: Number(size) });
      }
      return 'bytes';
    }
    case 'array':
      return { type: 'array', items: toAvro(schema.valueSchema!, st, false) };
    case 'map': {
      const ks = schema.keySchema!;
      if (ks.type === 'string' && !ks.optional && !ks.name) return { type: 'map', values: toAvro(schema.valueSchema!, st, false) };
      const entry = named(MAP_ENTRY_NAME, st, {
        type: 'record', name: 'MapEntry', namespace: AVRO_NAMESPACE,
        fields: [{ name: 'key', type: toAvro(ks, st, false) }, { name: 'value', type: toAvro(schema.valueSchema!, st, false) }],
      });
      return { type: 'array', items: entry };
    }
    case 'struct': {
      if (schema.name === UNION_NAME) {
        const branches = (schema.fields ?? []).map((f) => toAvroNonOptional(f.schema, st, false));
        return branches;
      }
      let full = schema.name;
      if (!full || !AVRO_NAME_RE.test(full)) {
        st.unnamed++;
        full = `${AVRO_NAMESPACE}.${DEFAULT_RECORD_NAME}${st.unnamed === 1 ? '' : st.unnamed}`;
      }
      const { name, namespace } = splitName(full);
      const fields = (schema.fields ?? []).map((f) => fieldToAvro(f, st));
      const rec: JsonObject = { type: 'record', name, ...(namespace ? { namespace } : {}), fields };
      if (schema.doc !== undefined) rec.doc = schema.doc;
      if (top && schema.name && schema.name !== full) rec['connect.name'] = schema.name;
      return named(full, st, rec);
    }
  }
}

function fieldToAvro(f: Field, st: ToAvroState): JsonObject {
  const s = f.schema;
  const out: JsonObject = { name: f.name, type: null };
  const dv = s.defaultValue;
  if (s.optional) {
    const inner = toAvroNonOptional(s, st, false);
    const avroDefault = dv === undefined || dv === null ? undefined : defaultToAvro(s, dv);
    if (avroDefault !== undefined) {
      out.type = Array.isArray(inner) ? [...inner, 'null'] : [inner, 'null'];
      out.default = avroDefault;
    } else {
      out.type = Array.isArray(inner) ? ['null', ...inner] : ['null', inner];
      out.default = null;
    }
  } else {
    out.type = toAvroNonOptional(s, st, false);
    if (dv !== undefined && dv !== null) {
      const avroDefault = defaultToAvro(s, dv);
      if (avroDefault !== undefined) out.default = avroDefault;
    }
  }
  if (s.doc !== undefined) out.doc = s.doc;
  return out;
}

function defaultToAvro(s: Schema, v: unknown): Json | undefined {
  if (s.name) return undefined;
  switch (s.type) {
    case 'int8': case 'int16': case 'int32': case 'int64': case 'float32': case 'float64':
      return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined;
    case 'boolean': return typeof v === 'boolean' ? v : undefined;
    case 'string': return typeof v === 'string' ? v : undefined;
    default: return undefined;
  }
}

// ------------------------------------------------------------------------------------------------
// Connect → Avro values

export type Encoder = (v: unknown) => unknown;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Buffer.isBuffer(v)) return 'bytes';
  if (v instanceof Date) return 'Date';
  if (v instanceof Struct) return 'Struct';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function fieldValues(v: unknown, where: string): Record<string, unknown> {
  if (v instanceof Struct) return v.values;
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v) && !(v instanceof Date) && !(v instanceof Map)) return v as Record<string, unknown>;
  throw new DataException(`Invalid value for ${where}: expected a struct but found ${describe(v)}`);
}

/**
 * Compiles Connect value → avsc value (wrapped unions) for an Avro node. Connect values are taken
 * in the representation above; numbers, bigints and decimal strings are all accepted for decimals.
 */
export function compileEncoder(root: AvroNode): Encoder {
  const memo = new Map<AvroNode, Encoder>();

  const build = (n: AvroNode): Encoder => {
    const hit = memo.get(n);
    if (hit) return hit;
    // placeholder for recursive references
    let real: Encoder | undefined;
    memo.set(n, (v) => real!(v));
    real = buildUncached(n);
    memo.set(n, real);
    return real;
  };

  const buildUncached = (n: AvroNode): Encoder => {
    const logical = logicalOf(n);
    switch (n.kind) {
      case 'null':
        return (v) => {
          if (v !== null && v !== undefined) throw new DataException(`Invalid value for null type: ${describe(v)}`);
          return null;
        };
      case 'boolean':
        return (v) => {
          if (typeof v !== 'boolean') throw new DataException(`Invalid value for boolean: ${describe(v)}`);
          return v;
        };
      case 'int':
        if (logical === 'date') return (v) => dateToDays(v);
        if (logical === 'time-millis') return (v) => timeToMillis(v);
        return (v) => {
          if (typeof v === 'number' && Number.isInteger(v) && v >= -2147483648 && v <= 2147483647) return v;
          if (typeof v === 'bigint' && v >= -2147483648n && v <= 2147483647n) return Number(v);
          throw new DataException(`Invalid value for int: ${describe(v)} ${String(v)}`);
        };
      case 'long':
        if (logical === 'timestamp-millis') return (v) => timestampToMillis(v);
        return (v) => {
          if (typeof v === 'number' && Number.isInteger(v)) return v;
          if (typeof v === 'bigint') {
            if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new DataException(`long value ${v} exceeds the safe integer range`);
            return Number(v);
          }
          throw new DataException(`Invalid value for long: ${describe(v)} ${String(v)}`);
        };
      case 'float':
      case 'double':
        return (v) => {
          if (typeof v === 'number') return v;
          if (typeof v === 'bigint') return Number(v);
          throw new DataException(`Invalid value for ${n.kind}: ${describe(v)}`);
        };
      case 'string':
        return (v) => {
          if (typeof v !== 'string') throw new DataException(`Invalid value for string: ${describe(v)}`);
          return v;
        };
      case 'bytes':
      case 'fixed': {
        if (logical === 'decimal') {
          const scale = typeof n.attrs.scale === 'number' ? n.attrs.scale : 0;
          const size = n.kind === 'fixed' ? n.size : undefined;
          return (v) => {
            const bytes = unscaledToBytes(toUnscaled(v, scale));
            if (size === undefined) return bytes;
            if (bytes.length > size) throw new DataException(`Decimal value does not fit in fixed(${size})`);
            const out = Buffer.alloc(size, bytes.length > 0 && (bytes[0]! & 0x80) ? 0xff : 0);
            bytes.copy(out, size - bytes.length);
            return out;
          };
        }
        const size = n.kind === 'fixed' ? n.size : undefined;
        return (v) => {
          if (!(v instanceof Uint8Array)) throw new DataException(`Invalid value for ${n.kind}: ${describe(v)}`);
          const b = Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
          if (size !== undefined && b.length !== size) throw new DataException(`Invalid value for fixed(${size}): ${b.length} bytes`);
          return b;
        };
      }
      case 'enum': {
        const symbols = new Set(n.symbols);
        return (v) => {
          if (typeof v !== 'string' || !symbols.has(v)) throw new DataException(`Invalid value for enum ${n.fullName}: ${String(v)}`);
          return v;
        };
      }
      case 'array': {
        const items = n.items;
        if (items.kind === 'record' && items.fullName === MAP_ENTRY_NAME && items.fields.length === 2) {
          const k = build(items.fields[0]!.node), val = build(items.fields[1]!.node);
          return (v) => {
            const entries = v instanceof Map ? [...v.entries()] : Object.entries(fieldValues(v, 'map'));
            return entries.map(([ek, ev]) => ({ key: k(ek), value: val(ev) }));
          };
        }
        const el = build(items);
        return (v) => {
          if (!Array.isArray(v)) throw new DataException(`Invalid value for array: ${describe(v)}`);
          const out = new Array<unknown>(v.length);
          for (let i = 0; i < v.length; i++) out[i] = el(v[i]);
          return out;
        };
      }
      case 'map': {
        const el = build(n.values);
        return (v) => {
          const out: Record<string, unknown> = {};
          if (v instanceof Map) {
            for (const [k, mv] of v) out[String(k)] = el(mv);
          } else {
            const m = fieldValues(v, 'map');
            for (const k of Object.keys(m)) out[k] = el(m[k]);
          }
          return out;
        };
      }
      case 'record': {
        const names = n.fields.map((f) => f.name);
        const encs = n.fields.map((f) => build(f.node));
        const count = names.length;
        return (v) => {
          const values = fieldValues(v, n.fullName);
          const out: Record<string, unknown> = {};
          for (let i = 0; i < count; i++) {
            const name = names[i]!;
            const fv = values[name];
            try {
              out[name] = encs[i]!(fv === undefined ? null : fv);
            } catch (e) {
              if (e instanceof DataException && !e.message.startsWith('Field ')) throw new DataException(`Field ${name}: ${e.message}`);
              throw e;
            }
          }
          return out;
        };
      }
      case 'union': {
        const nonNull = n.branches.filter((b) => b.kind !== 'null');
        const hasNull = nonNull.length < n.branches.length;
        if (nonNull.length === 1) {
          const inner = build(nonNull[0]!);
          const key = branchName(nonNull[0]!);
          return (v) => {
            if (v === null || v === undefined) {
              if (hasNull) return null;
              throw new DataException('Invalid null value for a required field');
            }
            return { [key]: inner(v) };
          };
        }
        const fieldNames = nonNull.map((b) => (b.kind === 'record' || b.kind === 'enum' || b.kind === 'fixed' ? simpleName(b.fullName) : b.kind));
        const encs = nonNull.map((b) => build(b));
        const keys = nonNull.map((b) => branchName(b));
        return (v) => {
          if (v === null || v === undefined) {
            if (hasNull) return null;
            throw new DataException('Invalid null value for a union without null');
          }
          const values = fieldValues(v, UNION_NAME);
          for (let i = 0; i < fieldNames.length; i++) {
            const fv = values[fieldNames[i]!];
            if (fv !== null && fv !== undefined) return { [keys[i]!]: encs[i]!(fv) };
          }
          if (hasNull) return null;
          throw new DataException('Union struct has no non-null branch value');
        };
      }
    }
  };
  return build(root);
}

// ------------------------------------------------------------------------------------------------
// a parsed Avro schema with everything needed to read and write it

export interface AvroSchemaEntry {
  /** the Avro schema as JSON text (what the registry stores) */
  readonly text: string;
  readonly node: AvroNode;
  readonly type: avro.Type;
  readonly decoder: Decoder;
  readonly encode: Encoder;
  /** record full name (record name strategies), else the Avro type name */
  readonly recordName: string;
}

/** Parses Avro schema text (or JSON) into an entry; throws DataException on invalid schemas. */
export function avroSchemaEntry(schema: string | Json): AvroSchemaEntry {
  let json: unknown;
  let text: string;
  if (typeof schema === 'string') {
    text = schema;
    try {
      json = JSON.parse(schema);
    } catch {
      json = schema; // a bare primitive name such as string
    }
  } else {
    json = schema;
    text = JSON.stringify(schema);
  }
  // Data nests at most as deep as its schema (recursive schemas are refused below): bounding the
  // schema bounds every record decoded with it.
  if (nestingExceeds(json, MAX_RECORD_DEPTH)) throw new DataException(`Invalid Avro schema: nested deeper than ${MAX_RECORD_DEPTH} levels`);
  let type: avro.Type;
  try {
    type = avro.Type.forSchema(json as avro.Schema, { wrapUnions: true });
  } catch (e) {
    throw new DataException(`Invalid Avro schema: ${(e as Error).message}`);
  }
  const node = parseAvroSchema(json);
  return {
    text,
    node,
    type,
    decoder: compileDecoder(node),
    encode: compileEncoder(node),
    recordName: node.kind === 'record' || node.kind === 'enum' || node.kind === 'fixed' ? node.fullName : node.kind,
  };
}

/** Decodes plain Avro binary (no header) with an entry into Connect data. */
export function decodeAvro(entry: AvroSchemaEntry, bytes: Buffer): unknown {
  const raw = entry.type.fromBuffer(bytes); // throws on truncated data or trailing bytes
  return entry.decoder.convert(raw);
}

/** Encodes a Connect value as plain Avro binary with an entry. */
export function encodeAvro(entry: AvroSchemaEntry, value: unknown): Buffer {
  const raw = entry.encode(value);
  try {
    return entry.type.toBuffer(raw);
  } catch (e) {
    throw new DataException(`Avro encoding failed: ${(e as Error).message}`);
  }
}
