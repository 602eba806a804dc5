import { Struct, LogicalTypes } from '../../../src/api';
import { Schemas, structSchema, timestampSchema, dateSchema } from '../../../src/converters';
import { predicatePlugins, transformationPlugins } from '../../../src/transforms';
import { names, pred, rec, run, smt } from './helpers';

describe('Cast', () => {
  const schema = structSchema([['a', Schemas.INT64], ['b', Schemas.STRING], ['c', Schemas.FLOAT64], ['d', Schemas.BOOLEAN]]);
  it('casts struct fields', () => {
    const out = run(smt('Cast$Value', { spec: 'a:int32,b:int64,c:string,d:int8' }), rec({ valueSchema: schema, value: new Struct(schema, { a: 5, b: '12', c: 1, d: true }) }))!;
    expect(out.valueSchema!.fields!.map((f) => f.schema.type)).toEqual(['int32', 'int64', 'string', 'int8']);
    expect((out.value as Struct).values).toEqual({ a: 5, b: 12, c: '1.0', d: 1 });
  });
  it('casts the whole value and schemaless maps', () => {
    expect(run(smt('Cast$Key', { spec: 'string' }), rec({ keySchema: Schemas.INT64, key: 42 }))).toMatchObject({ keySchema: { type: 'string' }, key: '42' });
    expect(run(smt('Cast$Value', { spec: 'x:boolean,y:float64' }), rec({ value: { x: 'TRUE', y: '2.5', z: 1 } }))!.value).toEqual({ x: true, y: 2.5, z: 1 });
    expect(run(smt('Cast$Value', { spec: 'int8' }), rec({ value: 300 }))!.value).toBe(44);
  });
  it('bytes to string is base64; timestamps to int64', () => {
    const s = structSchema([['b', Schemas.BYTES], ['t', timestampSchema()]]);
    const out = run(smt('Cast$Value', { spec: 'b:string,t:int64' }), rec({ valueSchema: s, value: new Struct(s, { b: Buffer.from([1, 2, 3]), t: new Date(5) }) }))!;
    expect((out.value as Struct).values).toEqual({ b: 'AQID', t: 5 });
  });
  it('config errors', () => {
    expect(() => smt('Cast$Value', { spec: '' })).toThrow('Must specify at least one field to cast.');
    expect(() => smt('Cast$Value', { spec: 'a:nope' })).toThrow('Invalid type found in casting spec: nope');
    expect(() => smt('Cast$Value', { spec: 'a:bytes' })).toThrow('Cast transformation does not support casting to BYTES; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]');
    expect(() => smt('Cast$Value', { spec: 'int32,a:int8' })).toThrow('may ony specify a single cast');
    expect(() => smt('Cast$Value', { spec: 'int32' }).apply(rec({ value: 'abc' }))).toThrow('Value (abc) was out of range for requested data type');
  });
});

describe('Flatten', () => {
  it('schemaful, with optional propagation', () => {
    const inner = structSchema([['x', Schemas.INT32], ['y', Schemas.STRING]], { optional: true });
    const s = structSchema([['id', Schemas.INT32], ['pos', inner]]);
    const out = run(smt('Flatten$Value', { delimiter: '_' }), rec({ valueSchema: s, value: new Struct(s, { id: 1, pos: new Struct(inner, { x: 2, y: 'a' }) }) }))!;
    expect(names(out.valueSchema)).toEqual(['id', 'pos_x', 'pos_y']);
    expect(out.valueSchema!.fields![1]!.schema.optional).toBe(true);
    expect((out.value as Struct).values).toEqual({ id: 1, pos_x: 2, pos_y: 'a' });
  });
  it('schemaless, default delimiter', () => {
    expect(run(smt('Flatten$Value'), rec({ value: { a: { b: { c: 1 }, d: [1] }, e: null } }))!.value).toEqual({ 'a.b.c': 1, 'a.d': [1], e: null });
  });
});

