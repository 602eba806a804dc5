import { DataException, Struct, type Schema } from '../../../src/api';
import {
  ENVELOPE_ERROR, JsonConverter, converterPlugins, dateSchema, decimalSchema, structSchema, Schemas, timeSchema, timestampSchema,
  arraySchema, mapSchema,
} from '../../../src/converters';

function conv(config: Record<string, string> = {}, isKey = false): JsonConverter {
  const c = new JsonConverter();
  c.configure(config, isKey);
  return c;
}
const buf = (o: unknown) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o));
const parse = (b: Buffer | null) => JSON.parse(b!.toString('utf8'));

describe('JsonConverter envelope', () => {
  const c = conv();
  it.each([
    ['{"payload":1}'],
    ['{"schema":null}'],
    ['{"schema":null,"payload":1,"extra":2}'],
    ['[1,2]'],
    ['42'],
    ['"text"'],
    ['null'],
    ['{"a":1,"b":2}'],
  ])('rejects %s with Connect\'s message', (text) => {
    expect(() => c.toConnectData('t', buf(text))).toThrow(DataException);
    expect(() => c.toConnectData('t', buf(text))).toThrow(ENVELOPE_ERROR);
  });
  it('has the exact Connect message', () => {
    expect(ENVELOPE_ERROR).toBe(
      'JsonConverter with schemas.enable requires "schema" and "payload" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.',
    );
  });
  it('null bytes are a tombstone', () => {
    expect(c.toConnectData('t', null)).toEqual({ schema: null, value: null });
    expect(c.fromConnectData('t', null, null)).toBeNull();
  });
  it('a null schema in the envelope gives schemaless data', () => {
    expect(c.toConnectData('t', buf({ schema: null, payload: { a: [1, 2] } }))).toEqual({ schema: null, value: { a: [1, 2] } });
  });
  it('invalid JSON is a DataException', () => {
    expect(() => c.toConnectData('t', buf('{nope'))).toThrow(/Converting byte\[\] to Kafka Connect data failed due to serialization error/);
  });
});

