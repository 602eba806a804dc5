/** RegexRouter, Filter, DropHeaders, InsertHeader, HeaderFrom; and the predicates. */
import type { ConfigDef, ConfigMap, Header, Predicate, PredicateDescriptor, Schema, SinkRecord, TransformationDescriptor } from '../api';
import type { ParsedConfig } from '../config/parse';
import { parseConfigOrThrow } from '../config/parse';
import { structSchema } from '../converters/schemas';
import { parseString } from '../converters/values';
import {
  BaseTransform, ConfigException, PREDICATES_PKG, SchemaCache, Struct, TRANSFORMS_PKG, compileJavaRegex, invalidValue, javaReplacement,
  key, keyValue, newRecord, operatingSchema, operatingValue, predicate, requireMapOrNull, requireStructOrNull, transformation, v,
} from './common';

// ---------------- RegexRouter ----------------

export const regexRouterConfigDef: ConfigDef = [
  key({ name: 'regex', type: 'STRING', importance: 'HIGH', documentation: 'Regular expression to use for matching.', validator: v.regex }),
  key({ name: 'replacement', type: 'STRING', importance: 'HIGH', documentation: 'Replacement string.' }),
];

export class RegexRouter extends BaseTransform {
  protected readonly def = regexRouterConfigDef;
  private regex = /^$/;
  private replacement = '';
  protected init(c: ParsedConfig): void {
    this.regex = compileJavaRegex(c.regex as string);
    this.replacement = javaReplacement(c.replacement as string);
  }
  apply(record: SinkRecord): SinkRecord {
    if (!this.regex.test(record.topic)) return record;
    return { ...record, topic: record.topic.replace(this.regex, this.replacement) };
  }
}

// ---------------- Filter ----------------

export class Filter extends BaseTransform {
  protected readonly def: ConfigDef = [];
  protected init(): void {}
  apply(): null {
    return null;
  }
}

// ---------------- Headers ----------------

export const dropHeadersConfigDef: ConfigDef = [
  key({ name: 'headers', type: 'LIST', importance: 'HIGH', documentation: 'The name of the headers to be removed.', validator: v.nonEmptyList }),
];

export class DropHeaders extends BaseTransform {
  protected readonly def = dropHeadersConfigDef;
  private names = new Set<string>();
  protected init(c: ParsedConfig): void {
    this.names = new Set(c.headers as string[]);
  }
  apply(record: SinkRecord): SinkRecord {
    return { ...record, headers: record.headers.filter((h) => !this.names.has(h.key)) };
  }
}

export const insertHeaderConfigDef: ConfigDef = [
  key({ name: 'header', type: 'STRING', importance: 'HIGH', documentation: 'The name of the header.' }),
  key({ name: 'value.literal', type: 'STRING', importance: 'HIGH', documentation: 'The literal value that is to be set as the header value on all records.' }),
];

export class InsertHeader extends BaseTransform {
  protected readonly def = insertHeaderConfigDef;
  private header = '';
  private literal: Header = { key: '', value: null };
  protected init(c: ParsedConfig): void {
    this.header = c.header as string;
    // as Connect: the literal's value and schema are inferred once ("42" is INT8 42, "true" BOOLEAN)
    const parsed = parseString(c['value.literal'] as string);
    this.literal = { key: this.header, schema: parsed.schema, value: parsed.value };
  }
  apply(record: SinkRecord): SinkRecord {
    return { ...record, headers: [...record.headers, this.literal] };
  }
}

export const headerFromConfigDef: ConfigDef = [
  key({ name: 'fields', type: 'LIST', importance: 'HIGH', documentation: 'Field names in the record whose values are to be copied or moved to headers.', validator: v.nonEmptyList }),
  key({ name: 'headers', type: 'LIST', importance: 'HIGH', documentation: 'Header names, in the same order as the field names listed in the fields configuration property.', validator: v.nonEmptyList }),
  key({
    name: 'operation', type: 'STRING', importance: 'HIGH', documentation: 'Either <code>move</code> if the fields are to be moved to the headers (removed from the key/value), or <code>copy</code> if the fields are to be copied to the headers (retained in the key/value).',
    validator: v.in('move', 'copy'), recommendedValues: ['move', 'copy'],
  }),
  key({ name: 'replace.null.with.default', type: 'BOOLEAN', default: true, documentation: 'Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used.' }),
];

