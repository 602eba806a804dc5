/** InsertField, ReplaceField, MaskField, ValueToKey, ExtractField, HoistField, SetSchemaMetadata. */
import { LogicalTypes, type ConfigDef, type ConfigMap, type Schema, type SinkRecord, type TransformationDescriptor } from '../api';
import type { ParsedConfig } from '../config/parse';
import { decimalScale, toDecimalString } from '../converters/decimal';
import { Schemas, fieldOf, structSchema, timestampSchema, withSchema } from '../converters/schemas';
import {
  BaseTransform, ConfigException, DataException, SchemaCache, Struct, TRANSFORMS_PKG, copySchemaBasics, invalidValue, key, keyValue,
  newRecord, operatingSchema, operatingValue, requireMap, requireMapOrNull, requireSchema, requireStruct, requireStructOrNull, transformation, v,
} from './common';

// ---------------- InsertField ----------------

const OPTIONALITY_DOC = "Suffix with '!' to make this a required field, or '?' to keep it optional (the default).";
export const insertFieldConfigDef: ConfigDef = [
  key({ name: 'topic.field', type: 'STRING', default: null, documentation: `Field name for Kafka topic.\n${OPTIONALITY_DOC}` }),
  key({ name: 'partition.field', type: 'STRING', default: null, documentation: `Field name for Kafka partition.\n${OPTIONALITY_DOC}` }),
  key({ name: 'offset.field', type: 'STRING', default: null, documentation: `Field name for Kafka offset - only applicable to sink connectors.\n${OPTIONALITY_DOC}` }),
  key({ name: 'timestamp.field', type: 'STRING', default: null, documentation: `Field name for record timestamp.\n${OPTIONALITY_DOC}` }),
  key({ name: 'static.field', type: 'STRING', default: null, documentation: `Field name for static data field.\n${OPTIONALITY_DOC}` }),
  key({ name: 'static.value', type: 'STRING', default: null, documentation: 'Static field value, if field name configured.' }),
  key({ name: 'replace.null.with.default', type: 'BOOLEAN', default: true, documentation: 'Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used.' }),
];

interface Spec { name: string; optional: boolean }
function parseSpec(spec: unknown): Spec | null {
  if (typeof spec !== 'string') return null;
  if (spec.endsWith('?')) return { name: spec.slice(0, -1), optional: true };
  if (spec.endsWith('!')) return { name: spec.slice(0, -1), optional: false };
  return { name: spec, optional: true };
}

/** Reads a struct field honouring replace.null.with.default (Struct.get vs getWithoutDefault). */
function fieldValue(struct: Struct, name: string, replaceNull: boolean): unknown {
  if (replaceNull) return struct.get(name);
  const raw = struct.values[name];
  return raw === undefined ? null : raw;
}

