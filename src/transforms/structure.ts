/** Cast and Flatten. */
import { LogicalTypes, type ConfigDef, type Schema, type SchemaType, type SinkRecord, type TransformationDescriptor } from '../api';
import type { ParsedConfig } from '../config/parse';
import { parseDecimal } from '../converters/decimal';
import { MILLIS_PER_DAY, dateToDays, structSchema, timeToMillis, withSchema } from '../converters/schemas';
import {
  BaseTransform, ConfigException, DataException, SchemaCache, Struct, copySchemaBasics, key, keyValue, newRecord, nullSafeClassName,
  operatingSchema, operatingValue, requireMap, requireMapOrNull, requireStruct, requireStructOrNull,
} from './common';
import { DateFormat } from './dateformat';

// ---------------- Cast ----------------

const INPUT_TYPES: SchemaType[] = ['int8', 'int16', 'int32', 'int64', 'float32', 'float64', 'boolean', 'string', 'bytes'];
const OUTPUT_TYPES: SchemaType[] = ['int8', 'int16', 'int32', 'int64', 'float32', 'float64', 'boolean', 'string'];
const ALL_TYPES: SchemaType[] = [...INPUT_TYPES, 'array', 'map', 'struct'];
const upper = (ts: SchemaType[]) => `[${ts.map((t) => t.toUpperCase()).join(', ')}]`;

/** Parses Cast's spec; null key = whole-value cast. Throws ConfigException with Connect's messages. */
export function parseCastSpec(spec: string[]): Map<string | null, SchemaType> {
  const m = new Map<string | null, SchemaType>();
  let whole = false;
  const typeOf = (raw: string): SchemaType => {
    const t = raw.trim().toLowerCase() as SchemaType;
    if (!ALL_TYPES.includes(t)) throw new ConfigException(`Invalid type found in casting spec: ${raw.trim()}`);
    if (!OUTPUT_TYPES.includes(t)) throw new ConfigException(`Cast transformation does not support casting to ${t.toUpperCase()}; supported types are ${upper(OUTPUT_TYPES)}`);
    return t;
  };
  for (const mapping of spec) {
    const parts = mapping.split(':');
    if (parts.length > 2) throw new ConfigException(`Invalid value [${spec.join(', ')}] for configuration renames: Invalid rename mapping: ${mapping}`);
    if (parts.length === 1) {
      m.set(null, typeOf(parts[0]!));
      whole = true;
    } else {
      m.set(parts[0]!.trim(), typeOf(parts[1]!));
    }
  }
  if (whole && spec.length > 1) throw new ConfigException('Cast transformations that specify a type to cast the entire value to may ony specify a single cast in their spec');
  return m;
}

export const castConfigDef: ConfigDef = [
  key({
    name: 'spec', type: 'LIST', importance: 'HIGH',
    documentation: 'List of fields and the type to cast them to of the form field1:type,field2:type to cast fields of Maps or Structs. A single type to cast the entire value. Valid types are int8, int16, int32, int64, float32, float64, boolean, and string. Note that binary fields can only be cast to string.',
    validator: (value) => {
      const list = value as string[];
      if (!list || list.length === 0) return 'Must specify at least one field to cast.';
      try { parseCastSpec(list); return undefined; } catch (e) { return (e as Error).message; }
    },
  }),
];

function inferType(value: unknown): SchemaType | null {
  switch (typeof value) {
    case 'boolean': return 'boolean';
    case 'string': return 'string';
    case 'number': return Number.isInteger(value) ? 'int64' : 'float64';
    case 'bigint': return 'int64';
    default: break;
  }
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return 'bytes';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Struct) return 'struct';
  if (value instanceof Date) return null;
  if (typeof value === 'object' && value !== null) return 'map';
  return null;
}

/** Values.dateFormatFor: Time, Date or ISO timestamp text for a Date value. */
export function dateToString(d: Date): string {
  const t = d.getTime();
  if (t >= 0 && t < MILLIS_PER_DAY) return new DateFormat('HH:mm:ss.SSS').format(d);
  if (t % MILLIS_PER_DAY === 0) return new DateFormat('yyyy-MM-dd').format(d);
  return new DateFormat("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").format(d);
}

const RANGES: Partial<Record<SchemaType, [number, number]>> = {
  int8: [-128, 127], int16: [-32768, 32767], int32: [-2147483648, 2147483647],
};

function wrapInt(n: number, type: SchemaType): number {
  const t = Math.trunc(n);
  switch (type) {
    case 'int8': return (t << 24) >> 24;
    case 'int16': return (t << 16) >> 16;
    case 'int32': return t | 0;
    default: return t;
  }
}

