/**
 * io.confluent.connect.avro.AvroConverter: Avro with Confluent's wire format and a Schema Registry,
 * or plain Avro binary with a schema file.
 *
 * Registry mode (`schema.registry.url`): every message is magic byte 0, a 4-byte big-endian schema
 * id, then the Avro binary. Decoding needs the writer schema by id: `prepare(topic, batch)` fetches
 * the ids of a batch that are not cached yet, and `toConnectData` then runs synchronously from the
 * cache. Encoding registers the output schema under the subject chosen by the naming strategy
 * (`auto.register.schemas`, default true; otherwise the schema must already be registered) in
 * `prepareEncode`, then `fromConnectData` encodes synchronously.
 *
 * File mode (`schema.file`): messages are plain Avro binary (no header) written with the schema in
 * that file, which is used for both decoding and encoding. The path is tried as given (relative to
 * the working directory) and then under `schemas/`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ConfigException, DataException, type ConfigDef, type ConfigMap, type Converter, type ConverterDescriptor, type Schema, type SchemaAndValue,
} from '../../api';
import { BUILTIN_PLUGIN_VERSION } from '../../api/version';
import { parseConfigOrThrow } from '../../config/parse';
import { CONVERTER_TYPE_KEY } from '../json';
import { LruCache } from '../lru';
import { avroSchemaEntry, connectToAvroSchema, decodeAvro, encodeAvro, type AvroSchemaEntry } from './avro-data';
import { RegistryError, SchemaRegistryClient } from './registry-client';

export const AVRO_CONVERTER_CLASS = 'io.confluent.connect.avro.AvroConverter';
export const MAGIC_BYTE = 0;

export const TOPIC_NAME_STRATEGY = 'io.confluent.kafka.serializers.subject.TopicNameStrategy';
export const RECORD_NAME_STRATEGY = 'io.confluent.kafka.serializers.subject.RecordNameStrategy';
export const TOPIC_RECORD_NAME_STRATEGY = 'io.confluent.kafka.serializers.subject.TopicRecordNameStrategy';
const STRATEGIES: Record<string, 'topic' | 'record' | 'topic-record'> = {
  [TOPIC_NAME_STRATEGY]: 'topic',
  [RECORD_NAME_STRATEGY]: 'record',
  [TOPIC_RECORD_NAME_STRATEGY]: 'topic-record',
  TopicNameStrategy: 'topic',
  RecordNameStrategy: 'record',
  TopicRecordNameStrategy: 'topic-record',
};

const strategyValidator = (value: unknown, name: string): string | undefined =>
  typeof value === 'string' && !(value in STRATEGIES)
    ? `Invalid value ${value} for configuration ${name}: Class ${value} could not be found.`
    : undefined;

export const avroConverterConfigDef: ConfigDef = [
  CONVERTER_TYPE_KEY,
  {
    name: 'schema.registry.url', type: 'LIST', default: '', importance: 'HIGH',
    documentation: 'Comma-separated list of URLs for Schema Registry instances that can be used to register or look up schemas. Required unless schema.file is set.',
  },
  {
    name: 'auto.register.schemas', type: 'BOOLEAN', default: true, importance: 'MEDIUM',
    documentation: 'Specify if the serializer should attempt to register the schema with Schema Registry.',
  },
  {
    name: 'key.subject.name.strategy', type: 'CLASS', default: TOPIC_NAME_STRATEGY, importance: 'MEDIUM',
    documentation: 'Determines how to construct the subject name under which the key schema is registered with the schema registry.',
    validator: strategyValidator,
  },
  {
    name: 'value.subject.name.strategy', type: 'CLASS', default: TOPIC_NAME_STRATEGY, importance: 'MEDIUM',
    documentation: 'Determines how to construct the subject name under which the value schema is registered with the schema registry.',
    validator: strategyValidator,
  },
  {
    name: 'basic.auth.credentials.source', type: 'STRING', default: 'URL', importance: 'MEDIUM',
    documentation: 'Specify how to pick the credentials for the Basic authentication header: URL (user info in schema.registry.url) or USER_INFO (basic.auth.user.info).',
    validator: (value, name) =>
      typeof value === 'string' && !['URL', 'USER_INFO'].includes(value.toUpperCase())
        ? `Invalid value ${value} for configuration ${name}: String must be one of: URL, USER_INFO`
        : undefined,
    recommendedValues: ['URL', 'USER_INFO'],
  },
  {
    name: 'basic.auth.user.info', type: 'PASSWORD', default: '', importance: 'MEDIUM',
    documentation: 'Specify the user info for the Basic authentication in the form of {username}:{password}.',
  },
  {
    name: 'schema.registry.basic.auth.user.info', type: 'PASSWORD', default: '', importance: 'LOW',
    documentation: 'Alias of basic.auth.user.info.',
  },
  {
    name: 'schemas.cache.size', type: 'INT', default: 1000, importance: 'LOW',
    documentation: 'Size of the converted schemas cache.',
  },
  {
    name: 'schema.file', type: 'STRING', default: '', importance: 'MEDIUM',
    documentation: 'An Avro schema file (.avsc) to read and write plain Avro binary without a Schema Registry. Relative paths are resolved against the working directory, then the schemas/ folder.',
  },
];

/** Resolves a schema file: as given (relative to cwd), then under schemas/. */
export function resolveSchemaFile(file: string): string {
  const candidates = path.isAbsolute(file) ? [file] : [path.resolve(file), path.resolve('schemas', file)];
  for (const c of candidates) if (fs.existsSync(c)) return c;
  throw new ConfigException(`Avro schema file ${file} not found (looked at ${candidates.join(', ')})`);
}

