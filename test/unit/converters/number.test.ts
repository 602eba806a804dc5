/**
 * Connect's primitive converters (org.apache.kafka.connect.converters.*): the byte layout of
 * Kafka's serializers, the optional schema each yields, and Connect's errors on a wrong payload
 * size or a value of the wrong type.
 */
import { DataException } from '../../../src/api';
import {
  BooleanConverter, Schemas, primitiveConverterPlugins,
} from '../../../src/converters';
import { PluginRegistry } from '../../../src/plugins/registry';
import { builtinPlugins } from '../../../src/plugins/builtins';
import type { Converter } from '../../../src/api';

const PKG = 'org.apache.kafka.connect.converters';

function converter(simpleName: string, isKey = false): Converter {
  const d = primitiveConverterPlugins.find((p) => p.className === `${PKG}.${simpleName}` && p.type === 'converter')!;
  const c = d.create();
  void c.configure({}, isKey);
  return c;
}

const hex = (b: Buffer | null) => (b === null ? null : b.toString('hex'));

describe('number converters write the layout of Kafka\'s serializers and read it back', () => {
  it.each([
    ['ShortConverter', Schemas.OPTIONAL_INT16, -2, 'fffe'],
    ['ShortConverter', Schemas.OPTIONAL_INT16, 32767, '7fff'],
    ['IntegerConverter', Schemas.OPTIONAL_INT32, 258, '00000102'],
    ['IntegerConverter', Schemas.OPTIONAL_INT32, -2147483648, '80000000'],
    ['LongConverter', Schemas.OPTIONAL_INT64, 1, '0000000000000001'],
    ['LongConverter', Schemas.OPTIONAL_INT64, -1, 'ffffffffffffffff'],
    ['LongConverter', Schemas.OPTIONAL_INT64, 9223372036854775807n, '7fffffffffffffff'],
    ['FloatConverter', Schemas.OPTIONAL_FLOAT32, 1.5, '3fc00000'],
    ['DoubleConverter', Schemas.OPTIONAL_FLOAT64, 0.1, '3fb999999999999a'],
    ['DoubleConverter', Schemas.OPTIONAL_FLOAT64, -Infinity, 'fff0000000000000'],
  ] as const)('%s: %p ↔ %s', (name, schema, value, bytes) => {
    const c = converter(name);
    expect(hex(c.fromConnectData('t', schema, value))).toBe(bytes);
    expect(c.toConnectData('t', Buffer.from(bytes, 'hex'))).toEqual({ schema, value });
  });

  it('null ↔ null with the optional schema', () => {
    for (const [name, schema] of [
      ['ShortConverter', Schemas.OPTIONAL_INT16], ['IntegerConverter', Schemas.OPTIONAL_INT32], ['LongConverter', Schemas.OPTIONAL_INT64],
      ['FloatConverter', Schemas.OPTIONAL_FLOAT32], ['DoubleConverter', Schemas.OPTIONAL_FLOAT64], ['BooleanConverter', Schemas.OPTIONAL_BOOLEAN],
    ] as const) {
      const c = converter(name);
      expect([name, c.toConnectData('t', null)]).toEqual([name, { schema, value: null }]);
      expect([name, c.fromConnectData('t', schema, null)]).toEqual([name, null]);
    }
  });

  it('a long beyond 2^53 reads as an exact bigint; within it, as a number', () => {
    const c = converter('LongConverter');
    expect(c.toConnectData('t', Buffer.from('0020000000000001', 'hex')).value).toBe(9007199254740993n);
    expect(c.toConnectData('t', Buffer.from('001fffffffffffff', 'hex')).value).toBe(9007199254740991);
  });

  it('a payload of the wrong size fails with Connect\'s message', () => {
    expect(() => converter('LongConverter').toConnectData('t', Buffer.from('abc'))).toThrow(
      new DataException('Failed to deserialize long: Size of data received by LongDeserializer is not 8'));
    expect(() => converter('IntegerConverter').toConnectData('t', Buffer.alloc(8))).toThrow('Failed to deserialize integer: Size of data received by IntegerDeserializer is not 4');
    expect(() => converter('ShortConverter').toConnectData('t', Buffer.alloc(0))).toThrow('Failed to deserialize short: Size of data received by ShortDeserializer is not 2');
    expect(() => converter('FloatConverter').toConnectData('t', Buffer.alloc(8))).toThrow('Failed to deserialize float: Size of data received by Deserializer is not 4');
    expect(() => converter('DoubleConverter').toConnectData('t', Buffer.alloc(4))).toThrow('Failed to deserialize double: Size of data received by Deserializer is not 8');
  });

  it('a value of another type fails clearly instead of writing something else', () => {
    expect(() => converter('LongConverter').fromConnectData('t', null, 'seven')).toThrow(DataException);
    expect(() => converter('LongConverter').fromConnectData('t', null, 'seven')).toThrow(/^Failed to serialize to long \(was class java\.lang\.String\)/);
    expect(() => converter('LongConverter').fromConnectData('t', null, 1.5)).toThrow(/^Failed to serialize to long \(was class java\.lang\.Double\)/);
    expect(() => converter('IntegerConverter').fromConnectData('t', null, 2 ** 31)).toThrow(/^Failed to serialize to integer/);
    expect(() => converter('ShortConverter').fromConnectData('t', null, 40000)).toThrow(/^Failed to serialize to short/);
    expect(() => converter('DoubleConverter').fromConnectData('t', null, true)).toThrow(/^Failed to serialize to double \(was class java\.lang\.Boolean\)/);
    expect(() => converter('FloatConverter').fromConnectData('t', null, { a: 1 })).toThrow(/^Failed to serialize to float/);
  });
});