describe('JsonConverter schemas', () => {
  const c = conv();
  it('parses the doc example', () => {
    const msg = {
      schema: {
        type: 'struct', optional: false, name: 'com.acme.Event', version: 1,
        fields: [
          { field: 'id', type: 'int64', optional: false },
          { field: 'score', type: 'double', optional: true },
          { field: 'ts', type: 'int64', optional: false, name: 'org.apache.kafka.connect.data.Timestamp', version: 1 },
        ],
      },
      payload: { id: 42, score: 0.93, ts: 1700000000000 },
    };
    const { schema, value } = c.toConnectData('t', buf(msg));
    expect(schema!.type).toBe('struct');
    expect(schema!.name).toBe('com.acme.Event');
    expect(schema!.version).toBe(1);
    expect(schema!.fields!.map((f) => [f.name, f.index, f.schema.type, f.schema.optional])).toEqual([
      ['id', 0, 'int64', false], ['score', 1, 'float64', true], ['ts', 2, 'int64', false],
    ]);
    expect(value).toBeInstanceOf(Struct);
    const s = value as Struct;
    expect(s.get('id')).toBe(42);
    expect(s.get('score')).toBe(0.93);
    expect(s.get('ts')).toEqual(new Date(1700000000000));
    // round trip: same JSON back
    expect(parse(c.fromConnectData('t', schema, value))).toEqual({
      schema: {
        type: 'struct',
        fields: [
          { type: 'int64', optional: false, field: 'id' },
          { type: 'double', optional: true, field: 'score' },
          { type: 'int64', optional: false, name: 'org.apache.kafka.connect.data.Timestamp', version: 1, field: 'ts' },
        ],
        optional: false, name: 'com.acme.Event', version: 1,
      },
      payload: { id: 42, score: 0.93, ts: 1700000000000 },
    });
  });

  it('maps float/double to float32/float64 and back', () => {
    const r = c.toConnectData('t', buf({ schema: { type: 'float' }, payload: 1.5 }));
    expect(r.schema).toEqual({ type: 'float32', optional: false });
    const out = c.fromConnectData('t', Schemas.FLOAT64, 2)!.toString();
    expect(out).toBe('{"schema":{"type":"double","optional":false},"payload":2.0}');
  });

  it('keeps doc, parameters and default', () => {
    const js = { type: 'string', optional: true, doc: 'd', parameters: { a: 'b' }, default: 'x', name: 'n', version: 3 };
    const r = c.toConnectData('t', buf({ schema: js, payload: null }));
    expect(r.schema).toEqual({ type: 'string', optional: true, doc: 'd', parameters: { a: 'b' }, defaultValue: 'x', name: 'n', version: 3 });
    expect(r.value).toBe('x'); // replace.null.with.default
    expect(parse(c.fromConnectData('t', r.schema, null)).schema).toEqual({ type: 'string', optional: true, name: 'n', version: 3, doc: 'd', parameters: { a: 'b' }, default: 'x' });
  });

  it('replace.null.with.default=false keeps nulls', () => {
    const c2 = conv({ 'replace.null.with.default': 'false' });
    const js = { type: 'int32', optional: true, default: 5 };
    expect(c2.toConnectData('t', buf({ schema: js, payload: null })).value).toBeNull();
    expect(conv().toConnectData('t', buf({ schema: js, payload: null })).value).toBe(5);
    const schema = c2.toConnectData('t', buf({ schema: js, payload: 1 })).schema;
    expect(parse(c2.fromConnectData('t', schema, null)).payload).toBeNull();
    expect(parse(conv().fromConnectData('t', schema, null)).payload).toBe(5);
  });

  it('arrays and maps', () => {
    const schema = structSchema([
      ['tags', arraySchema(Schemas.STRING)],
      ['m', mapSchema(Schemas.STRING, Schemas.INT32)],
      ['im', mapSchema(Schemas.INT32, Schemas.STRING)],
    ]);
    const value = new Struct(schema, { tags: ['a', 'b'], m: { x: 1 }, im: new Map([[1, 'one']]) });
    const bytes = c.fromConnectData('t', schema, value);
    expect(parse(bytes).payload).toEqual({ tags: ['a', 'b'], m: { x: 1 }, im: [[1, 'one']] });
    const back = c.toConnectData('t', bytes);
    expect((back.value as Struct).get('im')).toEqual(new Map([[1, 'one']]));
    expect((back.value as Struct).get('m')).toEqual({ x: 1 });
    expect(back.schema!.fields![2]!.schema.keySchema).toEqual({ type: 'int32', optional: false });
  });

  it('bytes are base64 Buffers', () => {
    const r = c.toConnectData('t', buf({ schema: { type: 'bytes' }, payload: 'AQID' }));
    expect(r.value).toEqual(Buffer.from([1, 2, 3]));
    expect(parse(c.fromConnectData('t', Schemas.BYTES, Buffer.from([1, 2, 3]))).payload).toBe('AQID');
  });

  it('schema errors', () => {
    expect(() => c.toConnectData('t', buf({ schema: { optional: true }, payload: 1 }))).toThrow("Schema must contain 'type' field");
    expect(() => c.toConnectData('t', buf({ schema: { type: 'nope' }, payload: 1 }))).toThrow('Unknown schema type: nope');
    expect(() => c.toConnectData('t', buf({ schema: { type: 'array' }, payload: [] }))).toThrow('Array schema did not specify the element type');
    expect(() => c.toConnectData('t', buf({ schema: { type: 'struct', fields: {} }, payload: {} }))).toThrow('Struct schema\'s "fields" argument is not an array.');
    expect(() => c.toConnectData('t', buf({ schema: { type: 'int32' }, payload: null }))).toThrow('Invalid null value for required INT32 field');
    expect(() => c.fromConnectData('t', Schemas.INT32, null)).toThrow('Conversion error: null value for field that is required and has no default value');
    expect(() => c.toConnectData('t', buf({ schema: { type: 'struct', fields: [] }, payload: [] }))).toThrow('Structs should be encoded as JSON objects, but found ARRAY');
  });

  it('caches parsed schemas by their JSON text', () => {
    const msg = buf({ schema: { type: 'struct', fields: [{ field: 'a', type: 'int32' }] }, payload: { a: 1 } });
    const a = c.toConnectData('t', msg).schema;
    const b = c.toConnectData('t', msg).schema;
    expect(a).toBe(b);
  });

  it('rejects struct values of another schema', () => {
    const s1 = structSchema([['a', Schemas.INT32]]);
    const s2 = structSchema([['b', Schemas.INT32]]);
    expect(() => c.fromConnectData('t', s1, new Struct(s2, { b: 1 }))).toThrow('Mismatching schema.');
  });
});

