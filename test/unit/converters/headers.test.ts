/**
 * Header converters as Connect's: SimpleHeaderConverter types header text with Values.parseString
 * and writes values with Values.convertToString; StringConverter, JsonConverter and
 * ByteArrayConverter read and write a header as a value. Expected values follow Connect's
 * documented behaviour (Values, SimpleHeaderConverterTest).
 */
import type { Converter, Header } from '../../../src/api';
import {
  ByteArrayConverter, JsonConverter, Schemas, SimpleHeaderConverter, StringConverter,
  arraySchema, convertToString, dateSchema, decimalSchema, headersToConnect, headersToKafka, javaFloatingText, mapSchema,
  parseString, timeSchema, timestampSchema,
} from '../../../src/converters';

const simple = new SimpleHeaderConverter();
simple.configure({}, false);
const read = (text: string) => simple.toConnectHeader('t', 'h', Buffer.from(text, 'utf8'));
const write = (schema: Parameters<typeof convertToString>[0], value: unknown) => simple.fromConnectHeader('t', 'h', schema, value)?.toString('utf8') ?? null;

describe('SimpleHeaderConverter reads header text as Connect\'s Values.parseString', () => {
  it.each([
    ['true', Schemas.BOOLEAN, true],
    [' false ', Schemas.BOOLEAN, false],
    ['42', Schemas.INT8, 42],
    ['-128', Schemas.INT8, -128],
    ['300', Schemas.INT16, 300],
    ['1.0', Schemas.INT8, 1],
    ['1e3', Schemas.INT16, 1000],
    ['70000', Schemas.INT32, 70000],
    ['2147483648', Schemas.INT64, 2147483648],
    ['9223372036854775807', Schemas.INT64, 9223372036854775807n],
    ['1.5', Schemas.FLOAT32, 1.5],
    ['3.4e39', Schemas.FLOAT64, 3.4e39],
    ['92233720368547758070', decimalSchema(0), '92233720368547758070'],
    ['hello world', Schemas.STRING, 'hello world'],
    ['', Schemas.STRING, ''],
    ['true}', Schemas.STRING, 'true}'],
    ['"quoted"', Schemas.STRING, '"quoted"'],
    ['abc-42', Schemas.STRING, 'abc-42'],
  ])('%p', (text, schema, value) => {
    expect(read(text)).toEqual({ schema, value });
  });

  it('a float32 keeps its double value (as float32 values do in this worker) and writes as Java\'s float text', () => {
    expect(read('0.1')).toEqual({ schema: Schemas.FLOAT32, value: 0.1 });
    expect(write(Schemas.FLOAT32, 0.1)).toBe('0.1');
  });

  it('ISO 8601 dates, times and timestamps (UTC), also when quoted inside an array', () => {
    expect(read('2024-01-01T00:00:00.000Z')).toEqual({ schema: timestampSchema(), value: new Date('2024-01-01T00:00:00.000Z') });
    expect(read('2024-03-05T10:20:30.456Z')).toEqual({ schema: timestampSchema(), value: new Date('2024-03-05T10:20:30.456Z') });
    expect(read('2024-02-29')).toEqual({ schema: dateSchema(), value: new Date('2024-02-29T00:00:00.000Z') });
    expect(read('10:20:30.456Z')).toEqual({ schema: timeSchema(), value: new Date(37_230_456) });
    expect(read('["2024-02-29"]')).toEqual({ schema: arraySchema(dateSchema()), value: [new Date('2024-02-29T00:00:00.000Z')] });
  });

  it('arrays and maps with the common schema of their elements', () => {
    expect(read('[1,2]')).toEqual({ schema: arraySchema(Schemas.INT8), value: [1, 2] });
    expect(read('[1, 300, 2.5]')).toEqual({ schema: arraySchema(Schemas.FLOAT32), value: [1, 300, 2.5] });
    expect(read('["foo","bar"]')).toEqual({ schema: arraySchema(Schemas.STRING), value: ['foo', 'bar'] });
    expect(read('{"a":1}')).toEqual({ schema: mapSchema(Schemas.STRING, Schemas.INT8), value: { a: 1 } });
    expect(read(' { "foo" :  12345 , "bar" : 0,  "baz" : -4321 }  ')).toEqual({
      schema: mapSchema(Schemas.STRING, Schemas.INT16), value: { foo: 12345, bar: 0, baz: -4321 },
    });
    expect(read('{1:true,2:false}')).toEqual({ schema: mapSchema(Schemas.INT8, Schemas.BOOLEAN), value: new Map([[1, true], [2, false]]) });
    // mixed elements: no element schema
    const mixed = read('["foo",13344]');
    expect(mixed.schema).toEqual({ type: 'array', optional: false });
    expect(mixed.value).toEqual(['foo', 13344]);
    expect(read('{"foo":"bar","baz":3456}')).toEqual({ schema: { type: 'map', optional: false, keySchema: Schemas.STRING }, value: { foo: 'bar', baz: 3456 } });
  });

  it('text that is not a valid array or map stays a string', () => {
    for (const text of ['[1,2', '[a,b]', '{"a"}', '[1,,2]', '[1,null]', '{"a":1,']) expect(read(text)).toEqual({ schema: Schemas.STRING, value: text });
  });

  it('only the first token of a text starting with a number counts, as in Connect', () => {
    expect(read('1,2')).toEqual({ schema: Schemas.INT8, value: 1 });
  });

  it('null bytes and the null literal read as no value', () => {
    expect(simple.toConnectHeader('t', 'h', null)).toEqual({ schema: null, value: null });
    expect(read('null')).toEqual({ schema: null, value: null });
  });
});