export class InsertField extends BaseTransform {
  protected readonly def = insertFieldConfigDef;
  private topic: Spec | null = null; private partition: Spec | null = null; private offset: Spec | null = null;
  private timestamp: Spec | null = null; private staticField: Spec | null = null; private staticValue: string | null = null;
  private applicable = false;
  private replaceNull = true;
  private readonly cache = new SchemaCache();
  constructor(private readonly isKey: boolean) { super(); }
  protected init(c: ParsedConfig): void {
    this.topic = parseSpec(c['topic.field']); this.partition = parseSpec(c['partition.field']);
    this.offset = parseSpec(c['offset.field']); this.timestamp = parseSpec(c['timestamp.field']);
    this.staticField = parseSpec(c['static.field']); this.staticValue = c['static.value'] as string | null;
    this.replaceNull = c['replace.null.with.default'] as boolean;
    this.applicable = !!(this.topic || this.partition || this.offset || this.timestamp || this.staticField);
  }
  apply(record: SinkRecord): SinkRecord {
    if (!this.applicable) return record;
    const schema = operatingSchema(record, this.isKey);
    const value = operatingValue(record, this.isKey);
    if (value === null || value === undefined) throw new DataException('null value');
    if (schema === null) {
      const map = requireMap(value, 'field insertion');
      const out: Record<string, unknown> = { ...map };
      if (this.topic) out[this.topic.name] = record.topic;
      if (this.partition) out[this.partition.name] = record.kafkaPartition;
      if (this.offset) out[this.offset.name] = record.kafkaOffset;
      if (this.timestamp && record.timestamp !== null) out[this.timestamp.name] = record.timestamp;
      if (this.staticField && this.staticValue !== null) out[this.staticField.name] = this.staticValue;
      return newRecord(record, this.isKey, null, out);
    }
    if (schema.type !== 'struct') throw new DataException(`Can only operate on Struct types: ${value?.constructor?.name ?? typeof value}`);
    const struct = requireStruct(value, 'field insertion');
    const updated = this.cache.get(schema, (s) => {
      const fields: [string, Schema][] = (s.fields ?? []).map((f) => [f.name, f.schema]);
      if (this.topic) fields.push([this.topic.name, this.topic.optional ? Schemas.OPTIONAL_STRING : Schemas.STRING]);
      if (this.partition) fields.push([this.partition.name, this.partition.optional ? Schemas.OPTIONAL_INT32 : Schemas.INT32]);
      if (this.offset) fields.push([this.offset.name, this.offset.optional ? Schemas.OPTIONAL_INT64 : Schemas.INT64]);
      if (this.timestamp) fields.push([this.timestamp.name, timestampSchema(this.timestamp.optional)]);
      if (this.staticField) fields.push([this.staticField.name, this.staticField.optional ? Schemas.OPTIONAL_STRING : Schemas.STRING]);
      return structSchema(fields, { name: s.name, version: s.version, doc: s.doc, parameters: s.parameters });
    });
    const values: Record<string, unknown> = {};
    for (const f of schema.fields ?? []) values[f.name] = fieldValue(struct, f.name, this.replaceNull);
    if (this.topic) values[this.topic.name] = record.topic;
    if (this.partition) values[this.partition.name] = record.kafkaPartition;
    if (this.offset) values[this.offset.name] = record.kafkaOffset;
    if (this.timestamp && record.timestamp !== null) values[this.timestamp.name] = new Date(record.timestamp);
    if (this.staticField && this.staticValue !== null) values[this.staticField.name] = this.staticValue;
    return newRecord(record, this.isKey, updated, new Struct(updated, values));
  }
}

// ---------------- ReplaceField ----------------

const renamesValidator = (value: unknown, name: string) => {
  if (!Array.isArray(value)) return undefined;
  for (const m of value as string[]) if (m.split(':').length !== 2) return invalidValue(name, value, `Invalid rename mapping: ${m}`);
  return undefined;
};
export const replaceFieldConfigDef: ConfigDef = [
  key({ name: 'exclude', type: 'LIST', default: [], documentation: 'Fields to exclude. This takes precedence over the fields to include.' }),
  key({ name: 'include', type: 'LIST', default: [], documentation: 'Fields to include. If specified, only these fields will be used.' }),
  key({ name: 'renames', type: 'LIST', default: [], documentation: 'Field rename mappings.', validator: renamesValidator }),
  key({ name: 'blacklist', type: 'LIST', default: null, importance: 'LOW', documentation: 'Deprecated. Use exclude instead.' }),
  key({ name: 'whitelist', type: 'LIST', default: null, importance: 'LOW', documentation: 'Deprecated. Use include instead.' }),
  key({ name: 'replace.null.with.default', type: 'BOOLEAN', default: true, documentation: 'Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used.' }),
];

/** ConfigUtils.translateDeprecatedConfigs: a deprecated key fills its replacement unless both are set. */
function translateDeprecated(raw: ConfigMap, pairs: [string, string][]): ConfigMap {
  const out: Record<string, string> = { ...raw };
  for (const [target, old] of pairs) {
    if (raw[old] === undefined) continue;
    if (raw[target] !== undefined && raw[target] !== raw[old]) {
      throw new ConfigException(`Must not set both ${target} and ${old} (deprecated); use only ${target}`);
    }
    out[target] = raw[old]!;
    delete out[old];
  }
  return out;
}

