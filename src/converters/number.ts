/**
 * Connect's primitive converters of org.apache.kafka.connect.converters: ShortConverter,
 * IntegerConverter, LongConverter, FloatConverter, DoubleConverter and BooleanConverter. They write
 * the byte layout of Kafka's own serializers (big-endian two's complement integers, IEEE 754
 * floats, a boolean as one byte 0 or 1), so records produced by a Java client with LongSerializer
 * and friends read back as numbers. Each is both a converter and a header converter, as in Connect.
 *
 * Reading always yields the converter's optional schema (OPTIONAL_INT64 for LongConverter...);
 * null bytes read as null and null writes as null. A payload of the wrong size, or a value of the
 * wrong type, is a DataException with the message Connect gives, so it takes the errors.* path.
 */
import {
  DataException, type ConfigDef, type ConfigMap, type Converter, type ConverterDescriptor, type Schema, type SchemaAndValue,
} from '../api';
import { BUILTIN_PLUGIN_VERSION } from '../api/version';
import { parseConfigOrThrow } from '../config/parse';
import { CONVERTER_TYPE_KEY } from './json';
import { Schemas } from './schemas';

const PKG = 'org.apache.kafka.connect.converters';

/** NumberConverterConfig and BooleanConverterConfig: only `converter.type`. */
export const primitiveConverterConfigDef: ConfigDef = [CONVERTER_TYPE_KEY];

/** Java's class name of a JS value, for messages shaped like Connect's ("was class java.lang.String"). */
function javaClassOf(value: unknown): string {
  if (typeof value === 'string') return 'class java.lang.String';
  if (typeof value === 'boolean') return 'class java.lang.Boolean';
  if (typeof value === 'bigint') return 'class java.lang.Long';
  if (typeof value === 'number') return Number.isInteger(value) ? 'class java.lang.Long' : 'class java.lang.Double';
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return 'class [B';
  if (Array.isArray(value)) return 'class java.util.ArrayList';
  if (value instanceof Date) return 'class java.util.Date';
  if (value instanceof Map) return 'class java.util.HashMap';
  if (typeof value === 'object' && value !== null) {
    const name = (value as object).constructor?.name;
    return name === 'Struct' ? 'class org.apache.kafka.connect.data.Struct' : 'class java.util.HashMap';
  }
  return `class ${typeof value}`;
}

/** How one primitive type is laid out in bytes, and which JS values it accepts. */
interface Layout {
  /** Connect's display name of the type ("long"), used in its messages */
  readonly typeName: string;
  /** Kafka's deserializer as named in its size error ("LongDeserializer"; Float/Double say just "Deserializer") */
  readonly deserializerName: string;
  readonly size: number;
  readonly schema: Schema;
  read(bytes: Buffer): unknown;
  /** writes the value, or returns undefined when it is not of this type (Java's ClassCastException) */
  write(value: unknown): Buffer | undefined;
}

function integerLayout(typeName: string, deserializerName: string, size: 2 | 4, schema: Schema): Layout {
  const min = -(2 ** (size * 8 - 1));
  const max = 2 ** (size * 8 - 1) - 1;
  return {
    typeName, deserializerName, size, schema,
    read: (b) => (size === 2 ? b.readInt16BE(0) : b.readInt32BE(0)),
    write: (v) => {
      const n = typeof v === 'bigint' && v >= BigInt(min) && v <= BigInt(max) ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) return undefined;
      const b = Buffer.allocUnsafe(size);
      if (size === 2) b.writeInt16BE(n, 0); else b.writeInt32BE(n, 0);
      return b;
    },
  };
}

const longLayout: Layout = {
  typeName: 'long', deserializerName: 'LongDeserializer', size: 8, schema: Schemas.OPTIONAL_INT64,
  read: (b) => {
    // a number where it is exact (as the other converters give int64 values), a bigint beyond 2^53
    const v = b.readBigInt64BE(0);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  },
  write: (v) => {
    let big: bigint;
    if (typeof v === 'bigint') big = v;
    else if (typeof v === 'number' && Number.isSafeInteger(v)) big = BigInt(v);
    else return undefined;
    if (big < -(2n ** 63n) || big >= 2n ** 63n) return undefined;
    const b = Buffer.allocUnsafe(8);
    b.writeBigInt64BE(big, 0);
    return b;
  },
};

function floatLayout(typeName: 'float' | 'double', size: 4 | 8, schema: Schema): Layout {
  return {
    typeName, deserializerName: 'Deserializer', size, schema,
    read: (b) => (size === 4 ? b.readFloatBE(0) : b.readDoubleBE(0)),
    write: (v) => {
      if (typeof v !== 'number') return undefined;
      const b = Buffer.allocUnsafe(size);
      if (size === 4) b.writeFloatBE(v, 0); else b.writeDoubleBE(v, 0);
      return b;
    },
  };
}

