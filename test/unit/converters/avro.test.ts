/**
 * AvroConverter unit tests: Avro ↔ Connect mapping on avsc-encoded fixtures, Confluent wire format,
 * subject naming strategies, auto-registration and basic auth against a small in-process HTTP
 * endpoint (the integration tests use the real registry), schema files, and error messages.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as avro from 'avsc';
import { ConfigException, DataException, LogicalTypes, Struct, type Schema } from '../../../src/api';
import {
  AvroConverter, JsonConverter, avroConverterPlugin, avroSchemaEntry, connectToAvroSchema, converterPlugins, structSchema, Schemas,
  decimalSchema, dateSchema, timeSchema, timestampSchema, arraySchema, mapSchema,
} from '../../../src/converters';

function loadAvsc(name: string): unknown {
  const fs = require('node:fs') as typeof import('node:fs');
  const path = require('node:path') as typeof import('node:path');
  return JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'schemas', `${name}.avsc`), 'utf8'));
}

const RICH = {
  type: 'record', name: 'Rich', namespace: 'io.kappa.test',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'i', type: 'int' },
    { name: 'small', type: { type: 'int', 'connect.type': 'int16' } },
    { name: 'l', type: 'long' },
    { name: 'f', type: 'float' },
    { name: 'd', type: 'double' },
    { name: 'b', type: 'boolean' },
    { name: 'raw', type: 'bytes' },
    { name: 'opt', type: ['null', 'string'], default: null },
    { name: 'optLast', type: ['long', 'null'] },
    { name: 'color', type: { type: 'enum', name: 'Color', symbols: ['RED', 'GREEN'] } },
    { name: 'hash', type: { type: 'fixed', name: 'Hash', size: 4 } },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'counts', type: { type: 'map', values: 'int' } },
    { name: 'price', type: { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 } },
    { name: 'fprice', type: { type: 'fixed', name: 'Money', size: 8, logicalType: 'decimal', precision: 18, scale: 3 } },
    { name: 'day', type: { type: 'int', logicalType: 'date' } },
    { name: 'tod', type: { type: 'int', logicalType: 'time-millis' } },
    { name: 'ts', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'inner', type: ['null', { type: 'record', name: 'Inner', fields: [{ name: 'x', type: 'double' }] }], default: null },
    { name: 'either', type: ['int', 'string'] },
    { name: 'withDefault', type: 'int', default: 7 },
  ],
};

/** avsc encoding of a RICH value (wrapped unions), i.e. what a Java/Python producer would write */
function encodeRich(v: Record<string, unknown>): Buffer {
  const t = avro.Type.forSchema(RICH as avro.Schema, { wrapUnions: true });
  return t.toBuffer(v);
}

const RICH_VALUE = {
  id: 'e-1', i: -5, small: 300, l: 1234567890123, f: 1.5, d: -2.25, b: true, raw: Buffer.from([1, 2, 3]),
  opt: { string: 'x' }, optLast: null, color: 'GREEN', hash: Buffer.from('abcd'), tags: ['a', 'b'], counts: { a: 1 },
  price: Buffer.from([0x30, 0x39]) /* 12345 → 123.45 */, fprice: Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x85]) /* -123 → -0.123 */,
  day: 19000, tod: 3_600_000, ts: 1_700_000_000_123, inner: { 'io.kappa.test.Inner': { x: 0.5 } }, either: { string: 'two' }, withDefault: 9,
};

function fileConverter(schema: unknown, isKey = false): AvroConverter {
  const c = new AvroConverter();
  const fs = require('node:fs') as typeof import('node:fs');
  const os = require('node:os') as typeof import('node:os');
  const path = require('node:path') as typeof import('node:path');
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'avro-test-')), 's.avsc');
  fs.writeFileSync(file, JSON.stringify(schema));
  c.configure({ 'schema.file': file }, isKey);
  return c;
}