describe('SimpleHeaderConverter writes values as Connect\'s Values.convertToString', () => {
  it.each([
    [Schemas.STRING, 'three"blind\\"mice', 'three"blind\\"mice'],
    [Schemas.INT8, 42, '42'],
    [Schemas.INT64, 9223372036854775807n, '9223372036854775807'],
    [Schemas.FLOAT64, 100, '100.0'],
    [Schemas.FLOAT32, Math.fround(0.1), '0.1'],
    [Schemas.FLOAT64, 1e-4, '1.0E-4'],
    [Schemas.FLOAT64, 12345678.9, '1.23456789E7'],
    [Schemas.BOOLEAN, true, 'true'],
    [Schemas.BYTES, Buffer.from('hi'), 'aGk='],
    [arraySchema(Schemas.STRING), ['a', 'b"c'], '["a","b\\"c"]'],
    [mapSchema(Schemas.STRING, Schemas.INT16), { foo: 12345, bar: 0 }, '{"foo":12345,"bar":0}'],
    [timestampSchema(), new Date('2024-03-05T10:20:30.456Z'), '2024-03-05T10:20:30.456Z'],
    [dateSchema(), new Date('2024-02-29T00:00:00Z'), '2024-02-29'],
    [timeSchema(), new Date(37_230_456), '10:20:30.456Z'],
    [null, 7, '7'],
    [null, 2.5, '2.5'],
  ] as const)('%j %p → %s', (schema, value, text) => {
    expect(write(schema, value)).toBe(text);
  });

  it('null writes as null', () => {
    expect(simple.fromConnectHeader('t', 'h', Schemas.OPTIONAL_STRING, null)).toBeNull();
  });

  it('what it writes reads back as the same value and schema', () => {
    for (const text of ['true', '42', '-300', '1.5', '[1,2,3]', '{"a":1,"b":2}', '2024-03-05T10:20:30.456Z', 'plain text', '["x","y"]']) {
      const first = read(text);
      const again = read(write(first.schema, first.value)!);
      expect([text, again]).toEqual([text, first]);
    }
  });

  it('Java\'s floating-point text', () => {
    expect(javaFloatingText(1, false)).toBe('1.0');
    expect(javaFloatingText(0.001, false)).toBe('0.001');
    expect(javaFloatingText(1e7, false)).toBe('1.0E7');
    expect(javaFloatingText(-0, false)).toBe('-0.0');
    expect(javaFloatingText(NaN, true)).toBe('NaN');
    expect(javaFloatingText(Math.fround(3.14), true)).toBe('3.14');
  });
});

