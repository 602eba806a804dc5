/** TimestampConverter and TimestampRouter. */
import { LogicalTypes, type ConfigDef, type Schema, type SinkRecord, type TransformationDescriptor } from '../api';
import type { ParsedConfig } from '../config/parse';
import { MILLIS_PER_DAY, Schemas, dateSchema, structSchema, timeSchema, timestampSchema } from '../converters/schemas';
import {
  BaseTransform, ConfigException, ConnectExceptionCtor, DataException, SchemaCache, Struct, TRANSFORMS_PKG, key, keyValue, newRecord,
  nullSafeClassName, operatingSchema, operatingValue, requireMap, requireStructOrNull, transformation, v,
} from './common';
import { DateFormat } from './dateformat';

type TsType = 'string' | 'unix' | 'Date' | 'Time' | 'Timestamp';

export const timestampConverterConfigDef: ConfigDef = [
  key({ name: 'field', type: 'STRING', default: '', importance: 'HIGH', documentation: 'The field containing the timestamp, or empty if the entire value is a timestamp' }),
  key({
    name: 'target.type', type: 'STRING', importance: 'HIGH', documentation: 'The desired timestamp representation: string, unix, Date, Time, or Timestamp',
    validator: v.in('string', 'unix', 'Date', 'Time', 'Timestamp'), recommendedValues: ['string', 'unix', 'Date', 'Time', 'Timestamp'],
  }),
  key({ name: 'format', type: 'STRING', default: '', documentation: 'A SimpleDateFormat-compatible format for the timestamp. Used to generate the output when type=string or used to parse the input if the input is a string.' }),
  key({
    name: 'unix.precision', type: 'STRING', default: 'milliseconds', importance: 'LOW',
    documentation: 'The desired Unix precision for the timestamp: seconds, milliseconds, microseconds, or nanoseconds. Used to generate the output when type=unix or used to parse the input if the input is a Long.Note: This SMT will cause precision loss during conversions from, and to, values with sub-millisecond components.',
    validator: v.in('nanoseconds', 'microseconds', 'milliseconds', 'seconds'), recommendedValues: ['nanoseconds', 'microseconds', 'milliseconds', 'seconds'],
  }),
  key({ name: 'replace.null.with.default', type: 'BOOLEAN', default: true, documentation: 'Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used.' }),
];

export class TimestampConverter extends BaseTransform {
  protected readonly def = timestampConverterConfigDef;
  private field = '';
  private target: TsType = 'Timestamp';
  private format: DateFormat | null = null;
  private precision = 'milliseconds';
  private replaceNull = true;
  private readonly cache = new SchemaCache();
  constructor(private readonly isKey: boolean) { super(); }
  protected init(c: ParsedConfig): void {
    this.field = c.field as string;
    this.target = c['target.type'] as TsType;
    this.precision = c['unix.precision'] as string;
    this.replaceNull = c['replace.null.with.default'] as boolean;
    const pattern = (c.format as string).trim();
    if (this.target === 'string' && pattern === '') throw new ConfigException('TimestampConverter requires format option to be specified when using string timestamps');
    if (pattern !== '') {
      try {
        this.format = new DateFormat(c.format as string);
      } catch {
        throw new ConfigException(`TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: ${c.format as string}`);
      }
    }
  }

  private toRaw(type: TsType, orig: unknown): Date {
    switch (type) {
      case 'string':
        if (typeof orig !== 'string') throw new DataException(`Expected string timestamp to be a String, but found ${nullSafeClassName(orig)}`);
        if (!this.format) throw new DataException('TimestampConverter requires format option to be specified when using string timestamps');
        return this.format.parse(orig);
      case 'unix': {
        if (typeof orig !== 'number' && typeof orig !== 'bigint') throw new DataException(`Expected Unix timestamp to be a Long, but found ${nullSafeClassName(orig)}`);
        const n = Number(orig);
        switch (this.precision) {
          case 'seconds': return new Date(n * 1000);
          case 'microseconds': return new Date(Math.trunc(n / 1000));
          case 'nanoseconds': return new Date(Math.trunc(n / 1_000_000));
          default: return new Date(n);
        }
      }
      default:
        if (!(orig instanceof Date)) throw new DataException(`Expected ${type} to be a java.util.Date, but found ${nullSafeClassName(orig)}`);
        return orig;
    }
  }
  private toType(d: Date): unknown {
    const ms = d.getTime();
    switch (this.target) {
      case 'string': return this.format!.format(d);
      case 'unix':
        switch (this.precision) {
          case 'seconds': return Math.floor(ms / 1000);
          case 'microseconds': return ms * 1000;
          case 'nanoseconds': return ms * 1_000_000;
          default: return ms;
        }
      case 'Date': return new Date(ms - (((ms % MILLIS_PER_DAY) + MILLIS_PER_DAY) % MILLIS_PER_DAY));
      case 'Time': return new Date(((ms % MILLIS_PER_DAY) + MILLIS_PER_DAY) % MILLIS_PER_DAY);
      case 'Timestamp': return d;
    }
  }
  private typeSchema(optional: boolean): Schema {
    switch (this.target) {
      case 'string': return optional ? Schemas.OPTIONAL_STRING : Schemas.STRING;
      case 'unix': return optional ? Schemas.OPTIONAL_INT64 : Schemas.INT64;
      case 'Date': return dateSchema(optional);
      case 'Time': return timeSchema(optional);
      case 'Timestamp': return timestampSchema(optional);
    }
  }
  private typeFromSchema(schema: Schema): TsType {
    if (schema.name === LogicalTypes.Timestamp) return 'Timestamp';
    if (schema.name === LogicalTypes.Date) return 'Date';
    if (schema.name === LogicalTypes.Time) return 'Time';
    if (schema.type === 'string') return 'string';
    if (schema.type === 'int64') return 'unix';
    throw new ConnectExceptionCtor(`Schema ${describeSchema(schema)} does not correspond to a known timestamp type format`);
  }
  private inferType(value: unknown): TsType {
    if (value instanceof Date) return 'Timestamp';
    if (typeof value === 'number' || typeof value === 'bigint') return 'unix';
    if (typeof value === 'string') return 'string';
    throw new DataException(`TimestampConverter does not support ${nullSafeClassName(value)} objects as timestamps`);
  }
  private convert(value: unknown, from: TsType): unknown {
    if (value === null || value === undefined) return null;
    return this.toType(this.toRaw(from, value));
  }

