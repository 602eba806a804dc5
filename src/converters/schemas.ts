/**
 * Small schema helpers shared by converters and transforms: primitive schema constants (like
 * Connect's Schema.INT32_SCHEMA), a builder for struct schemas, logical-type schemas, structural
 * equality, and the Date/Time/Timestamp conversions.
 *
 * Value representation (documented in docs/transforms.md):
 * - int8/int16/int32/float32/float64: number; int64: number (bigint accepted on output)
 * - Decimal: exact decimal string with the schema's scale (see decimal.ts)
 * - Date, Time, Timestamp: JS Date (as Connect's java.util.Date)
 * - bytes: Buffer; struct: Struct; array: array; map: plain object (string keys) or Map
 */
import { DataException, LogicalTypes, Struct, type Field, type Schema, type SchemaType } from '../api';

const prim = (type: SchemaType, optional: boolean): Schema => Object.freeze({ type, optional });

export const Schemas = {
  INT8: prim('int8', false), INT16: prim('int16', false), INT32: prim('int32', false), INT64: prim('int64', false),
  FLOAT32: prim('float32', false), FLOAT64: prim('float64', false), BOOLEAN: prim('boolean', false),
  STRING: prim('string', false), BYTES: prim('bytes', false),
  OPTIONAL_INT8: prim('int8', true), OPTIONAL_INT16: prim('int16', true), OPTIONAL_INT32: prim('int32', true),
  OPTIONAL_INT64: prim('int64', true), OPTIONAL_FLOAT32: prim('float32', true), OPTIONAL_FLOAT64: prim('float64', true),
  OPTIONAL_BOOLEAN: prim('boolean', true), OPTIONAL_STRING: prim('string', true), OPTIONAL_BYTES: prim('bytes', true),
} as const;

export function primitiveSchema(type: SchemaType, optional: boolean): Schema {
  return { type, optional };
}

export function decimalSchema(scale: number, optional = false): Schema {
  return { type: 'bytes', optional, name: LogicalTypes.Decimal, version: 1, parameters: { scale: String(scale) } };
}
export function dateSchema(optional = false): Schema {
  return { type: 'int32', optional, name: LogicalTypes.Date, version: 1 };
}
export function timeSchema(optional = false): Schema {
  return { type: 'int32', optional, name: LogicalTypes.Time, version: 1 };
}
export function timestampSchema(optional = false): Schema {
  return { type: 'int64', optional, name: LogicalTypes.Timestamp, version: 1 };
}

/** Builds a struct schema from [name, schema] pairs, assigning field indexes. */
export function structSchema(
  fields: readonly (readonly [string, Schema])[],
  meta: { optional?: boolean; name?: string; version?: number; doc?: string; parameters?: Record<string, string>; defaultValue?: unknown } = {},
): Schema {
  const built: Field[] = fields.map(([name, schema], index) => ({ name, index, schema }));
  const names = new Set<string>();
  for (const f of built) {
    if (names.has(f.name)) throw new DataException(`Cannot create field because of field name duplication ${f.name}`);
    names.add(f.name);
  }
  const s: { -readonly [K in keyof Schema]: Schema[K] } = { type: 'struct', optional: meta.optional ?? false, fields: built };
  if (meta.name !== undefined) s.name = meta.name;
  if (meta.version !== undefined) s.version = meta.version;
  if (meta.doc !== undefined) s.doc = meta.doc;
  if (meta.parameters !== undefined) s.parameters = meta.parameters;
  if (meta.defaultValue !== undefined) s.defaultValue = meta.defaultValue;
  return s;
}

export function arraySchema(valueSchema: Schema, optional = false): Schema {
  return { type: 'array', optional, valueSchema };
}
export function mapSchema(keySchema: Schema, valueSchema: Schema, optional = false): Schema {
  return { type: 'map', optional, keySchema, valueSchema };
}

/** Copy of `schema` with changes; undefined in `changes` removes that attribute. */
export function withSchema(schema: Schema, changes: Partial<{ -readonly [K in keyof Schema]: Schema[K] }>): Schema {
  const out: Record<string, unknown> = { ...schema };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out as unknown as Schema;
}

export function fieldOf(schema: Schema, name: string): Field | undefined {
  const fields = schema.fields;
  if (!fields) return undefined;
  for (const f of fields) if (f.name === name) return f;
  return undefined;
}

/** Structural schema equality (Connect's ConnectSchema.equals). */
export function schemaEquals(a: Schema | null | undefined, b: Schema | null | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  if (a.type !== b.type || a.optional !== b.optional || a.name !== b.name || a.version !== b.version || a.doc !== b.doc) return false;
  if (!recordEquals(a.parameters, b.parameters)) return false;
  if (!valueEquals(a.defaultValue, b.defaultValue)) return false;
  if (!schemaEquals(a.keySchema, b.keySchema) || !schemaEquals(a.valueSchema, b.valueSchema)) return false;
  const fa = a.fields, fb = b.fields;
  if (fa || fb) {
    if (!fa || !fb || fa.length !== fb.length) return false;
    for (let i = 0; i < fa.length; i++) {
      if (fa[i]!.name !== fb[i]!.name || fa[i]!.index !== fb[i]!.index || !schemaEquals(fa[i]!.schema, fb[i]!.schema)) return false;
    }
  }
  return true;
}

function recordEquals(a?: Readonly<Record<string, string>>, b?: Readonly<Record<string, string>>): boolean {
  if (a === b) return true;
  const ka = a ? Object.keys(a) : [], kb = b ? Object.keys(b) : [];
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (a![k] !== b?.[k]) return false;
  return true;
}

/** Deep equality of Connect values (Buffers, Dates, Structs, arrays, objects). */
export function valueEquals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (typeof a !== 'object' || typeof b !== 'object') return typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b);
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  if (a instanceof Date || b instanceof Date) return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  if (a instanceof Struct || b instanceof Struct) {
    if (!(a instanceof Struct && b instanceof Struct) || !schemaEquals(a.schema, b.schema)) return false;
    return (a.schema.fields ?? []).every((f) => valueEquals(a.values[f.name] ?? null, b.values[f.name] ?? null));
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => valueEquals(v, b[i]));
  }
  if (a instanceof Map || b instanceof Map) {
    if (!(a instanceof Map && b instanceof Map) || a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !valueEquals(v, b.get(k))) return false;
    return true;
  }
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && valueEquals((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

export const MILLIS_PER_DAY = 86_400_000;

function toMillis(value: unknown, logical: string): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw new DataException(`Invalid type for ${logical}, expected Date but was ${value === null ? 'null' : value?.constructor?.name ?? typeof value}`);
}

/** Date logical value → days since epoch (Connect's Date.fromLogical). Numbers are taken as epoch millis. */
export function dateToDays(value: unknown): number {
  const ms = toMillis(value, 'Date');
  if (ms % MILLIS_PER_DAY !== 0) throw new DataException('Kafka Connect Date type should not have any time fields set to non-zero values.');
  return ms / MILLIS_PER_DAY;
}
/** Time logical value → millis since midnight (Connect's Time.fromLogical). */
export function timeToMillis(value: unknown): number {
  const ms = toMillis(value, 'Time');
  if (ms < 0 || ms >= MILLIS_PER_DAY) throw new DataException('Kafka Connect Time type should not have any date fields set to non-zero values.');
  return ms;
}
/** Timestamp logical value → epoch millis. */
export function timestampToMillis(value: unknown): number {
  return toMillis(value, 'Timestamp');
}