interface EncodeEntry {
  readonly entry: AvroSchemaEntry;
  /** subject → schema id once registered / looked up */
  readonly ids: Map<string, number>;
}

export class AvroConverter implements Converter {
  private isKey = false;
  private client?: SchemaRegistryClient;
  private fileEntry?: AvroSchemaEntry;
  private autoRegister = true;
  private strategy: 'topic' | 'record' | 'topic-record' = 'topic';
  private cacheSize = 1000;
  /** schema id → parsed writer schema */
  private byId = new Map<number, AvroSchemaEntry>();
  /** schema id → why fetching it failed (latest attempt) */
  private idErrors = new Map<number, string>();
  /** Connect schema object → encoding entry */
  private encodeBySchema = new WeakMap<Schema, EncodeEntry>();
  /** Avro schema text → encoding entry (dedupes structurally equal Connect schemas) */
  private encodeByText = new LruCache<string, EncodeEntry>(1000);
  /** failures of the last prepareEncode, by Avro schema text */
  private encodeErrors = new Map<string, string>();

  configure(config: ConfigMap, isKey: boolean): void {
    const v = parseConfigOrThrow(avroConverterConfigDef, config);
    this.isKey = config['converter.type'] ? config['converter.type'] === 'key' : isKey;
    this.autoRegister = v['auto.register.schemas'] as boolean;
    this.strategy = STRATEGIES[(this.isKey ? v['key.subject.name.strategy'] : v['value.subject.name.strategy']) as string]!;
    this.cacheSize = v['schemas.cache.size'] as number;
    this.encodeByText = new LruCache(this.cacheSize);
    const file = v['schema.file'] as string;
    const urls = v['schema.registry.url'] as string[];
    if (file) {
      const resolved = resolveSchemaFile(file);
      try {
        this.fileEntry = avroSchemaEntry(fs.readFileSync(resolved, 'utf8'));
      } catch (e) {
        throw new ConfigException(`Invalid Avro schema in ${resolved}: ${(e as Error).message}`);
      }
      return;
    }
    if (urls.length === 0) throw new ConfigException('Missing required configuration "schema.registry.url" which has no default value.');
    let userInfo: string | undefined;
    if (String(v['basic.auth.credentials.source']).toUpperCase() === 'USER_INFO') {
      userInfo = (v['basic.auth.user.info'] as string) || (v['schema.registry.basic.auth.user.info'] as string) || undefined;
      if (!userInfo) throw new ConfigException('basic.auth.user.info must be set when basic.auth.credentials.source=USER_INFO');
    }
    try {
      this.client = new SchemaRegistryClient({ urls, ...(userInfo !== undefined ? { userInfo } : {}) });
    } catch (e) {
      throw new ConfigException(`Invalid schema.registry.url: ${(e as Error).message}`);
    }
  }

  private get what(): string {
    return this.isKey ? 'key' : 'value';
  }

  // ------------------------------------------------------------------ decoding

  async prepare(_topic: string, batch: readonly (Buffer | null)[]): Promise<void> {
    if (!this.client) return;
    const missing = new Set<number>();
    for (const b of batch) {
      if (b === null || b.length < 5 || b[0] !== MAGIC_BYTE) continue;
      const id = b.readInt32BE(1);
      if (!this.byId.has(id)) missing.add(id);
    }
    if (missing.size === 0) return;
    await Promise.all([...missing].map((id) => this.fetchId(id)));
  }

  private async fetchId(id: number): Promise<void> {
    try {
      const { schema, schemaType } = await this.client!.getSchemaById(id);
      if (schemaType !== 'AVRO') throw new RegistryError(`schema ${id} is of type ${schemaType}, not AVRO`);
      const entry = avroSchemaEntry(schema);
      if (this.byId.size >= this.cacheSize) this.byId.delete(this.byId.keys().next().value as number);
      this.byId.set(id, entry);
      this.idErrors.delete(id);
    } catch (e) {
      this.idErrors.set(id, (e as Error).message);
    }
  }