  apply(record: SinkRecord): SinkRecord {
    const schema = operatingSchema(record, this.isKey);
    const value = operatingValue(record, this.isKey);
    if (schema === null) {
      if (value === null || value === undefined) return newRecord(record, this.isKey, null, null);
      if (this.field === '') return newRecord(record, this.isKey, null, this.convert(value, this.inferType(value)));
      const map = requireMap(value, 'converting timestamp formats');
      const out: Record<string, unknown> = { ...map };
      const fv = map[this.field];
      out[this.field] = fv === null || fv === undefined ? null : this.convert(fv, this.inferType(fv));
      return newRecord(record, this.isKey, null, out);
    }
    if (this.field === '') {
      const from = this.typeFromSchema(schema);
      return newRecord(record, this.isKey, this.typeSchema(schema.optional), this.convert(value, from));
    }
    const struct = requireStructOrNull(value, 'converting timestamp formats');
    const updated = this.cache.get(schema, (s) => structSchema(
      (s.fields ?? []).map((f) => [f.name, f.name === this.field ? this.typeSchema(f.schema.optional) : f.schema] as const),
      { optional: s.optional, name: s.name, version: s.version, doc: s.doc, parameters: s.parameters },
    ));
    if (struct === null) return newRecord(record, this.isKey, updated, null);
    const values: Record<string, unknown> = {};
    for (const f of schema.fields ?? []) {
      const raw = this.replaceNull ? struct.get(f.name) : (struct.values[f.name] ?? null);
      values[f.name] = f.name === this.field ? this.convert(raw, this.typeFromSchema(f.schema)) : raw;
    }
    return newRecord(record, this.isKey, updated, new Struct(updated, values));
  }
}

function describeSchema(s: Schema): string {
  return `Schema{${s.name ? `${s.name}:` : ''}${s.type.toUpperCase()}}`;
}

// ---------------- TimestampRouter ----------------

export const timestampRouterConfigDef: ConfigDef = [
  key({ name: 'topic.format', type: 'STRING', default: '${topic}-${timestamp}', importance: 'HIGH', documentation: 'Format string which can contain <code>${topic}</code> and <code>${timestamp}</code> as placeholders for the topic and timestamp, respectively.' }),
  key({ name: 'timestamp.format', type: 'STRING', default: 'yyyyMMdd', importance: 'HIGH', documentation: 'Format string for the timestamp that is compatible with <code>java.text.SimpleDateFormat</code>.' }),
];

export class TimestampRouter extends BaseTransform {
  protected readonly def = timestampRouterConfigDef;
  private topicFormat = '';
  private format = new DateFormat('yyyyMMdd');
  protected init(c: ParsedConfig): void {
    this.topicFormat = c['topic.format'] as string;
    try {
      this.format = new DateFormat(c['timestamp.format'] as string);
    } catch (e) {
      throw new ConfigException(`Invalid value ${c['timestamp.format'] as string} for configuration timestamp.format: ${(e as Error).message}`);
    }
  }
  apply(record: SinkRecord): SinkRecord {
    if (record.timestamp === null || record.timestamp === undefined) {
      throw new DataException(`Timestamp missing on record: ${describeRecord(record)}`);
    }
    const ts = this.format.format(new Date(record.timestamp));
    const topic = this.topicFormat.split('${topic}').join(record.topic).split('${timestamp}').join(ts);
    return { ...record, topic };
  }
}

export function describeRecord(r: SinkRecord): string {
  return `SinkRecord{kafkaOffset=${r.kafkaOffset}, timestamp=${r.timestamp}} ConnectRecord{topic='${r.topic}', kafkaPartition=${r.kafkaPartition}}`;
}

export const timestampTransformPlugins: TransformationDescriptor[] = [
  ...keyValue('TimestampConverter', timestampConverterConfigDef, (k) => new TimestampConverter(k)),
  transformation(`${TRANSFORMS_PKG}.TimestampRouter`, timestampRouterConfigDef, () => new TimestampRouter()),
];