describe('TimestampConverter', () => {
  it('unix → string with format (whole value)', () => {
    const t = smt('TimestampConverter$Value', { 'target.type': 'string', format: "yyyy-MM-dd'T'HH:mm:ss.SSS" });
    expect(run(t, rec({ value: 1700000000123 }))!.value).toBe('2023-11-14T22:13:20.123');
  });
  it('string → Timestamp on a field (schemaful)', () => {
    const s = structSchema([['when', Schemas.STRING], ['n', Schemas.INT32]]);
    const t = smt('TimestampConverter$Value', { field: 'when', 'target.type': 'Timestamp', format: 'yyyy-MM-dd HH:mm' });
    const out = run(t, rec({ valueSchema: s, value: new Struct(s, { when: '2024-01-02 03:04', n: 1 }) }))!;
    expect(out.valueSchema!.fields![0]!.schema.name).toBe(LogicalTypes.Timestamp);
    expect((out.value as Struct).get('when')).toEqual(new Date(Date.UTC(2024, 0, 2, 3, 4)));
  });
  it('Timestamp → unix seconds, Date, Time', () => {
    const d = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6));
    expect(run(smt('TimestampConverter$Value', { 'target.type': 'unix', 'unix.precision': 'seconds' }), rec({ valueSchema: timestampSchema(), value: d }))).toMatchObject({ valueSchema: Schemas.INT64, value: Math.floor(d.getTime() / 1000) });
    const date = run(smt('TimestampConverter$Value', { 'target.type': 'Date' }), rec({ valueSchema: timestampSchema(), value: d }))!;
    expect(date.valueSchema).toEqual(dateSchema());
    expect(date.value).toEqual(new Date(Date.UTC(2024, 0, 2)));
    expect(run(smt('TimestampConverter$Value', { 'target.type': 'Time' }), rec({ value: d }))!.value).toEqual(new Date(((3 * 60 + 4) * 60 + 5) * 1000 + 6));
  });
  it('config and data errors', () => {
    expect(() => smt('TimestampConverter$Value', { 'target.type': 'string' })).toThrow('TimestampConverter requires format option to be specified when using string timestamps');
    expect(() => smt('TimestampConverter$Value', { 'target.type': 'bogus' })).toThrow('Invalid value bogus for configuration target.type: String must be one of: string, unix, Date, Time, Timestamp');
    expect(() => smt('TimestampConverter$Value', { 'target.type': 'Timestamp', format: 'yyyy' }).apply(rec({ value: 'nope' })))
      .toThrow('Could not parse timestamp: value (nope) does not match pattern (yyyy)');
  });
});