export class ReplaceField extends BaseTransform {
  protected readonly def = replaceFieldConfigDef;
  private exclude = new Set<string>(); private include = new Set<string>();
  private renames = new Map<string, string>(); private reverse = new Map<string, string>();
  private replaceNull = true;
  private readonly cache = new SchemaCache();
  constructor(private readonly isKey: boolean) { super(); }
  override configure(config: ConfigMap): void {
    super.configure(translateDeprecated(config, [['exclude', 'blacklist'], ['include', 'whitelist']]));
  }
  protected init(c: ParsedConfig): void {
    this.exclude = new Set(c.exclude as string[]);
    this.include = new Set(c.include as string[]);
    for (const m of c.renames as string[]) {
      const parts = m.split(':');
      if (parts.length !== 2) throw new ConfigException(invalidValue('renames', c.renames, `Invalid rename mapping: ${m}`));
      this.renames.set(parts[0]!, parts[1]!);
      this.reverse.set(parts[1]!, parts[0]!);
    }
    this.replaceNull = c['replace.null.with.default'] as boolean;
  }
  filter(name: string): boolean {
    return !this.exclude.has(name) && (this.include.size === 0 || this.include.has(name));
  }
  renamed(name: string): string {
    return this.renames.get(name) ?? name;
  }
  apply(record: SinkRecord): SinkRecord {
    const schema = operatingSchema(record, this.isKey);
    const value = operatingValue(record, this.isKey);
    if (schema === null) {
      const map = requireMapOrNull(value, 'field replacement');
      if (map === null) return newRecord(record, this.isKey, null, null);
      const out: Record<string, unknown> = {};
      for (const [k, fv] of Object.entries(map)) if (this.filter(k)) out[this.renamed(k)] = fv;
      return newRecord(record, this.isKey, null, out);
    }
    const struct = requireStructOrNull(value, 'field replacement');
    const updated = this.cache.get(schema, (s) => {
      const fields: [string, Schema][] = [];
      for (const f of s.fields ?? []) if (this.filter(f.name)) fields.push([this.renamed(f.name), f.schema]);
      return structSchema(fields, { optional: s.optional, name: s.name, version: s.version, doc: s.doc, parameters: s.parameters });
    });
    if (struct === null) return newRecord(record, this.isKey, updated, null);
    const values: Record<string, unknown> = {};
    for (const f of updated.fields ?? []) values[f.name] = fieldValue(struct, this.reverse.get(f.name) ?? f.name, this.replaceNull);
    return newRecord(record, this.isKey, updated, new Struct(updated, values));
  }
}

// ---------------- MaskField ----------------

export const maskFieldConfigDef: ConfigDef = [
  key({ name: 'fields', type: 'LIST', importance: 'HIGH', documentation: 'Names of fields to mask.', validator: v.nonEmptyList }),
  key({ name: 'replacement', type: 'STRING', default: null, importance: 'LOW', documentation: 'Custom value replacement, that will be applied to all \'fields\' values (numeric or non-empty string values only).', validator: v.nonEmptyString }),
  key({ name: 'replace.null.with.default', type: 'BOOLEAN', default: true, documentation: 'Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used.' }),
];

function typeName(value: unknown): string {
  return value === null ? 'null' : (value as object)?.constructor?.name ?? typeof value;
}

/** MaskField's "null-equivalent" value for a type (false, 0, "", epoch, empty list/map). */
function maskedPrimitive(value: unknown, schema: Schema | null): unknown {
  if (schema?.name === LogicalTypes.Decimal) return toDecimalString(0, decimalScale(schema));
  if (value instanceof Date) return new Date(0);
  if (typeof value === 'boolean') return false;
  if (typeof value === 'number') return 0;
  if (typeof value === 'bigint') return 0n;
  if (typeof value === 'string') return '';
  if (Array.isArray(value)) return [];
  if (value instanceof Map) return new Map();
  if (typeof value === 'object' && value !== null && !(value instanceof Struct) && !Buffer.isBuffer(value) && !(value instanceof Uint8Array)) return {};
  throw new DataException(`Cannot mask value of type: ${typeName(value)}`);
}

