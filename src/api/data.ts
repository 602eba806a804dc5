/**
 * Connect's data model: schemas and values, as transforms, converters and sinks see them.
 *
 * Mirrors org.apache.kafka.connect.data: a schemaful value travels with a `Schema`; a struct value
 * is a `Struct` (a plain field map tied to its schema). Schemaless values are plain JSON-like data
 * (objects, arrays, strings, numbers, booleans, null, Buffers) with `schema === null`.
 */

export type SchemaType =
  | 'int8' | 'int16' | 'int32' | 'int64' | 'float32' | 'float64'
  | 'boolean' | 'string' | 'bytes' | 'array' | 'map' | 'struct';

export interface Field {
  readonly name: string;
  readonly index: number;
  readonly schema: Schema;
}

export interface Schema {
  readonly type: SchemaType;
  readonly optional: boolean;
  readonly name?: string;
  readonly version?: number;
  readonly doc?: string;
  readonly parameters?: Readonly<Record<string, string>>;
  readonly defaultValue?: unknown;
  /** struct only, in declaration order */
  readonly fields?: readonly Field[];
  /** array: element schema; map: value schema */
  readonly valueSchema?: Schema;
  /** map only */
  readonly keySchema?: Schema;
}

/** Logical type names, as Connect spells them. */
export const LogicalTypes = {
  Decimal: 'org.apache.kafka.connect.data.Decimal',
  Date: 'org.apache.kafka.connect.data.Date',
  Time: 'org.apache.kafka.connect.data.Time',
  Timestamp: 'org.apache.kafka.connect.data.Timestamp',
} as const;

/** A struct value: field values by name, bound to a struct schema. */
export class Struct {
  readonly values: Record<string, unknown>;
  constructor(readonly schema: Schema, values?: Record<string, unknown>) {
    if (schema.type !== 'struct') throw new DataException(`Not a struct schema: ${schema.type}`);
    this.values = values ?? {};
  }
  get(name: string): unknown {
    const field = this.schema.fields?.find((f) => f.name === name);
    if (!field) throw new DataException(`${name} is not a valid field name`);
    const v = this.values[name];
    return v === undefined ? (field.schema.defaultValue ?? null) : v;
  }
  put(name: string, value: unknown): this {
    if (!this.schema.fields?.some((f) => f.name === name)) throw new DataException(`${name} is not a valid field name`);
    this.values[name] = value;
    return this;
  }
}

/** Thrown when data does not fit a schema or cannot be converted (Connect's DataException). */
export class DataException extends Error {
  override name = 'DataException';
}

/** Thrown for failures that may succeed when retried (Connect's RetriableException). */
export class RetriableException extends Error {
  override name = 'RetriableException';
  readonly retriable = true;
}

/** Thrown for configuration mistakes (Connect's ConfigException). */
export class ConfigException extends Error {
  override name = 'ConfigException';
}

/** A generic runtime failure (Connect's ConnectException). */
export class ConnectException extends Error {
  override name = 'ConnectException';
}