export class NumberConverter implements Converter {
  constructor(private readonly layout: Layout) {}
  configure(config: ConfigMap, _isKey: boolean): void {
    parseConfigOrThrow(primitiveConverterConfigDef, config);
  }
  toConnectData(_topic: string, bytes: Buffer | null): SchemaAndValue {
    const l = this.layout;
    if (bytes === null) return { schema: l.schema, value: null };
    if (bytes.length !== l.size) {
      throw new DataException(`Failed to deserialize ${l.typeName}: Size of data received by ${l.deserializerName} is not ${l.size}`);
    }
    return { schema: l.schema, value: l.read(bytes) };
  }
  fromConnectData(_topic: string, _schema: Schema | null, value: unknown): Buffer | null {
    // like Connect, the schema is not looked at: the value's type decides
    if (value === null || value === undefined) return null;
    const out = this.layout.write(value);
    if (out === undefined) throw new DataException(`Failed to serialize to ${this.layout.typeName} (was ${javaClassOf(value)}): ${describeValue(value)} is not a ${this.layout.typeName}`);
    return out;
  }
  close(): void {}
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '...' : value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return 'the value';
}

const BOOLEAN_TRUE = Buffer.from([1]);
const BOOLEAN_FALSE = Buffer.from([0]);

export class BooleanConverter implements Converter {
  configure(config: ConfigMap, _isKey: boolean): void {
    parseConfigOrThrow(primitiveConverterConfigDef, config);
  }
  toConnectData(_topic: string, bytes: Buffer | null): SchemaAndValue {
    if (bytes === null) return { schema: Schemas.OPTIONAL_BOOLEAN, value: null };
    if (bytes.length !== 1) throw new DataException('Failed to deserialize boolean: Size of data received by BooleanDeserializer is not 1');
    if (bytes[0] === 1) return { schema: Schemas.OPTIONAL_BOOLEAN, value: true };
    if (bytes[0] === 0) return { schema: Schemas.OPTIONAL_BOOLEAN, value: false };
    // Java's byte is signed: Kafka's message shows 0xff as -1
    throw new DataException(`Failed to deserialize boolean: Unexpected byte received by BooleanDeserializer: ${(bytes[0]! << 24) >> 24}`);
  }
  fromConnectData(_topic: string, schema: Schema | null, value: unknown): Buffer | null {
    if (schema !== null && schema.type !== 'boolean') throw new DataException(`Invalid schema type for BooleanConverter: ${schema.type.toUpperCase()}`);
    if (value === null || value === undefined) return null;
    if (typeof value !== 'boolean') throw new DataException(`BooleanConverter is not compatible with objects of type ${javaClassOf(value)}`);
    // fresh buffers: a producer may keep what it is given
    return Buffer.from(value ? BOOLEAN_TRUE : BOOLEAN_FALSE);
  }
  close(): void {}
}

const LAYOUTS: Record<string, Layout> = {
  ShortConverter: integerLayout('short', 'ShortDeserializer', 2, Schemas.OPTIONAL_INT16),
  IntegerConverter: integerLayout('integer', 'IntegerDeserializer', 4, Schemas.OPTIONAL_INT32),
  LongConverter: longLayout,
  FloatConverter: floatLayout('float', 4, Schemas.OPTIONAL_FLOAT32),
  DoubleConverter: floatLayout('double', 8, Schemas.OPTIONAL_FLOAT64),
};

export const SHORT_CONVERTER_CLASS = `${PKG}.ShortConverter`;
export const INTEGER_CONVERTER_CLASS = `${PKG}.IntegerConverter`;
export const LONG_CONVERTER_CLASS = `${PKG}.LongConverter`;
export const FLOAT_CONVERTER_CLASS = `${PKG}.FloatConverter`;
export const DOUBLE_CONVERTER_CLASS = `${PKG}.DoubleConverter`;
export const BOOLEAN_CONVERTER_CLASS = `${PKG}.BooleanConverter`;

function descriptorsFor(className: string, create: () => Converter): ConverterDescriptor[] {
  const converter: ConverterDescriptor = { className, type: 'converter', version: BUILTIN_PLUGIN_VERSION, configDef: primitiveConverterConfigDef, create };
  // Connect lists classes that implement both interfaces once per type
  return [converter, { ...converter, type: 'header_converter' }];
}

/** The six primitive converters, each as a converter and as a header converter. */
export const primitiveConverterPlugins: ConverterDescriptor[] = [
  ...descriptorsFor(BOOLEAN_CONVERTER_CLASS, () => new BooleanConverter()),
  ...Object.entries(LAYOUTS).flatMap(([simple, layout]) => descriptorsFor(`${PKG}.${simple}`, () => new NumberConverter(layout))),
];