export function castValue(schema: Schema | null, value: unknown, target: SchemaType): unknown {
  if (value === null || value === undefined) return null;
  const inferred = schema ? schema.type : inferType(value);
  if (inferred === null) throw new DataException(`Cast transformation was passed a value of type ${nullSafeClassName(value)} which is not supported by Connect's data API`);
  if (!INPUT_TYPES.includes(inferred)) throw new DataException(`Cast transformation does not support casting from ${inferred.toUpperCase()}; supported types are ${upper(INPUT_TYPES)}`);
  let v = value;
  const isDecimal = schema?.name === LogicalTypes.Decimal;
  if (schema?.name !== undefined && target !== 'string') {
    if (schema.name === LogicalTypes.Date) v = dateToDays(v);
    else if (schema.name === LogicalTypes.Time) v = timeToMillis(v);
    else if (schema.name === LogicalTypes.Timestamp && v instanceof Date) v = v.getTime();
  }
  const outOfRange = () => new DataException(`Value (${String(value)}) was out of range for requested data type`);
  const unexpected = () => new DataException(`Unexpected type in Cast transformation: ${nullSafeClassName(v)}`);
  switch (target) {
    case 'int8': case 'int16': case 'int32': case 'int64': {
      if (typeof v === 'boolean') return v ? 1 : 0;
      if (typeof v === 'bigint') return target === 'int64' ? Number(v) : wrapInt(Number(BigInt.asIntN(32, v)), target);
      if (typeof v === 'number') return wrapInt(v, target);
      if (typeof v === 'string') {
        if (isDecimal) return wrapInt(Number(v), target);
        const s = v.trim() === v ? v : '';
        if (!/^[-+]?\d+$/.test(s)) throw outOfRange();
        const n = Number(s);
        const r = RANGES[target];
        if (r ? n < r[0] || n > r[1] : !Number.isSafeInteger(n)) throw outOfRange();
        return n;
      }
      throw unexpected();
    }
    case 'float32': case 'float64': {
      if (typeof v === 'boolean') return v ? 1 : 0;
      if (typeof v === 'number') return target === 'float32' ? Math.fround(v) : v;
      if (typeof v === 'bigint') return Number(v);
      if (typeof v === 'string') {
        const n = Number(v.trim());
        if (v.trim() === '' || Number.isNaN(n) && !/^[-+]?NaN$/.test(v.trim())) throw outOfRange();
        return target === 'float32' ? Math.fround(n) : n;
      }
      throw unexpected();
    }
    case 'boolean': {
      if (typeof v === 'boolean') return v;
      if (typeof v === 'number') return Math.trunc(v) !== 0;
      if (typeof v === 'bigint') return v !== 0n;
      if (typeof v === 'string') return isDecimal ? parseDecimal(v).unscaled !== 0n : v.toLowerCase() === 'true';
      throw unexpected();
    }
    case 'string': {
      if (v instanceof Date) return dateToString(v);
      if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.from(v).toString('base64');
      if (typeof v === 'number' && (inferred === 'float32' || inferred === 'float64') && Number.isInteger(v) && !String(v).includes('e')) return `${v}.0`;
      return String(v);
    }
    default:
      throw new DataException(`${target.toUpperCase()} is not supported in the Cast transformation.`);
  }
}

export class Cast extends BaseTransform {
  protected readonly def = castConfigDef;
  private casts = new Map<string | null, SchemaType>();
  private whole: SchemaType | undefined;
  private readonly cache = new SchemaCache();
  constructor(private readonly isKey: boolean) { super(); }
  protected init(c: ParsedConfig): void {
    this.casts = parseCastSpec(c.spec as string[]);
    this.whole = this.casts.get(null);
  }
  apply(record: SinkRecord): SinkRecord {
    const schema = operatingSchema(record, this.isKey);
    const value = operatingValue(record, this.isKey);
    if (value === null || value === undefined) return record;
    if (schema === null) {
      if (this.whole) return newRecord(record, this.isKey, null, castValue(null, value, this.whole));
      const map = requireMap(value, 'cast types');
      const out: Record<string, unknown> = { ...map };
      for (const [f, t] of this.casts) if (f !== null) out[f] = castValue(null, map[f] ?? null, t);
      return newRecord(record, this.isKey, null, out);
    }
    const updated = this.cache.get(schema, (s) => this.buildSchema(s));
    if (this.whole) return newRecord(record, this.isKey, updated, castValue(schema, value, this.whole));
    const struct = requireStruct(value, 'cast types');
    const values: Record<string, unknown> = {};
    for (const f of struct.schema.fields ?? []) {
      const orig = struct.get(f.name);
      const t = this.casts.get(f.name);
      values[f.name] = t ? castValue(f.schema, orig, t) : orig;
    }
    return newRecord(record, this.isKey, updated, new Struct(updated, values));
  }
  private buildSchema(s: Schema): Schema {
    let out: Schema;
    if (this.whole) {
      out = copySchemaBasics(s, { type: this.whole });
      out = withSchema(out, { name: undefined, version: undefined, parameters: undefined, doc: s.doc });
    } else {
      const fields: [string, Schema][] = (s.fields ?? []).map((f) => {
        const t = this.casts.get(f.name);
        if (!t) return [f.name, f.schema];
        const fs: Record<string, unknown> = { type: t, optional: f.schema.optional };
        if (f.schema.defaultValue !== undefined && f.schema.defaultValue !== null) fs.defaultValue = castValue(f.schema, f.schema.defaultValue, t);
        return [f.name, fs as unknown as Schema];
      });
      out = structSchema(fields, { name: s.name, version: s.version, doc: s.doc, parameters: s.parameters });
    }
    const changes: Record<string, unknown> = { optional: s.optional };
    if (s.defaultValue !== undefined && s.defaultValue !== null && this.whole) changes.defaultValue = castValue(s, s.defaultValue, out.type);
    return withSchema(out, changes);
  }
}