describe('other converters read and write a header as a value', () => {
  const configured = (c: Converter, config: Record<string, string> = {}) => { void c.configure({ ...config, 'converter.type': 'header' }, false); return c; };
  const kafkaHeaders = [{ key: 'n', value: Buffer.from('42') }, { key: 's', value: Buffer.from('"x"') }];

  it('StringConverter: text as an optional string', () => {
    const headers = headersToConnect(configured(new StringConverter()), 't', kafkaHeaders);
    expect(headers.map((h) => [h.key, h.schema, h.value])).toEqual([['n', Schemas.OPTIONAL_STRING, '42'], ['s', Schemas.OPTIONAL_STRING, '"x"']]);
  });
  it('JsonConverter with schemas.enable=false: JSON values', () => {
    const json = configured(new JsonConverter(), { 'schemas.enable': 'false' });
    const headers = headersToConnect(json, 't', kafkaHeaders);
    expect(headers.map((h) => [h.key, h.value])).toEqual([['n', 42], ['s', 'x']]);
    expect(headersToKafka(json, 't', [{ key: 'new', schema: Schemas.STRING, value: 'hello' }])).toEqual({ new: Buffer.from('"hello"') });
  });
  it('JsonConverter with schemas.enable=true: envelopes both ways', () => {
    const json = configured(new JsonConverter(), { 'schemas.enable': 'true' });
    const [h] = headersToConnect(json, 't', [{ key: 'n', value: Buffer.from('{"schema":{"type":"int32","optional":false},"payload":7}') }]);
    expect([h!.schema?.type, h!.value]).toEqual(['int32', 7]);
    const out = headersToKafka(json, 't', [{ key: 'b', schema: Schemas.BOOLEAN, value: true }])!;
    expect(JSON.parse(out['b']!.toString())).toEqual({ schema: { type: 'boolean', optional: false }, payload: true });
  });
  it('ByteArrayConverter: bytes as they are', () => {
    const headers = headersToConnect(configured(new ByteArrayConverter()), 't', [{ key: 'b', value: Buffer.from([0xff, 0]) }]);
    expect(headers[0]!.value).toEqual(Buffer.from([0xff, 0]));
  });
  it('a header\'s failure to convert is the converter\'s error', () => {
    const json = configured(new JsonConverter(), { 'schemas.enable': 'false' });
    expect(() => headersToConnect(json, 't', [{ key: 'bad', value: Buffer.from('{not json') }])).toThrow(/JSON/i);
  });
});

describe('writing headers back to Kafka', () => {
  it('unchanged headers keep their bytes; new or changed ones go through the converter', () => {
    const [kept] = headersToConnect(simple, 't', [{ key: 'zip', value: Buffer.from('007') }]);
    expect(kept!.value).toBe(7); // Connect reads INT8 7...
    const added: Header = { key: 'n', schema: Schemas.INT32, value: 12 };
    const out = headersToKafka(simple, 't', [kept!, added, { key: 'none', schema: null, value: null }]);
    expect(out).toEqual({ zip: Buffer.from('007'), n: Buffer.from('12') }); // ...and the copy still says 007
  });
  it('no headers, nothing to write', () => {
    expect(headersToKafka(simple, 't', [])).toBeUndefined();
    expect(parseString(null)).toEqual({ schema: null, value: null });
  });
});

describe('headersToKafka with shared (frozen) header objects', () => {
  it('encodes a frozen header once per converter and topic, and each converter its own way', () => {
    const calls: string[] = [];
    const counting = new SimpleHeaderConverter();
    counting.configure({}, false);
    const fromConnectHeader = counting.fromConnectHeader.bind(counting);
    counting.fromConnectHeader = (topic, key, schema, value) => { calls.push(`${topic}/${key}`); return fromConnectHeader(topic, key, schema, value); };
    const shared: Header = Object.freeze({ key: 'kappa.model.id', value: 'iris' });
    for (let i = 0; i < 5; i++) expect(headersToKafka(counting, 'a', [shared])!['kappa.model.id']!.toString()).toBe('iris');
    expect(headersToKafka(counting, 'b', [shared])!['kappa.model.id']!.toString()).toBe('iris');
    expect(calls).toEqual(['a/kappa.model.id', 'b/kappa.model.id']);
    // another converter writes the same header its own way (JSON quotes strings)
    const json = new JsonConverter();
    json.configure({ 'schemas.enable': 'false' }, false);
    expect(headersToKafka(json, 'a', [shared])!['kappa.model.id']!.toString()).toBe('"iris"');
    // a header that is not frozen is converted every time (it may be changed in place)
    const open: { key: string; value: unknown } = { key: 'h', value: 'x' };
    headersToKafka(counting, 'a', [open]);
    open.value = 'y';
    expect(headersToKafka(counting, 'a', [open])!['h']!.toString()).toBe('y');
    expect(calls.filter((c) => c === 'a/h')).toHaveLength(2);
  });
});
