import { DataException, Struct, LogicalTypes } from '../../../src/api';
import { Schemas, structSchema, decimalSchema } from '../../../src/converters';
import { names, rec, run, smt } from './helpers';

const schema = structSchema([['id', Schemas.INT64], ['name', Schemas.OPTIONAL_STRING], ['ssn', Schemas.STRING], ['age', Schemas.INT32]]);
const struct = () => new Struct(schema, { id: 1, name: 'ann', ssn: '123', age: 30 });

describe('InsertField', () => {
  const cfg = { 'topic.field': 'topic!', 'partition.field': 'part', 'offset.field': 'off', 'timestamp.field': 'ts', 'static.field': 'src', 'static.value': 'kappa' };
  it('schemaful $Value', () => {
    const out = run(smt('InsertField$Value', cfg), rec({ valueSchema: schema, value: struct() }))!;
    expect(names(out.valueSchema)).toEqual(['id', 'name', 'ssn', 'age', 'topic', 'part', 'off', 'ts', 'src']);
    const f = (n: string) => out.valueSchema!.fields!.find((x) => x.name === n)!.schema;
    expect(f('topic')).toEqual(Schemas.STRING);
    expect(f('part')).toEqual(Schemas.OPTIONAL_INT32);
    expect(f('ts').name).toBe(LogicalTypes.Timestamp);
    const v = out.value as Struct;
    expect([v.get('topic'), v.get('part'), v.get('off'), v.get('ts'), v.get('src'), v.get('id')]).toEqual(['orders', 3, 42, new Date(1700000000000), 'kappa', 1]);
  });
  it('schemaless $Key', () => {
    const out = run(smt('InsertField$Key', cfg), rec({ key: { a: 1 } }))!;
    expect(out.key).toEqual({ a: 1, topic: 'orders', part: 3, off: 42, ts: 1700000000000, src: 'kappa' });
  });
  it('null value and non-map errors', () => {
    expect(() => smt('InsertField$Value', cfg).apply(rec())).toThrow('null value');
    expect(() => smt('InsertField$Value', cfg).apply(rec({ value: 5 }))).toThrow(DataException);
  });
});

describe('ReplaceField', () => {
  it('exclude + renames schemaful', () => {
    const out = run(smt('ReplaceField$Value', { exclude: 'ssn', renames: 'name:full_name,age:years' }), rec({ valueSchema: schema, value: struct() }))!;
    expect(names(out.valueSchema)).toEqual(['id', 'full_name', 'years']);
    expect((out.value as Struct).values).toEqual({ id: 1, full_name: 'ann', years: 30 });
  });
  it('include schemaless', () => {
    const out = run(smt('ReplaceField$Value', { include: 'id,age' }), rec({ value: { id: 1, age: 3, x: 2 } }))!;
    expect(out.value).toEqual({ id: 1, age: 3 });
  });
  it('deprecated whitelist/blacklist', () => {
    expect(run(smt('ReplaceField$Value', { whitelist: 'id' }), rec({ value: { id: 1, age: 3 } }))!.value).toEqual({ id: 1 });
    expect(run(smt('ReplaceField$Value', { blacklist: 'id' }), rec({ value: { id: 1, age: 3 } }))!.value).toEqual({ age: 3 });
  });
  it('bad renames', () => {
    expect(() => smt('ReplaceField$Value', { renames: 'a' })).toThrow('Invalid value [a] for configuration renames: Invalid rename mapping: a');
  });
});