describe('JsonConverter logical types', () => {
  const c = conv();
  it('Decimal BASE64 round trip as exact strings', () => {
    const schema = decimalSchema(2);
    const bytes = c.fromConnectData('t', schema, '12.34');
    const j = parse(bytes);
    expect(j.schema).toEqual({ type: 'bytes', optional: false, name: 'org.apache.kafka.connect.data.Decimal', version: 1, parameters: { scale: '2' } });
    expect(j.payload).toBe('BNI='); // 1234 = 0x04D2
    expect(c.toConnectData('t', bytes).value).toBe('12.34');
    expect(c.toConnectData('t', c.fromConnectData('t', schema, '-0.01')).value).toBe('-0.01');
    expect(c.toConnectData('t', c.fromConnectData('t', schema, 5)).value).toBe('5.00');
    expect(() => c.fromConnectData('t', schema, '1.234')).toThrow('BigDecimal has mismatching scale value for given Decimal schema');
  });
  it('Decimal NUMERIC', () => {
    const n = conv({ 'decimal.format': 'numeric' });
    const bytes = n.fromConnectData('t', decimalSchema(2), '12.30');
    expect(bytes!.toString()).toContain('"payload":12.30');
    expect(n.toConnectData('t', bytes).value).toBe('12.30');
    // a BASE64 payload is still readable in NUMERIC mode and vice versa
    expect(c.toConnectData('t', bytes).value).toBe('12.30');
  });
  it('Date, Time, Timestamp are JS Dates', () => {
    const schema = structSchema([['d', dateSchema()], ['t', timeSchema()], ['ts', timestampSchema()]]);
    const d = new Date(Date.UTC(2024, 0, 2));
    const value = new Struct(schema, { d, t: new Date(3600_000), ts: new Date(1700000000123) });
    const bytes = c.fromConnectData('t', schema, value);
    expect(parse(bytes).payload).toEqual({ d: 19724, t: 3600000, ts: 1700000000123 });
    const back = c.toConnectData('t', bytes).value as Struct;
    expect(back.get('d')).toEqual(d);
    expect(back.get('t')).toEqual(new Date(3600_000));
    expect(back.get('ts')).toEqual(new Date(1700000000123));
    expect(() => c.fromConnectData('t', dateSchema(), new Date(5))).toThrow('Kafka Connect Date type should not have any time fields set to non-zero values.');
    expect(() => c.toConnectData('t', buf({ schema: { type: 'int32', name: 'org.apache.kafka.connect.data.Date' }, payload: 'x' })))
      .toThrow('Invalid type for Date, underlying representation should be integer but was STRING');
  });
});