// ---------------- Flatten ----------------

export const flattenConfigDef: ConfigDef = [
  key({ name: 'delimiter', type: 'STRING', default: '.', documentation: 'Delimiter to insert between field names from the input record when generating field names for the output record' }),
];

export class Flatten extends BaseTransform {
  protected readonly def = flattenConfigDef;
  private delimiter = '.';
  private readonly cache = new SchemaCache();
  constructor(private readonly isKey: boolean) { super(); }
  protected init(c: ParsedConfig): void {
    this.delimiter = c.delimiter as string;
  }
  private name(prefix: string, field: string): string {
    return prefix === '' ? field : prefix + this.delimiter + field;
  }
  apply(record: SinkRecord): SinkRecord {
    const schema = operatingSchema(record, this.isKey);
    const value = operatingValue(record, this.isKey);
    if (schema === null) {
      const map = requireMapOrNull(value, 'flattening');
      if (map === null) return newRecord(record, this.isKey, null, null);
      const out: Record<string, unknown> = {};
      this.flattenMap(map, '', out);
      return newRecord(record, this.isKey, null, out);
    }
    const struct = requireStructOrNull(value, 'flattening');
    const updated = this.cache.get(schema, (s) => {
      const fields: [string, Schema][] = [];
      this.buildSchema(s, '', fields, s.optional);
      return structSchema(fields, { optional: s.optional, name: s.name, version: s.version, doc: s.doc, parameters: s.parameters });
    });
    if (struct === null) return newRecord(record, this.isKey, updated, null);
    const values: Record<string, unknown> = {};
    this.flattenStruct(struct, '', values);
    return newRecord(record, this.isKey, updated, new Struct(updated, values));
  }
  private flattenMap(map: Record<string, unknown>, prefix: string, out: Record<string, unknown>): void {
    for (const [k, v] of Object.entries(map)) {
      const name = this.name(prefix, k);
      if (v === null || v === undefined) { out[name] = null; continue; }
      if (v instanceof Map) { this.flattenMap(Object.fromEntries(v) as Record<string, unknown>, name, out); continue; }
      const t = inferType(v);
      if (t === 'map') this.flattenMap(v as Record<string, unknown>, name, out);
      else if (t === null && !(v instanceof Date)) {
        throw new DataException(`Flatten transformation does not support ${nullSafeClassName(v)} for record without schemas (for field ${name}).`);
      } else if (t === 'struct') {
        throw new DataException(`Flatten transformation does not support ${nullSafeClassName(v)} for record without schemas (for field ${name}).`);
      } else out[name] = v;
    }
  }
  private buildSchema(s: Schema, prefix: string, out: [string, Schema][], optional: boolean): void {
    for (const f of s.fields ?? []) {
      const name = this.name(prefix, f.name);
      const fieldOptional = optional || f.schema.optional;
      if (f.schema.type === 'struct') this.buildSchema(f.schema, name, out, fieldOptional);
      else out.push([name, fieldOptional && !f.schema.optional ? withSchema(f.schema, { optional: true }) : f.schema]);
    }
  }
  private flattenStruct(struct: Struct, prefix: string, out: Record<string, unknown>): void {
    for (const f of struct.schema.fields ?? []) {
      const name = this.name(prefix, f.name);
      const v = struct.get(f.name);
      if (f.schema.type === 'struct') {
        if (v !== null && v !== undefined) this.flattenStruct(requireStruct(v, 'flattening'), name, out);
      } else out[name] = v;
    }
  }
}

export const structureTransformPlugins: TransformationDescriptor[] = [
  ...keyValue('Cast', castConfigDef, (k) => new Cast(k)),
  ...keyValue('Flatten', flattenConfigDef, (k) => new Flatten(k)),
];
