/**
 * A minimal protobuf wire-format walker: just enough to read and rewrite the few fields of an
 * ONNX ModelProto that model serving needs (graph nodes, graph outputs, opset imports).
 *
 * Unknown and untouched fields are kept as their raw byte spans, so re-encoding a message after
 * replacing some fields preserves everything else bit for bit.
 */

export enum WireType {
  Varint = 0,
  Fixed64 = 1,
  LengthDelimited = 2,
  Fixed32 = 5,
}

export interface Field {
  /** Field number. */
  readonly no: number;
  readonly wireType: WireType;
  /** The whole field as it appears on the wire (tag + payload). */
  readonly raw: Uint8Array;
  /** Payload of a length-delimited field, or the 4/8 bytes of a fixed field. */
  readonly bytes: Uint8Array;
  /** Value of a varint field (unsigned, as read from the wire). */
  readonly varint: bigint;
}

export class ProtobufError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtobufError';
  }
}

const EMPTY: Uint8Array = new Uint8Array(0);
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });
const utf8Encoder = new TextEncoder();

function readVarint(buf: Uint8Array, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new ProtobufError('truncated varint');
    const b = buf[pos++]!;
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
  throw new ProtobufError('varint longer than 10 bytes');
}

/** Fast path for tags and lengths (always < 2^31 in valid messages). */
function readSmallVarint(buf: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 8; i++) {
    if (pos >= buf.length) throw new ProtobufError('truncated varint');
    const b = buf[pos++]!;
    result += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return [result, pos];
    mul *= 128;
  }
  throw new ProtobufError('tag or length varint too large');
}

/** Splits a message into its top-level fields (no recursion). */
export function readFields(buf: Uint8Array): Field[] {
  const fields: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    const [tag, afterTag] = readSmallVarint(buf, pos);
    pos = afterTag;
    const no = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (no === 0) throw new ProtobufError('field number 0');
    let bytes: Uint8Array = EMPTY;
    let varint = 0n;
    switch (wireType) {
      case WireType.Varint: {
        [varint, pos] = readVarint(buf, pos);
        break;
      }
      case WireType.Fixed64:
      case WireType.Fixed32: {
        const n = wireType === WireType.Fixed64 ? 8 : 4;
        if (pos + n > buf.length) throw new ProtobufError('truncated fixed field');
        bytes = buf.subarray(pos, pos + n);
        pos += n;
        break;
      }
      case WireType.LengthDelimited: {
        const [len, afterLen] = readSmallVarint(buf, pos);
        pos = afterLen;
        if (pos + len > buf.length) throw new ProtobufError(`truncated field ${no} (length ${len})`);
        bytes = buf.subarray(pos, pos + len);
        pos += len;
        break;
      }
      default:
        throw new ProtobufError(`unsupported wire type ${wireType} (field ${no})`);
    }
    fields.push({ no, wireType: wireType as WireType, raw: buf.subarray(start, pos), bytes, varint });
  }
  return fields;
}

export function decodeString(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes);
}

/** First string value of field `no`, or undefined. */
export function stringField(fields: readonly Field[], no: number): string | undefined {
  const f = fields.find((x) => x.no === no && x.wireType === WireType.LengthDelimited);
  return f ? decodeString(f.bytes) : undefined;
}

/** All string values of repeated field `no`. */
export function stringFields(fields: readonly Field[], no: number): string[] {
  return fields.filter((x) => x.no === no && x.wireType === WireType.LengthDelimited).map((x) => decodeString(x.bytes));
}

/** Reads an int64 from an unsigned 64-bit varint (two's complement). */
export function toInt64(v: bigint): bigint {
  return BigInt.asIntN(64, v);
}

/** All values of a repeated int64 field, accepting both packed and unpacked encodings. */
export function int64Fields(fields: readonly Field[], no: number): bigint[] {
  const out: bigint[] = [];
  for (const f of fields) {
    if (f.no !== no) continue;
    if (f.wireType === WireType.Varint) out.push(toInt64(f.varint));
    else if (f.wireType === WireType.LengthDelimited) {
      let pos = 0;
      while (pos < f.bytes.length) {
        const [v, next] = readVarint(f.bytes, pos);
        out.push(toInt64(v));
        pos = next;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Writing

function varintBytes(value: number | bigint): Uint8Array {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

export function encodeBytesField(no: number, payload: Uint8Array): Uint8Array {
  return concat([varintBytes(no * 8 + WireType.LengthDelimited), varintBytes(payload.length), payload]);
}

export function encodeStringField(no: number, value: string): Uint8Array {
  return encodeBytesField(no, utf8Encoder.encode(value));
}

export function encodeVarintField(no: number, value: number | bigint): Uint8Array {
  return concat([varintBytes(no * 8 + WireType.Varint), varintBytes(value)]);
}

/** Re-encodes a list of fields (raw spans and freshly encoded fields alike). */
export function encodeFields(parts: readonly (Field | Uint8Array)[]): Uint8Array {
  return concat(parts.map((p) => (p instanceof Uint8Array ? p : p.raw)));
}