describe('Avro → Connect mapping', () => {
  const conv = fileConverter(RICH);
  const { schema, value } = conv.toConnectData('t', encodeRich(RICH_VALUE));

  test('schema: records, optional unions, enums, fixed, maps, arrays, logical types', () => {
    expect(schema!.type).toBe('struct');
    expect(schema!.name).toBe('io.kappa.test.Rich');
    const f = (n: string): Schema => schema!.fields!.find((x) => x.name === n)!.schema;
    expect(f('id')).toEqual({ type: 'string', optional: false });
    expect(f('i').type).toBe('int32');
    expect(f('small').type).toBe('int16');
    expect(f('l').type).toBe('int64');
    expect(f('f').type).toBe('float32');
    expect(f('d').type).toBe('float64');
    expect(f('raw').type).toBe('bytes');
    expect(f('opt')).toEqual({ type: 'string', optional: true });
    expect(f('optLast')).toEqual({ type: 'int64', optional: true });
    expect(f('color')).toMatchObject({ type: 'string', name: 'io.kappa.test.Color', parameters: { 'io.confluent.connect.avro.Enum': 'io.kappa.test.Color' } });
    expect(f('hash')).toMatchObject({ type: 'bytes', parameters: { 'connect.fixed.size': '4' } });
    expect(f('tags')).toEqual({ type: 'array', optional: false, valueSchema: { type: 'string', optional: false } });
    expect(f('counts')).toMatchObject({ type: 'map', keySchema: { type: 'string' }, valueSchema: { type: 'int32' } });
    expect(f('price')).toMatchObject({ type: 'bytes', name: LogicalTypes.Decimal, parameters: { scale: '2', 'connect.decimal.precision': '10' } });
    expect(f('fprice')).toMatchObject({ type: 'bytes', name: LogicalTypes.Decimal, parameters: { scale: '3' } });
    expect(f('day')).toMatchObject({ type: 'int32', name: LogicalTypes.Date });
    expect(f('tod')).toMatchObject({ type: 'int32', name: LogicalTypes.Time });
    expect(f('ts')).toMatchObject({ type: 'int64', name: LogicalTypes.Timestamp });
    expect(f('inner')).toMatchObject({ type: 'struct', optional: true, name: 'io.kappa.test.Inner' });
    expect(f('either')).toMatchObject({ type: 'struct', name: 'io.confluent.connect.avro.Union' });
    expect(f('either').fields!.map((x) => x.name)).toEqual(['int', 'string']);
    expect(f('withDefault').defaultValue).toBe(7);
  });

  test('values use the JSON converter representation', () => {
    expect(value).toBeInstanceOf(Struct);
    const s = value as Struct;
    expect(s.get('id')).toBe('e-1');
    expect(s.get('small')).toBe(300);
    expect(s.get('l')).toBe(1234567890123);
    expect(s.get('raw')).toEqual(Buffer.from([1, 2, 3]));
    expect(s.get('opt')).toBe('x');
    expect(s.get('optLast')).toBeNull();
    expect(s.get('color')).toBe('GREEN');
    expect(s.get('tags')).toEqual(['a', 'b']);
    expect(s.get('counts')).toEqual({ a: 1 });
    expect(s.get('price')).toBe('123.45');
    expect(s.get('fprice')).toBe('-0.123');
    expect(s.get('day')).toEqual(new Date(19000 * 86_400_000));
    expect(s.get('tod')).toEqual(new Date(3_600_000));
    expect(s.get('ts')).toEqual(new Date(1_700_000_000_123));
    const inner = s.get('inner') as Struct;
    expect(inner).toBeInstanceOf(Struct);
    expect(inner.get('x')).toBe(0.5);
    expect((s.get('either') as Struct).values).toEqual({ int: null, string: 'two' });
  });

  test('Connect → Avro with the same file schema gives back the producer bytes', () => {
    const bytes = conv.fromConnectData('t', schema, value)!;
    expect(bytes.equals(encodeRich(RICH_VALUE))).toBe(true);
  });

  test('a tombstone is null both ways', () => {
    expect(conv.toConnectData('t', null)).toEqual({ schema: null, value: null });
    expect(conv.fromConnectData('t', null, null)).toBeNull();
  });
});