describe('routers', () => {
  it('RegexRouter', () => {
    const t = smt('RegexRouter', { regex: '(.*)ders', replacement: 'x-$1' });
    expect(run(t, rec())!.topic).toBe('x-or');
    expect(t.apply(rec({ topic: 'other' }))!.topic).toBe('other');
    expect(() => smt('RegexRouter', { regex: '(', replacement: '' })).toThrow(/Invalid value \( for configuration regex: Invalid regex/);
  });
  it('TimestampRouter', () => {
    expect(run(smt('TimestampRouter'), rec())!.topic).toBe('orders-20231114');
    expect(smt('TimestampRouter', { 'topic.format': 'x_${timestamp}_${topic}', 'timestamp.format': 'yyyy.MM' }).apply(rec())!.topic).toBe('x_2023.11_orders');
    expect(() => smt('TimestampRouter').apply(rec({ timestamp: null }))).toThrow(/Timestamp missing on record/);
  });
  it('Filter drops', () => {
    expect(smt('Filter').apply(rec())).toBeNull();
  });
});

describe('headers', () => {
  const h = [{ key: 'a', value: 'x' }, { key: 'b', value: Buffer.from('y') }];
  it('DropHeaders', () => {
    expect(run(smt('DropHeaders', { headers: 'a' }), rec({ headers: h }))!.headers.map((x) => x.key)).toEqual(['b']);
    expect(() => smt('DropHeaders', { headers: '' })).toThrow('Empty list');
  });
  it('InsertHeader: the literal typed as Connect\'s Values.parseString types it', () => {
    expect(run(smt('InsertHeader', { header: 'env', 'value.literal': 'prod' }), rec({ headers: h }))!.headers).toEqual([...h, { key: 'env', schema: Schemas.STRING, value: 'prod' }]);
    expect(run(smt('InsertHeader', { header: 'n', 'value.literal': '42' }), rec())!.headers).toEqual([{ key: 'n', schema: Schemas.INT8, value: 42 }]);
  });
  it('HeaderFrom move (schemaful) and copy (schemaless)', () => {
    const s = structSchema([['id', Schemas.INT32], ['trace', Schemas.STRING]]);
    const out = run(smt('HeaderFrom$Value', { fields: 'trace,id', headers: 'h_trace,h_id', operation: 'move' }), rec({ valueSchema: s, value: new Struct(s, { id: 1, trace: 't1' }) }))!;
    expect(names(out.valueSchema)).toEqual([]);
    // as Connect: each header carries the field's value and schema
    expect(out.headers).toEqual([{ key: 'h_trace', schema: Schemas.STRING, value: 't1' }, { key: 'h_id', schema: Schemas.INT32, value: 1 }]);
    const copy = run(smt('HeaderFrom$Key', { fields: 'k', headers: 'hk', operation: 'copy' }), rec({ key: { k: 'v' } }))!;
    expect(copy.key).toEqual({ k: 'v' });
    expect(copy.headers).toEqual([{ key: 'hk', schema: null, value: 'v' }]);
    expect(() => smt('HeaderFrom$Value', { fields: 'a,b', headers: 'x', operation: 'copy' })).toThrow("'fields' config must have the same number of elements as 'headers' config.");
    expect(() => smt('HeaderFrom$Value', { fields: 'a', headers: 'x', operation: 'swap' })).toThrow('String must be one of: move, copy');
  });
});

describe('predicates', () => {
  it('TopicNameMatches', () => {
    const p = pred('TopicNameMatches', { pattern: 'ord.*' });
    expect(p.test(rec())).toBe(true);
    expect(p.test(rec({ topic: 'xorders' }))).toBe(false);
    expect(() => pred('TopicNameMatches', { pattern: '' })).toThrow('String must be non-empty');
    expect(() => pred('TopicNameMatches', {})).toThrow('Missing required configuration "pattern" which has no default value.');
  });
  it('HasHeaderKey', () => {
    const p = pred('HasHeaderKey', { name: 'a' });
    expect(p.test(rec({ headers: [{ key: 'a', value: null }] }))).toBe(true);
    expect(p.test(rec())).toBe(false);
  });
  it('RecordIsTombstone', () => {
    const p = pred('RecordIsTombstone');
    expect(p.test(rec())).toBe(true);
    expect(p.test(rec({ value: 1 }))).toBe(false);
  });
});

describe('plugin listing', () => {
  it('uses Connect class names', () => {
    const n = transformationPlugins.map((d) => d.className);
    for (const c of ['InsertField$Value', 'InsertField$Key', 'ReplaceField$Value', 'MaskField$Key', 'ValueToKey', 'ExtractField$Value', 'HoistField$Key',
      'Cast$Value', 'Flatten$Value', 'TimestampConverter$Value', 'RegexRouter', 'TimestampRouter', 'Filter', 'DropHeaders', 'InsertHeader',
      'HeaderFrom$Value', 'SetSchemaMetadata$Value']) {
      expect(n).toContain(`org.apache.kafka.connect.transforms.${c}`);
    }
    expect(predicatePlugins.map((d) => d.className)).toEqual([
      'org.apache.kafka.connect.transforms.predicates.TopicNameMatches',
      'org.apache.kafka.connect.transforms.predicates.HasHeaderKey',
      'org.apache.kafka.connect.transforms.predicates.RecordIsTombstone',
    ]);
    expect(new Set(n).size).toBe(n.length);
  });
});