describe('JsonConverter schemaless', () => {
  const c = conv({ 'schemas.enable': 'false' });
  it('plain JSON in and out', () => {
    const r = c.toConnectData('t', buf({ a: 1, b: [true, null, 'x'], c: { d: 1.5 } }));
    expect(r).toEqual({ schema: null, value: { a: 1, b: [true, null, 'x'], c: { d: 1.5 } } });
    expect(parse(c.fromConnectData('t', null, r.value))).toEqual(r.value);
    expect(c.toConnectData('t', buf('42')).value).toBe(42);
    expect(c.toConnectData('t', buf('null')).value).toBeNull();
  });
  it('schemaful data is written without envelope', () => {
    const schema = structSchema([['a', Schemas.INT32]]);
    expect(c.fromConnectData('t', schema, new Struct(schema, { a: 1 }))!.toString()).toBe('{"a":1}');
  });
  it('Buffers become base64 and bigints exact numbers', () => {
    expect(c.fromConnectData('t', null, { b: Buffer.from([1]), n: 12345678901234567890n })!.toString()).toBe('{"b":"AQ==","n":12345678901234567890}');
  });
  it('writes the envelope with a null schema when schemas are enabled', () => {
    expect(conv().fromConnectData('t', null, { a: 1 })!.toString()).toBe('{"schema":null,"payload":{"a":1}}');
  });
  it('plain values (the fast path) are written byte for byte as the general path writes them as Maps', () => {
    // Maps always take the general path: the same data as plain objects must give the same text
    const asMaps = (v: unknown): unknown => Array.isArray(v) ? v.map(asMaps)
      : v !== null && typeof v === 'object' ? new Map(Object.entries(v).map(([k, e]) => [k, asMaps(e)])) : v;
    const values: unknown[] = [
      { id: 1, x1: 5.1, neg: -0, big: 1e21, small: 5e-7, s: 'é "q" \\ \u2028 \ud800', t: true, n: null },
      { '2': 'a', b: 1, '1': 'c', nested: { arr: [1, 'two', null, [], {}, [{ deep: [0.1] }]] } },
      [{ a: 1 }, 2, 'x'],
      { prediction: { model_id: 'm', model_version: '1', label: 'setosa', probabilities: { setosa: 0.9731, versicolor: 0.0269, virginica: 1.2e-8 } } },
    ];
    for (const v of values) expect(c.fromConnectData('t', null, v)!.toString()).toBe(c.fromConnectData('t', null, asMaps(v))!.toString());
    // what the fast path leaves alone: an undefined field is written as null, non-finite numbers as strings
    expect(c.fromConnectData('t', null, { a: undefined, b: 1 })!.toString()).toBe('{"a":null,"b":1}');
    expect(c.fromConnectData('t', null, { a: [NaN, Infinity] })!.toString()).toBe('{"a":["NaN","Infinity"]}');
    expect(c.fromConnectData('t', null, { d: new Date(5) })!.toString()).toBe('{"d":5}');
  });
});

describe('JsonConverter config', () => {
  it('rejects a bad decimal.format', () => {
    expect(() => conv({ 'decimal.format': 'HEX' })).toThrow(/decimal.format/);
  });
  it('is listed as converter and header converter', () => {
    const names = converterPlugins.map((p) => `${p.type}:${p.className}`);
    expect(names).toContain('converter:org.apache.kafka.connect.json.JsonConverter');
    expect(names).toContain('header_converter:org.apache.kafka.connect.json.JsonConverter');
    expect(names).toContain('header_converter:org.apache.kafka.connect.storage.SimpleHeaderConverter');
    const json = converterPlugins.find((p) => p.className.endsWith('JsonConverter'))!;
    expect(json.configDef.find((k) => k.name === 'schemas.enable')!.default).toBe(true);
    expect(json.configDef.find((k) => k.name === 'schemas.cache.size')!.default).toBe(1000);
  });
  it('does not mutate schemas (frozen constants encode fine)', () => {
    const s: Schema = Schemas.OPTIONAL_STRING;
    expect(conv().fromConnectData('t', s, 'x')!.toString()).toBe('{"schema":{"type":"string","optional":true},"payload":"x"}');
  });
});

describe('JsonConverter nesting limit', () => {
  const nested = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

  it('refuses a document nested deeper than 1000 levels as a DataException of that record (no stack overflow)', () => {
    for (const c of [conv({ 'schemas.enable': 'false' }), conv()]) {
      expect(() => c.toConnectData('t', buf(nested(100_000)))).toThrow(new DataException('Converting byte[] to Kafka Connect data failed due to serialization error: document nesting depth exceeds the maximum allowed (1000)'));
    }
    const arrays = '['.repeat(1001) + ']'.repeat(1001);
    expect(() => conv({ 'schemas.enable': 'false' }).toConnectData('t', buf(arrays))).toThrow(/nesting depth exceeds the maximum allowed \(1000\)/);
  });

  it('accepts 1000 levels, and encodes them back', () => {
    const c = conv({ 'schemas.enable': 'false' });
    const v = c.toConnectData('t', buf(nested(1000)));
    expect(c.fromConnectData('t', null, v.value)!.toString()).toBe(nested(1000));
  });
});