describe('Connect → Avro schema', () => {
  test('a struct from JSON-with-schema maps to a record that round-trips', () => {
    const s = structSchema([
      ['id', Schemas.STRING], ['n', Schemas.INT8], ['big', Schemas.INT64], ['opt', Schemas.OPTIONAL_FLOAT64],
      ['amount', decimalSchema(2)], ['day', dateSchema()], ['tod', timeSchema(true)], ['ts', timestampSchema()],
      ['list', arraySchema(Schemas.INT32)], ['m', mapSchema(Schemas.STRING, Schemas.BOOLEAN)], ['im', mapSchema(Schemas.INT32, Schemas.STRING)],
      ['nested', structSchema([['y', Schemas.STRING]], { optional: true })],
    ], { name: 'my.pkg.Thing' });
    const avroJson = connectToAvroSchema(s) as Record<string, unknown>;
    expect(avroJson).toMatchObject({ type: 'record', name: 'Thing', namespace: 'my.pkg' });
    const fields = avroJson.fields as { name: string; type: unknown; default?: unknown }[];
    expect(fields.find((f) => f.name === 'n')!.type).toEqual({ type: 'int', 'connect.type': 'int8' });
    expect(fields.find((f) => f.name === 'opt')).toEqual({ name: 'opt', type: ['null', 'double'], default: null });
    expect(fields.find((f) => f.name === 'amount')!.type).toEqual({ type: 'bytes', logicalType: 'decimal', precision: 64, scale: 2 });
    expect(fields.find((f) => f.name === 'ts')!.type).toEqual({ type: 'long', logicalType: 'timestamp-millis' });
    const nested = fields.find((f) => f.name === 'nested')!.type as unknown[];
    expect(nested[0]).toBe('null');
    expect(nested[1]).toMatchObject({ type: 'record', name: 'ConnectDefault', namespace: 'io.confluent.connect.avro' });

    const value = new Struct(s, {
      id: 'a', n: -3, big: 2 ** 40, opt: null, amount: '-1.05', day: new Date(86_400_000 * 3), tod: null, ts: new Date(5),
      list: [1, 2], m: { k: true }, im: new Map([[1, 'one']]), nested: new Struct(s.fields![11]!.schema, { y: 'z' }),
    });
    const entry = avroSchemaEntry(avroJson as never);
    const back = entry.decoder.convert(entry.type.fromBuffer(entry.type.toBuffer(entry.encode(value)))) as Struct;
    expect(back.get('id')).toBe('a');
    expect(back.get('n')).toBe(-3);
    expect(back.get('big')).toBe(2 ** 40);
    expect(back.get('opt')).toBeNull();
    expect(back.get('amount')).toBe('-1.05');
    expect(back.get('day')).toEqual(new Date(86_400_000 * 3));
    expect(back.get('tod')).toBeNull();
    expect(back.get('ts')).toEqual(new Date(5));
    expect(back.get('list')).toEqual([1, 2]);
    expect(back.get('m')).toEqual({ k: true });
    expect(back.get('im')).toEqual(new Map([[1, 'one']]));
    expect((back.get('nested') as Struct).get('y')).toBe('z');
    // the decoded Connect schema has the same field types as the original
    for (const f of s.fields!) {
      const bf = back.schema.fields!.find((x) => x.name === f.name)!;
      expect([bf.schema.type, bf.schema.optional, bf.schema.name]).toEqual([f.schema.type, f.schema.optional, f.schema.name]);
    }
  });

  test('Avro and JSON-with-schema give transforms the same record shape', () => {
    const json = new JsonConverter();
    json.configure({ 'schemas.enable': 'true' }, false);
    const envelope = {
      schema: {
        type: 'struct', optional: false, name: 'io.kappa.demo.IrisEvent', fields: [
          { field: 'event_id', type: 'string', optional: false },
          { field: 'x1', type: 'double', optional: false }, { field: 'x2', type: 'double', optional: false },
          { field: 'x3', type: 'double', optional: false }, { field: 'x4', type: 'double', optional: false },
          { field: 'label', type: 'int32', optional: true },
        ],
      },
      payload: { event_id: 'e1', x1: 5.1, x2: 3.5, x3: 1.4, x4: 0.2, label: null },
    };
    const fromJson = json.toConnectData('t', Buffer.from(JSON.stringify(envelope)));
    const iris = new AvroConverter();
    iris.configure({ 'schema.file': 'iris.avsc' }, false); // resolved under schemas/
    const avroBytes = avro.Type.forSchema(loadAvsc('iris') as avro.Schema, { wrapUnions: true })
      .toBuffer({ event_id: 'e1', x1: 5.1, x2: 3.5, x3: 1.4, x4: 0.2, label: null });
    const fromAvro = iris.toConnectData('t', avroBytes);
    const shape = (s: Schema) => s.fields!.map((f) => [f.name, f.schema.type, f.schema.optional]);
    expect(shape(fromAvro.schema!)).toEqual(shape(fromJson.schema!));
    expect((fromAvro.value as Struct).values).toEqual((fromJson.value as Struct).values);
    // and the Avro-decoded record writes as JSON like the JSON-decoded one (apart from the schema doc strings)
    const a = JSON.parse(json.fromConnectData('t', fromAvro.schema, fromAvro.value)!.toString());
    const j = JSON.parse(json.fromConnectData('t', fromJson.schema, fromJson.value)!.toString());
    expect(a.payload).toEqual(j.payload);
  });
});

