/**
 * org.apache.kafka.connect.storage.StringConverter: values as text in a configurable encoding,
 * and org.apache.kafka.connect.storage.SimpleHeaderConverter (header text typed by Values.parseString).
 */
import {
  ConfigException, Struct,
  type ConfigDef, type ConfigMap, type Converter, type ConverterDescriptor, type Schema, type SchemaAndValue,
} from '../api';
import { BUILTIN_PLUGIN_VERSION } from '../api/version';
import { parseConfigOrThrow } from '../config/parse';
import { CONVERTER_TYPE_KEY } from './json';
import { Schemas } from './schemas';
import { convertToString, parseString } from './values';

export const STRING_CONVERTER_CLASS = 'org.apache.kafka.connect.storage.StringConverter';
export const SIMPLE_HEADER_CONVERTER_CLASS = 'org.apache.kafka.connect.storage.SimpleHeaderConverter';

type Codec = { encode(s: string): Buffer; decode(b: Buffer): string };

function swap16(b: Buffer): Buffer {
  const c = Buffer.from(b.subarray(0, b.length - (b.length % 2)));
  return c.swap16();
}
const node = (enc: BufferEncoding): Codec => ({ encode: (s) => Buffer.from(s, enc), decode: (b) => b.toString(enc) });
const utf16be: Codec = { encode: (s) => Buffer.from(s, 'utf16le').swap16(), decode: (b) => swap16(b).toString('utf16le') };

/** Java charset names (case-insensitive, with common aliases) → codec. */
const CHARSETS: Record<string, Codec> = {
  'utf-8': node('utf8'), utf8: node('utf8'),
  'us-ascii': node('ascii'), ascii: node('ascii'),
  'iso-8859-1': node('latin1'), iso8859_1: node('latin1'), latin1: node('latin1'), 'iso-latin-1': node('latin1'),
  'utf-16le': node('utf16le'), utf_16le: node('utf16le'), utf16le: node('utf16le'),
  'utf-16be': utf16be, utf_16be: utf16be, utf16be: utf16be,
  'utf-16': {
    encode: (s) => Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be.encode(s)]),
    decode: (b) => {
      if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return b.subarray(2).toString('utf16le');
      if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) return utf16be.decode(b.subarray(2));
      return utf16be.decode(b);
    },
  },
};

export function charsetCodec(name: string): Codec | undefined {
  return CHARSETS[name.trim().toLowerCase()];
}

const encodingValidator = (value: unknown, name: string) =>
  typeof value === 'string' && !charsetCodec(value) ? `Invalid value ${value} for configuration ${name}: Unsupported encoding` : undefined;

export const stringConverterConfigDef: ConfigDef = [
  CONVERTER_TYPE_KEY,
  {
    name: 'converter.encoding', type: 'STRING', default: 'UTF-8', importance: 'HIGH',
    documentation: 'The name of the Java character set to use for encoding strings as byte arrays.',
    group: 'Converter', orderInGroup: 0, width: 'MEDIUM', displayName: 'Character encoding', validator: encodingValidator,
  },
];

/** Text form of a Connect value, for converters that write strings. */
export function connectValueToString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Struct) {
    const parts: string[] = [];
    for (const f of value.schema.fields ?? []) {
      const v = value.values[f.name];
      if (v !== undefined && v !== null) parts.push(`${f.name}=${connectValueToString(v)}`);
    }
    return `Struct{${parts.join(',')}}`;
  }
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (typeof value === 'object' && value !== null) {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Struct ? connectValueToString(v) : v));
  }
  return String(value);
}

export class StringConverter implements Converter {
  private codec: Codec = CHARSETS['utf-8']!;
  configure(config: ConfigMap, isKey: boolean): void {
    const v = parseConfigOrThrow(stringConverterConfigDef, config);
    // Like Connect, the serializer/deserializer-specific keys override converter.encoding.
    const name = config['serializer.encoding'] ?? config['deserializer.encoding'] ?? (v['converter.encoding'] as string);
    const codec = charsetCodec(name);
    if (!codec) throw new ConfigException(`Invalid value ${name} for configuration converter.encoding: Unsupported encoding`);
    this.codec = codec;
    void isKey;
  }
  toConnectData(_topic: string, bytes: Buffer | null): SchemaAndValue {
    return { schema: Schemas.OPTIONAL_STRING, value: bytes === null ? null : this.codec.decode(bytes) };
  }
  fromConnectData(_topic: string, _schema: Schema | null, value: unknown): Buffer | null {
    if (value === null || value === undefined) return null;
    if (Buffer.isBuffer(value)) return value;
    return this.codec.encode(connectValueToString(value));
  }
  close(): void {}
}

export const stringConverterPlugin: ConverterDescriptor = {
  className: STRING_CONVERTER_CLASS,
  type: 'converter',
  version: BUILTIN_PLUGIN_VERSION,
  configDef: stringConverterConfigDef,
  create: () => new StringConverter(),
};
export const stringHeaderConverterPlugin: ConverterDescriptor = { ...stringConverterPlugin, type: 'header_converter' };

/**
 * Connect's default header converter: a header's bytes are UTF-8 text whose value and schema are
 * inferred with Values.parseString ("true" → BOOLEAN, "42" → INT8, "[1,2]" → ARRAY, a timestamp →
 * Timestamp, anything else → STRING), and a value is written as Values.convertToString's text.
 */
export class SimpleHeaderConverter implements Converter {
  configure(config: ConfigMap, _isKey: boolean): void {
    parseConfigOrThrow(simpleHeaderConverterConfigDef, config);
  }
  toConnectHeader(_topic: string, _headerKey: string, bytes: Buffer | null): SchemaAndValue {
    if (bytes === null) return { schema: null, value: null };
    try {
      return parseString(bytes.toString('utf8'));
    } catch {
      // Connect keeps a header it cannot parse as its bytes
      return { schema: Schemas.BYTES, value: bytes };
    }
  }
  fromConnectHeader(_topic: string, _headerKey: string, schema: Schema | null, value: unknown): Buffer | null {
    const text = convertToString(schema, value);
    return text === null ? null : Buffer.from(text, 'utf8');
  }
  toConnectData(topic: string, bytes: Buffer | null): SchemaAndValue {
    return this.toConnectHeader(topic, '', bytes);
  }
  fromConnectData(topic: string, schema: Schema | null, value: unknown): Buffer | null {
    return this.fromConnectHeader(topic, '', schema, value);
  }
  close(): void {}
}

export const simpleHeaderConverterConfigDef: ConfigDef = [
  {
    name: 'converter.encoding', type: 'STRING', default: 'UTF-8', importance: 'HIGH',
    documentation: 'The name of the Java character set to use for encoding strings as byte arrays.',
    group: 'Converter', orderInGroup: 0, width: 'MEDIUM', displayName: 'Character encoding', validator: encodingValidator,
  },
];

export const simpleHeaderConverterPlugin: ConverterDescriptor = {
  className: SIMPLE_HEADER_CONVERTER_CLASS,
  type: 'header_converter',
  version: BUILTIN_PLUGIN_VERSION,
  configDef: simpleHeaderConverterConfigDef,
  create: () => new SimpleHeaderConverter(),
};