export class MaskField extends BaseTransform {
  protected readonly def = maskFieldConfigDef;
  private fields = new Set<string>();
  private replacement: string | null = null;
  private replaceNull = true;
  constructor(private readonly isKey: boolean) { super(); }
  protected init(c: ParsedConfig): void {
    this.fields = new Set(c.fields as string[]);
    this.replacement = c.replacement as string | null;
    this.replaceNull = c['replace.null.with.default'] as boolean;
  }
  private masked(value: unknown, schema: Schema | null): unknown {
    if (value === null || value === undefined) return null;
    if (this.replacement === null) return maskedPrimitive(value, schema);
    const r = this.replacement;
    const unconvertible = () => new DataException(`Unable to convert ${r} (${typeName(value)}) to number`);
    if (schema?.name === LogicalTypes.Decimal) {
      try { return toDecimalString(r, decimalScale(schema)); } catch { throw unconvertible(); }
    }
    if (typeof value === 'string') return r;
    if (typeof value === 'bigint') {
      if (!/^[-+]?\d+$/.test(r.trim())) throw unconvertible();
      return BigInt(r.trim());
    }
    if (typeof value === 'number') {
      const isInt = schema ? schema.type.startsWith('int') : Number.isInteger(value);
      if (isInt ? !/^[-+]?\d+$/.test(r.trim()) : (r.trim() === '' || Number.isNaN(Number(r)))) throw unconvertible();
      return Number(r);
    }
    throw new DataException(`Cannot mask value of type ${typeName(value)} with custom replacement.`);
  }
  apply(record: SinkRecord): SinkRecord {
    const schema = operatingSchema(record, this.isKey);
    const value = operatingValue(record, this.isKey);
    if (schema === null) {
      const map = requireMapOrNull(value, 'mask fields');
      if (map === null) return record;
      const out: Record<string, unknown> = { ...map };
      for (const f of this.fields) if (f in out) out[f] = this.masked(map[f], null);
      return newRecord(record, this.isKey, null, out);
    }
    const struct = requireStructOrNull(value, 'mask fields');
    if (struct === null) return record;
    const values: Record<string, unknown> = {};
    for (const f of struct.schema.fields ?? []) {
      const orig = fieldValue(struct, f.name, this.replaceNull);
      values[f.name] = this.fields.has(f.name) ? this.masked(orig, f.schema) : orig;
    }
    return newRecord(record, this.isKey, schema, new Struct(struct.schema, values));
  }
}

// ---------------- ValueToKey ----------------

export const valueToKeyConfigDef: ConfigDef = [
  key({ name: 'fields', type: 'LIST', importance: 'HIGH', documentation: 'Field names on the record value to extract as the record key.', validator: v.nonEmptyList }),
  key({ name: 'replace.null.with.default', type: 'BOOLEAN', default: true, documentation: 'Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used.' }),
];

export class ValueToKey extends BaseTransform {
  protected readonly def = valueToKeyConfigDef;
  private fields: string[] = [];
  private replaceNull = true;
  private readonly cache = new SchemaCache();
  protected init(c: ParsedConfig): void {
    this.fields = c.fields as string[];
    this.replaceNull = c['replace.null.with.default'] as boolean;
  }
  apply(record: SinkRecord): SinkRecord {
    if (record.valueSchema === null) {
      const map = requireMap(record.value, 'copying fields from value to key');
      const key: Record<string, unknown> = {};
      for (const f of this.fields) key[f] = map[f] ?? null;
      return { ...record, keySchema: null, key };
    }
    const struct = requireStruct(record.value, 'copying fields from value to key');
    const keySchema = this.cache.get(record.valueSchema, (s) =>
      structSchema(this.fields.map((name) => {
        const f = fieldOf(s, name);
        if (!f) throw new DataException(`Field does not exist: ${name}`);
        return [name, f.schema] as const;
      })));
    const values: Record<string, unknown> = {};
    for (const f of this.fields) values[f] = fieldValue(struct, f, this.replaceNull);
    return { ...record, keySchema, key: new Struct(keySchema, values) };
  }
}

// ---------------- ExtractField ----------------

export const extractFieldConfigDef: ConfigDef = [
  key({ name: 'field', type: 'STRING', documentation: 'Field name to extract.' }),
  key({ name: 'replace.null.with.default', type: 'BOOLEAN', default: true, documentation: 'Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used.' }),
];