// ------------------------------------------------------------------ wire format against a local endpoint

interface Endpoint {
  url: string;
  requests: { method: string; url: string; auth?: string; body?: string }[];
  schemas: Map<number, string>;
  close(): Promise<void>;
}

async function endpoint(): Promise<Endpoint> {
  const schemas = new Map<number, string>();
  const bySubject = new Map<string, number>();
  const requests: Endpoint['requests'] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      requests.push({ method: req.method!, url: req.url!, ...(req.headers.authorization ? { auth: req.headers.authorization } : {}), ...(body ? { body } : {}) });
      const send = (status: number, obj: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/vnd.schemaregistry.v1+json' });
        res.end(JSON.stringify(obj));
      };
      let m = /^\/schemas\/ids\/(\d+)$/.exec(req.url!);
      if (req.method === 'GET' && m) {
        const s = schemas.get(Number(m[1]));
        return s ? send(200, { schema: s }) : send(404, { error_code: 40403, message: `Schema ${m[1]} not found` });
      }
      m = /^\/subjects\/([^/]+)\/versions$/.exec(req.url!);
      if (req.method === 'POST' && m) {
        const schema = (JSON.parse(body) as { schema: string }).schema;
        let id = [...schemas.entries()].find(([, s]) => s === schema)?.[0];
        if (id === undefined) {
          id = schemas.size + 1;
          schemas.set(id, schema);
        }
        bySubject.set(`${decodeURIComponent(m[1]!)}|${schema}`, id);
        return send(200, { id });
      }
      m = /^\/subjects\/([^/]+)$/.exec(req.url!);
      if (req.method === 'POST' && m) {
        const schema = (JSON.parse(body) as { schema: string }).schema;
        const id = bySubject.get(`${decodeURIComponent(m[1]!)}|${schema}`);
        return id ? send(200, { subject: m[1], id, version: 1, schema }) : send(404, { error_code: 40403, message: 'Schema not found' });
      }
      send(404, { error_code: 404, message: 'HTTP 404 Not Found' });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, schemas, close: () => new Promise((r) => server.close(() => r())) };
}

function wire(id: number, body: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h.writeInt32BE(id, 1);
  return Buffer.concat([h, body]);
}