describe('MaskField', () => {
  it('masks with type defaults (schemaful)', () => {
    const out = run(smt('MaskField$Value', { fields: 'ssn,age' }), rec({ valueSchema: schema, value: struct() }))!;
    expect((out.value as Struct).values).toEqual({ id: 1, name: 'ann', ssn: '', age: 0 });
    expect(out.valueSchema).toBe(schema);
  });
  it('custom replacement (schemaless)', () => {
    const out = run(smt('MaskField$Value', { fields: 'ssn,age', replacement: '9' }), rec({ value: { ssn: '123', age: 30, x: 1 } }))!;
    expect(out.value).toEqual({ ssn: '9', age: 9, x: 1 });
    expect(() => smt('MaskField$Value', { fields: 'age', replacement: 'x' }).apply(rec({ value: { age: 1 } }))).toThrow(/Unable to convert x/);
  });
  it('decimal masked to zero', () => {
    const s = structSchema([['amt', decimalSchema(2)]]);
    const out = run(smt('MaskField$Value', { fields: 'amt' }), rec({ valueSchema: s, value: new Struct(s, { amt: '1.50' }) }))!;
    expect((out.value as Struct).get('amt')).toBe('0.00');
  });
  it('requires fields', () => {
    expect(() => smt('MaskField$Value', { fields: '' })).toThrow('Invalid value [] for configuration fields: Empty list');
    expect(() => smt('MaskField$Value', {})).toThrow('Missing required configuration "fields" which has no default value.');
  });
});

describe('ValueToKey', () => {
  it('schemaful', () => {
    const out = run(smt('ValueToKey', { fields: 'id,name' }), rec({ valueSchema: schema, value: struct() }))!;
    expect(names(out.keySchema)).toEqual(['id', 'name']);
    expect((out.key as Struct).values).toEqual({ id: 1, name: 'ann' });
    expect(out.value).toBeInstanceOf(Struct);
    expect(() => smt('ValueToKey', { fields: 'nope' }).apply(rec({ valueSchema: schema, value: struct() }))).toThrow('Field does not exist: nope');
  });
  it('schemaless', () => {
    expect(run(smt('ValueToKey', { fields: 'id' }), rec({ value: { id: 7, x: 1 } }))!.key).toEqual({ id: 7 });
    expect(() => smt('ValueToKey', { fields: 'id' }).apply(rec({ value: 5 }))).toThrow('Only Map objects supported in absence of schema for [copying fields from value to key], found: number');
  });
});

describe('ExtractField', () => {
  it('schemaful and schemaless', () => {
    const out = run(smt('ExtractField$Value', { field: 'name' }), rec({ valueSchema: schema, value: struct() }))!;
    expect(out.valueSchema).toEqual(Schemas.OPTIONAL_STRING);
    expect(out.value).toBe('ann');
    expect(run(smt('ExtractField$Key', { field: 'id' }), rec({ key: { id: 9 } }))!.key).toBe(9);
    expect(run(smt('ExtractField$Key', { field: 'id' }), rec({ key: null }))!.key).toBeNull();
    expect(() => smt('ExtractField$Value', { field: 'zz' }).apply(rec({ valueSchema: schema, value: struct() }))).toThrow('Unknown field: zz');
  });
});

describe('HoistField', () => {
  it('schemaful and schemaless', () => {
    const out = run(smt('HoistField$Value', { field: 'line' }), rec({ valueSchema: Schemas.STRING, value: 'hi' }))!;
    expect(out.valueSchema!.fields![0]).toEqual({ name: 'line', index: 0, schema: Schemas.STRING });
    expect((out.value as Struct).get('line')).toBe('hi');
    expect(run(smt('HoistField$Key', { field: 'k' }), rec({ key: 5 }))!.key).toEqual({ k: 5 });
  });
});

describe('SetSchemaMetadata', () => {
  it('sets name and version and rebinds the struct', () => {
    const out = run(smt('SetSchemaMetadata$Value', { 'schema.name': 'com.acme.V', 'schema.version': '3' }), rec({ valueSchema: schema, value: struct() }))!;
    expect(out.valueSchema!.name).toBe('com.acme.V');
    expect(out.valueSchema!.version).toBe(3);
    expect((out.value as Struct).schema).toBe(out.valueSchema);
    expect(() => smt('SetSchemaMetadata$Value', { 'schema.name': 'x' }).apply(rec({ value: {} }))).toThrow('Schema required for [updating schema metadata]');
  });
});