export class HeaderFrom extends BaseTransform {
  protected readonly def = headerFromConfigDef;
  private fields: string[] = [];
  private headers: string[] = [];
  private move = false;
  private replaceNull = true;
  private readonly cache = new SchemaCache();
  constructor(private readonly isKey: boolean) { super(); }
  protected init(c: ParsedConfig): void {
    this.fields = c.fields as string[];
    this.headers = c.headers as string[];
    if (this.fields.length !== this.headers.length) {
      throw new ConfigException("'fields' config must have the same number of elements as 'headers' config.");
    }
    this.move = c.operation === 'move';
    this.replaceNull = c['replace.null.with.default'] as boolean;
  }
  apply(record: SinkRecord): SinkRecord {
    const schema = operatingSchema(record, this.isKey);
    const value = operatingValue(record, this.isKey);
    const headers: Header[] = [...record.headers];
    if (schema === null) {
      const map = requireMapOrNull(value, 'header ' + (this.move ? 'move' : 'copy'));
      if (map === null) return record;
      const out: Record<string, unknown> = { ...map };
      this.fields.forEach((f, i) => {
        headers.push({ key: this.headers[i]!, schema: null, value: map[f] ?? null });
        if (this.move) delete out[f];
      });
      return { ...newRecord(record, this.isKey, null, this.move ? out : map), headers };
    }
    const struct = requireStructOrNull(value, 'header ' + (this.move ? 'move' : 'copy'));
    if (struct === null) return record;
    const read = (name: string) => (this.replaceNull ? struct.get(name) : (struct.values[name] ?? null));
    const fieldSchemas = new Map((schema.fields ?? []).map((f) => [f.name, f.schema]));
    this.fields.forEach((f, i) => headers.push({ key: this.headers[i]!, schema: fieldSchemas.get(f) ?? null, value: read(f) }));
    if (!this.move) return { ...record, headers };
    const moved = new Set(this.fields);
    const updated = this.cache.get(schema, (s: Schema) => structSchema(
      (s.fields ?? []).filter((f) => !moved.has(f.name)).map((f) => [f.name, f.schema] as const),
      { optional: s.optional, name: s.name, version: s.version, doc: s.doc, parameters: s.parameters },
    ));
    const values: Record<string, unknown> = {};
    for (const f of updated.fields ?? []) values[f.name] = read(f.name);
    return { ...newRecord(record, this.isKey, updated, new Struct(updated, values)), headers };
  }
}

// ---------------- Predicates ----------------

export const topicNameMatchesConfigDef: ConfigDef = [
  key({
    name: 'pattern', type: 'STRING', importance: 'MEDIUM', documentation: 'A Java regular expression for matching against the name of a record\'s topic.',
    validator: (value, name) => v.nonEmptyString(value, name) ?? v.regex(value, name),
  }),
];
export class TopicNameMatches implements Predicate {
  private pattern = /^$/;
  configure(config: ConfigMap): void {
    const c = parseConfigOrThrow(topicNameMatchesConfigDef, config);
    try {
      this.pattern = compileJavaRegex(c.pattern as string);
    } catch {
      throw new ConfigException(invalidValue('pattern', c.pattern, 'entry must be a valid regex'));
    }
  }
  test(record: SinkRecord): boolean {
    return record.topic !== null && record.topic !== undefined && this.pattern.test(record.topic);
  }
  close(): void {}
}

export const hasHeaderKeyConfigDef: ConfigDef = [
  key({ name: 'name', type: 'STRING', importance: 'MEDIUM', documentation: 'The header name.', validator: v.nonEmptyString }),
];
export class HasHeaderKey implements Predicate {
  private name = '';
  configure(config: ConfigMap): void {
    this.name = parseConfigOrThrow(hasHeaderKeyConfigDef, config).name as string;
  }
  test(record: SinkRecord): boolean {
    return record.headers.some((h) => h.key === this.name);
  }
  close(): void {}
}

export class RecordIsTombstone implements Predicate {
  configure(): void {}
  test(record: SinkRecord): boolean {
    return record.value === null || record.value === undefined;
  }
  close(): void {}
}

export const routingTransformPlugins: TransformationDescriptor[] = [
  transformation(`${TRANSFORMS_PKG}.RegexRouter`, regexRouterConfigDef, () => new RegexRouter()),
  transformation(`${TRANSFORMS_PKG}.Filter`, [], () => new Filter()),
  transformation(`${TRANSFORMS_PKG}.DropHeaders`, dropHeadersConfigDef, () => new DropHeaders()),
  transformation(`${TRANSFORMS_PKG}.InsertHeader`, insertHeaderConfigDef, () => new InsertHeader()),
  ...keyValue('HeaderFrom', headerFromConfigDef, (k) => new HeaderFrom(k)),
];

export const builtinPredicatePlugins: PredicateDescriptor[] = [
  predicate(`${PREDICATES_PKG}.TopicNameMatches`, topicNameMatchesConfigDef, () => new TopicNameMatches()),
  predicate(`${PREDICATES_PKG}.HasHeaderKey`, hasHeaderKeyConfigDef, () => new HasHeaderKey()),
  predicate(`${PREDICATES_PKG}.RecordIsTombstone`, [], () => new RecordIsTombstone()),
];