describe('Confluent wire format with a registry', () => {
  let ep: Endpoint;
  beforeAll(async () => { ep = await endpoint(); });
  afterAll(async () => { await ep.close(); });

  const irisSchema = JSON.stringify(loadAvsc('iris'));
  const irisType = avro.Type.forSchema(JSON.parse(irisSchema) as avro.Schema, { wrapUnions: true });
  const iris = (label: number | null) => irisType.toBuffer({ event_id: 'e', x1: 1, x2: 2, x3: 3, x4: 4, label: label === null ? null : { int: label } });

  test('decodes by id after prepare, with one fetch per id (cached)', async () => {
    ep.schemas.set(1, irisSchema);
    const c = new AvroConverter();
    c.configure({ 'schema.registry.url': ep.url }, false);
    const batch = [wire(1, iris(2)), wire(1, iris(null)), null];
    await c.prepare('iris', batch);
    await c.prepare('iris', batch);
    expect(ep.requests.filter((r) => r.url === '/schemas/ids/1')).toHaveLength(1);
    const r = c.toConnectData('iris', batch[0]!);
    expect((r.value as Struct).get('label')).toBe(2);
    expect((c.toConnectData('iris', batch[1]!).value as Struct).get('label')).toBeNull();
    expect(c.toConnectData('iris', null)).toEqual({ schema: null, value: null });
  });

  test('errors: wrong magic byte, unknown id, corrupt bytes', async () => {
    const c = new AvroConverter();
    c.configure({ 'schema.registry.url': ep.url }, false);
    const bad = [Buffer.from('{"json":true}'), wire(999, iris(1)), wire(1, Buffer.from([0x02, 0x41]))];
    await c.prepare('iris', bad);
    expect(() => c.toConnectData('iris', bad[0]!)).toThrow(DataException);
    expect(() => c.toConnectData('iris', bad[0]!)).toThrow('Unknown magic byte!');
    expect(() => c.toConnectData('iris', bad[1]!)).toThrow(/schema for id 999.*Schema 999 not found; error code: 40403/);
    expect(() => c.toConnectData('iris', bad[2]!)).toThrow(DataException);
    expect(() => c.toConnectData('iris', bad[2]!)).toThrow(/Error deserializing Avro message for id 1/);
    expect(() => c.toConnectData('iris', Buffer.from([0, 0, 1]))).toThrow(DataException);
  });

  test('encoding registers under the strategy subject, then writes magic + id + Avro', async () => {
    const s = structSchema([['a', Schemas.STRING], ['b', Schemas.OPTIONAL_INT32]], { name: 'io.kappa.Out' });
    const cases: [Record<string, string>, boolean, string][] = [
      [{}, false, 'topic-x-value'],
      [{}, true, 'topic-x-key'],
      [{ 'value.subject.name.strategy': 'io.confluent.kafka.serializers.subject.RecordNameStrategy' }, false, 'io.kappa.Out'],
      [{ 'key.subject.name.strategy': 'io.confluent.kafka.serializers.subject.TopicRecordNameStrategy' }, true, 'topic-x-io.kappa.Out'],
    ];
    for (const [extra, isKey, subject] of cases) {
      const c = new AvroConverter();
      c.configure({ 'schema.registry.url': ep.url, ...extra }, isKey);
      await c.prepareEncode('topic-x', [s, s, null]);
      expect(ep.requests.at(-1)).toMatchObject({ method: 'POST', url: `/subjects/${encodeURIComponent(subject)}/versions` });
      const bytes = c.fromConnectData('topic-x', s, new Struct(s, { a: 'hi', b: null }))!;
      expect(bytes[0]).toBe(0);
      const id = bytes.readInt32BE(1);
      const reader = new AvroConverter();
      reader.configure({ 'schema.registry.url': ep.url }, isKey);
      await reader.prepare('topic-x', [bytes]);
      expect((reader.toConnectData('topic-x', bytes).value as Struct).values).toEqual({ a: 'hi', b: null });
      expect(ep.schemas.get(id)).toBeDefined();
    }
  });

  test('auto.register.schemas=false looks the schema up and fails clearly when absent', async () => {
    const s = structSchema([['never', Schemas.STRING]], { name: 'io.kappa.Never' });
    const c = new AvroConverter();
    c.configure({ 'schema.registry.url': ep.url, 'auto.register.schemas': 'false' }, false);
    await expect(c.prepareEncode('t', [s])).rejects.toThrow(/Error retrieving Avro schema under subject t-value/);
    expect(ep.requests.at(-1)).toMatchObject({ method: 'POST', url: '/subjects/t-value' });
    expect(() => c.fromConnectData('t', s, new Struct(s, { never: 'x' }))).toThrow(DataException);
  });

  test('basic auth: USER_INFO and user info in the URL', async () => {
    const c = new AvroConverter();
    c.configure({ 'schema.registry.url': ep.url, 'basic.auth.credentials.source': 'USER_INFO', 'basic.auth.user.info': 'alice:s3cret' }, false);
    await c.prepare('t', [wire(77, Buffer.alloc(0))]);
    expect(ep.requests.at(-1)!.auth).toBe(`Basic ${Buffer.from('alice:s3cret').toString('base64')}`);
    const u = new AvroConverter();
    u.configure({ 'schema.registry.url': ep.url.replace('http://', 'http://bob:pw@') }, false);
    await u.prepare('t', [wire(78, Buffer.alloc(0))]);
    expect(ep.requests.at(-1)!.auth).toBe(`Basic ${Buffer.from('bob:pw').toString('base64')}`);
    expect(() => new AvroConverter().configure({ 'schema.registry.url': ep.url, 'basic.auth.credentials.source': 'USER_INFO' }, false)).toThrow(ConfigException);
  });

  test('an unreachable registry is a DataException naming the id', async () => {
    const c = new AvroConverter();
    c.configure({ 'schema.registry.url': 'http://127.0.0.1:9' }, false);
    const b = wire(5, Buffer.alloc(0));
    await c.prepare('t', [b]);
    expect(() => c.toConnectData('t', b)).toThrow(/id 5.*unreachable/);
  });
});