describe('BooleanConverter', () => {
  const c = new BooleanConverter();
  c.configure({}, false);
  it('one byte 1/0 ↔ true/false with OPTIONAL_BOOLEAN', () => {
    expect(hex(c.fromConnectData('t', Schemas.BOOLEAN, true))).toBe('01');
    expect(hex(c.fromConnectData('t', null, false))).toBe('00');
    expect(c.toConnectData('t', Buffer.from([1]))).toEqual({ schema: Schemas.OPTIONAL_BOOLEAN, value: true });
    expect(c.toConnectData('t', Buffer.from([0]))).toEqual({ schema: Schemas.OPTIONAL_BOOLEAN, value: false });
  });
  it('fails like Connect on a wrong size, an unexpected byte, another schema or value type', () => {
    expect(() => c.toConnectData('t', Buffer.from([0, 1]))).toThrow('Failed to deserialize boolean: Size of data received by BooleanDeserializer is not 1');
    expect(() => c.toConnectData('t', Buffer.from([0xff]))).toThrow('Failed to deserialize boolean: Unexpected byte received by BooleanDeserializer: -1');
    expect(() => c.fromConnectData('t', Schemas.INT32, true)).toThrow('Invalid schema type for BooleanConverter: INT32');
    expect(() => c.fromConnectData('t', null, 'true')).toThrow('BooleanConverter is not compatible with objects of type class java.lang.String');
  });
});

describe('registration', () => {
  it('each is listed as a converter and a header converter, and found by its simple name', () => {
    const registry = new PluginRegistry(builtinPlugins());
    const listed = registry.all().map((e) => `${e.descriptor.type} ${e.descriptor.className}`);
    for (const name of ['BooleanConverter', 'ShortConverter', 'IntegerConverter', 'LongConverter', 'FloatConverter', 'DoubleConverter']) {
      expect(listed).toContain(`converter ${PKG}.${name}`);
      expect(listed).toContain(`header_converter ${PKG}.${name}`);
      expect(registry.find(name, ['converter'])?.descriptor.className).toBe(`${PKG}.${name}`);
    }
  });
  it('rejects an unknown converter.type like Connect', () => {
    expect(() => converter('LongConverter').configure({ 'converter.type': 'sideways' }, false)).toThrow(/converter\.type/);
  });
});