export class ExtractField extends BaseTransform {
  protected readonly def = extractFieldConfigDef;
  private field = '';
  private replaceNull = true;
  constructor(private readonly isKey: boolean) { super(); }
  protected init(c: ParsedConfig): void {
    this.field = c.field as string;
    this.replaceNull = c['replace.null.with.default'] as boolean;
  }
  apply(record: SinkRecord): SinkRecord {
    const schema = operatingSchema(record, this.isKey);
    const value = operatingValue(record, this.isKey);
    if (schema === null) {
      const map = requireMapOrNull(value, 'field extraction');
      return newRecord(record, this.isKey, null, map === null ? null : (map[this.field] ?? null));
    }
    const struct = requireStructOrNull(value, 'field extraction');
    const field = fieldOf(schema, this.field);
    if (!field) throw new DataException(`Unknown field: ${this.field}`);
    return newRecord(record, this.isKey, field.schema, struct === null ? null : fieldValue(struct, this.field, this.replaceNull));
  }
}

// ---------------- HoistField ----------------

export const hoistFieldConfigDef: ConfigDef = [
  key({ name: 'field', type: 'STRING', documentation: 'Field name for the single field that will be created in the resulting Struct or Map.' }),
];

export class HoistField extends BaseTransform {
  protected readonly def = hoistFieldConfigDef;
  private field = '';
  private readonly cache = new SchemaCache();
  constructor(private readonly isKey: boolean) { super(); }
  protected init(c: ParsedConfig): void {
    this.field = c.field as string;
  }
  apply(record: SinkRecord): SinkRecord {
    const schema = operatingSchema(record, this.isKey);
    const value = operatingValue(record, this.isKey);
    if (schema === null) return newRecord(record, this.isKey, null, { [this.field]: value });
    const updated = this.cache.get(schema, (s) => structSchema([[this.field, s]]));
    return newRecord(record, this.isKey, updated, new Struct(updated, { [this.field]: value }));
  }
}

// ---------------- SetSchemaMetadata ----------------

export const setSchemaMetadataConfigDef: ConfigDef = [
  key({ name: 'schema.name', type: 'STRING', default: null, importance: 'HIGH', documentation: 'Schema name to set.' }),
  key({ name: 'schema.version', type: 'INT', default: null, importance: 'HIGH', documentation: 'Schema version to set.' }),
  key({ name: 'replace.null.with.default', type: 'BOOLEAN', default: true, documentation: 'Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used.' }),
];

export class SetSchemaMetadata extends BaseTransform {
  protected readonly def = setSchemaMetadataConfigDef;
  private name: string | null = null;
  private version: number | null = null;
  private readonly cache = new SchemaCache();
  constructor(private readonly isKey: boolean) { super(); }
  protected init(c: ParsedConfig): void {
    this.name = c['schema.name'] as string | null;
    this.version = c['schema.version'] as number | null;
    if (this.name === null && this.version === null) throw new ConfigException('Neither schema name nor version configured');
  }
  apply(record: SinkRecord): SinkRecord {
    const schema = requireSchema(operatingSchema(record, this.isKey), 'updating schema metadata');
    const value = operatingValue(record, this.isKey);
    const updated = this.cache.get(schema, (s) => withSchema(s, {
      name: this.name ?? s.name,
      version: this.version ?? s.version,
    }));
    const newValue = value instanceof Struct && updated.type === 'struct' ? new Struct(updated, { ...value.values }) : value;
    return newRecord(record, this.isKey, updated, newValue);
  }
}

export const fieldTransformPlugins: TransformationDescriptor[] = [
  ...keyValue('InsertField', insertFieldConfigDef, (k) => new InsertField(k)),
  ...keyValue('ReplaceField', replaceFieldConfigDef, (k) => new ReplaceField(k)),
  ...keyValue('MaskField', maskFieldConfigDef, (k) => new MaskField(k)),
  transformation(`${TRANSFORMS_PKG}.ValueToKey`, valueToKeyConfigDef, () => new ValueToKey()),
  ...keyValue('ExtractField', extractFieldConfigDef, (k) => new ExtractField(k)),
  ...keyValue('HoistField', hoistFieldConfigDef, (k) => new HoistField(k)),
  ...keyValue('SetSchemaMetadata', setSchemaMetadataConfigDef, (k) => new SetSchemaMetadata(k)),
];

void copySchemaBasics;