describe('configuration and plugin', () => {
  test('needs schema.registry.url or schema.file', () => {
    expect(() => new AvroConverter().configure({}, false)).toThrow('Missing required configuration "schema.registry.url" which has no default value.');
    expect(() => new AvroConverter().configure({ 'schema.file': 'nope.avsc' }, false)).toThrow(ConfigException);
    expect(() => new AvroConverter().configure({ 'schema.registry.url': 'http://x', 'value.subject.name.strategy': 'Bogus' }, false)).toThrow(/Bogus/);
  });

  test('is listed with Confluent\'s class name and the AvroConverter alias', () => {
    expect(converterPlugins).toContain(avroConverterPlugin);
    expect(avroConverterPlugin.className).toBe('io.confluent.connect.avro.AvroConverter');
    expect(avroConverterPlugin.aliases).toContain('AvroConverter');
  });

  test('schema file mode: plain Avro binary without a header, both ways', () => {
    const c = new AvroConverter();
    c.configure({ 'schema.file': 'schemas/banknote.avsc' }, false);
    const t = avro.Type.forSchema(loadAvsc('banknote') as avro.Schema, { wrapUnions: true });
    const bytes = t.toBuffer({ event_id: 'b1', f1: 1, f2: 2, f3: 3, f4: 4, label: { int: 1 } });
    const { schema, value } = c.toConnectData('bank', bytes);
    expect((value as Struct).get('label')).toBe(1);
    expect(c.fromConnectData('bank', schema, value)!.equals(bytes)).toBe(true);
    expect(() => c.toConnectData('bank', Buffer.from([0xff, 0xff, 0xff]))).toThrow(DataException);
    expect(() => c.fromConnectData('bank', schema, new Struct(schema!, { event_id: 'x', f1: 'oops' }))).toThrow(DataException);
  });
});

describe('Avro schema nesting limit', () => {
  it('refuses schemas nested deeper than 1000 levels (records decode no deeper than their schema)', () => {
    let schema: unknown = 'int';
    for (let i = 0; i < 2000; i++) schema = { type: 'array', items: schema };
    expect(() => avroSchemaEntry(JSON.stringify(schema))).toThrow(new DataException('Invalid Avro schema: nested deeper than 1000 levels'));
    let ok: unknown = 'int';
    for (let i = 0; i < 100; i++) ok = { type: 'array', items: ok };
    expect(avroSchemaEntry(JSON.stringify(ok)).decoder.schema.type).toBe('array');
  });
});