  toConnectData(topic: string, bytes: Buffer | null): SchemaAndValue {
    if (bytes === null) return { schema: null, value: null };
    if (this.fileEntry) {
      try {
        return { schema: this.fileEntry.decoder.schema, value: decodeAvro(this.fileEntry, bytes) };
      } catch (e) {
        throw new DataException(`Failed to deserialize data for topic ${topic} to Avro: Error deserializing Avro message with schema file: ${(e as Error).message}`);
      }
    }
    const fail = (msg: string): never => {
      throw new DataException(`Failed to deserialize data for topic ${topic} to Avro: ${msg}`);
    };
    if (bytes.length < 5) {
      if (bytes.length === 0 || bytes[0] !== MAGIC_BYTE) fail('Unknown magic byte!');
      fail(`Error deserializing Avro message: message too short (${bytes.length} bytes)`);
    }
    if (bytes[0] !== MAGIC_BYTE) fail('Unknown magic byte!');
    const id = bytes.readInt32BE(1);
    const entry = this.byId.get(id);
    if (!entry) {
      const why = this.idErrors.get(id) ?? 'the schema was not prefetched (prepare was not called for this batch)';
      fail(`Error retrieving Avro ${this.what} schema for id ${id}: ${why}`);
    }
    try {
      return { schema: entry!.decoder.schema, value: decodeAvro(entry!, bytes.subarray(5)) };
    } catch (e) {
      return fail(`Error deserializing Avro message for id ${id}: ${(e as Error).message}`);
    }
  }

  // ------------------------------------------------------------------ encoding

  private encodeEntry(schema: Schema): EncodeEntry {
    let e = this.encodeBySchema.get(schema);
    if (e) return e;
    const text = JSON.stringify(connectToAvroSchema(schema));
    e = this.encodeByText.get(text);
    if (!e) {
      e = { entry: avroSchemaEntry(text), ids: new Map() };
      this.encodeByText.set(text, e);
    }
    this.encodeBySchema.set(schema, e);
    return e;
  }

  /** The subject for a topic and schema under the configured naming strategy. */
  subjectName(topic: string, entry: AvroSchemaEntry): string {
    switch (this.strategy) {
      case 'topic': return `${topic}-${this.what}`;
      case 'record': return entry.recordName;
      case 'topic-record': return `${topic}-${entry.recordName}`;
    }
  }

  async prepareEncode(topic: string, schemas: readonly (Schema | null)[]): Promise<void> {
    if (!this.client) return;
    const todo = new Map<string, { e: EncodeEntry; subject: string }>();
    for (const s of schemas) {
      if (s === null) continue;
      const e = this.encodeEntry(s);
      const subject = this.subjectName(topic, e.entry);
      if (!e.ids.has(subject)) todo.set(`${subject}\u0000${e.entry.text}`, { e, subject });
    }
    const failures: string[] = [];
    await Promise.all([...todo.values()].map(async ({ e, subject }) => {
      try {
        const id = this.autoRegister ? await this.client!.register(subject, e.entry.text) : await this.client!.lookup(subject, e.entry.text);
        e.ids.set(subject, id);
        this.encodeErrors.delete(`${subject}\u0000${e.entry.text}`);
      } catch (err) {
        const msg = `${this.autoRegister ? 'Error registering' : 'Error retrieving'} Avro schema under subject ${subject}: ${(err as Error).message}`;
        this.encodeErrors.set(`${subject}\u0000${e.entry.text}`, msg);
        failures.push(msg);
      }
    }));
    if (failures.length > 0) throw new DataException(`Failed to serialize Avro data for topic ${topic}: ${failures.join('; ')}`);
  }

  fromConnectData(topic: string, schema: Schema | null, value: unknown): Buffer | null {
    if (value === null || value === undefined) {
      if (schema === null || schema.optional) return null;
    }
    if (this.fileEntry) {
      try {
        return encodeAvro(this.fileEntry, value);
      } catch (e) {
        throw new DataException(`Failed to serialize Avro data for topic ${topic}: ${(e as Error).message}`);
      }
    }
    if (schema === null) throw new DataException(`Failed to serialize Avro data for topic ${topic}: AvroConverter needs a schema (schemaless ${this.what}s cannot be written as Avro)`);
    let e: EncodeEntry;
    try {
      e = this.encodeEntry(schema);
    } catch (err) {
      throw new DataException(`Failed to serialize Avro data for topic ${topic}: ${(err as Error).message}`);
    }
    const subject = this.subjectName(topic, e.entry);
    const id = e.ids.get(subject);
    if (id === undefined) {
      const why = this.encodeErrors.get(`${subject}\u0000${e.entry.text}`) ?? `the schema is not registered under subject ${subject} yet (prepareEncode was not called for this topic)`;
      throw new DataException(`Failed to serialize Avro data for topic ${topic}: ${why}`);
    }
    let body: Buffer;
    try {
      body = encodeAvro(e.entry, value);
    } catch (err) {
      throw new DataException(`Failed to serialize Avro data for topic ${topic}: ${(err as Error).message}`);
    }
    const out = Buffer.allocUnsafe(5 + body.length);
    out[0] = MAGIC_BYTE;
    out.writeInt32BE(id, 1);
    body.copy(out, 5);
    return out;
  }

  close(): void {}
}

export const avroConverterPlugin: ConverterDescriptor = {
  className: AVRO_CONVERTER_CLASS,
  type: 'converter',
  version: BUILTIN_PLUGIN_VERSION,
  aliases: ['AvroConverter'],
  configDef: avroConverterConfigDef,
  create: () => new AvroConverter(),
};
