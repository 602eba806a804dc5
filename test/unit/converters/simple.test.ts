import { DataException, Struct } from '../../../src/api';
import {
  ByteArrayConverter, SimpleHeaderConverter, StringConverter, Schemas, structSchema,
} from '../../../src/converters';

describe('StringConverter', () => {
  it('round trips UTF-8 with an optional string schema', () => {
    const c = new StringConverter();
    c.configure({}, false);
    expect(c.toConnectData('t', Buffer.from('héllo'))).toEqual({ schema: Schemas.OPTIONAL_STRING, value: 'héllo' });
    expect(c.fromConnectData('t', Schemas.STRING, 'héllo')).toEqual(Buffer.from('héllo'));
    expect(c.toConnectData('t', null)).toEqual({ schema: Schemas.OPTIONAL_STRING, value: null });
    expect(c.fromConnectData('t', null, null)).toBeNull();
    expect(c.fromConnectData('t', null, 42)!.toString()).toBe('42');
  });
  it('honours converter.encoding', () => {
    const c = new StringConverter();
    c.configure({ 'converter.encoding': 'ISO-8859-1' }, true);
    expect(c.fromConnectData('t', null, 'é')).toEqual(Buffer.from([0xe9]));
    expect(c.toConnectData('t', Buffer.from([0xe9])).value).toBe('é');
    const be = new StringConverter();
    be.configure({ 'converter.encoding': 'UTF-16BE' }, false);
    expect(be.fromConnectData('t', null, 'A')).toEqual(Buffer.from([0, 0x41]));
    expect(be.toConnectData('t', Buffer.from([0, 0x41])).value).toBe('A');
  });
  it('rejects unknown encodings', () => {
    expect(() => new StringConverter().configure({ 'converter.encoding': 'EBCDIC-XYZ' }, false)).toThrow(/Unsupported encoding/);
  });
  it('writes structs like Connect', () => {
    const c = new StringConverter();
    c.configure({}, false);
    const s = structSchema([['a', Schemas.INT32], ['b', Schemas.OPTIONAL_STRING]]);
    expect(c.fromConnectData('t', s, new Struct(s, { a: 1 }))!.toString()).toBe('Struct{a=1}');
  });
});

describe('ByteArrayConverter', () => {
  const c = new ByteArrayConverter();
  c.configure({}, false);
  it('passes bytes through', () => {
    const b = Buffer.from([1, 2]);
    expect(c.toConnectData('t', b)).toEqual({ schema: Schemas.OPTIONAL_BYTES, value: b });
    expect(c.fromConnectData('t', Schemas.BYTES, b)).toBe(b);
    expect(c.fromConnectData('t', null, null)).toBeNull();
  });
  it('rejects other schemas and values', () => {
    expect(() => c.fromConnectData('t', Schemas.STRING, 'x')).toThrow('Invalid schema type for ByteArrayConverter: STRING');
    expect(() => c.fromConnectData('t', null, 'x')).toThrow(DataException);
    expect(() => c.fromConnectData('t', null, 'x')).toThrow('ByteArrayConverter is not compatible with objects of type string');
  });
});

describe('SimpleHeaderConverter', () => {
  it('strings in and out', () => {
    const c = new SimpleHeaderConverter();
    c.configure({}, false);
    expect(c.toConnectData('t', Buffer.from('v'))).toEqual({ schema: Schemas.STRING, value: 'v' });
    expect(c.toConnectData('t', null)).toEqual({ schema: null, value: null });
    expect(c.fromConnectData('t', null, 'v')).toEqual(Buffer.from('v'));
    expect(c.fromConnectData('t', null, 7)).toEqual(Buffer.from('7'));
  });
});
