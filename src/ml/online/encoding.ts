import { EncodedArray } from './types';

/** Float64Array -> base64 of its little-endian bytes (host-endianness independent). */
export function encodeF64(a: Float64Array): EncodedArray {
  const buf = Buffer.alloc(a.length * 8);
  for (let i = 0; i < a.length; i++) buf.writeDoubleLE(a[i] as number, i * 8);
  return { f64: buf.toString('base64') };
}

export function decodeF64(e: EncodedArray, expectedLength?: number): Float64Array {
  if (!e || typeof e.f64 !== 'string') throw new Error('expected an encoded float64 array {f64: base64}');
  const buf = Buffer.from(e.f64, 'base64');
  if (buf.length % 8 !== 0) throw new Error('encoded float64 array has a length that is not a multiple of 8');
  const out = new Float64Array(buf.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = buf.readDoubleLE(i * 8);
  if (expectedLength !== undefined && out.length !== expectedLength) {
    throw new Error(`encoded array has ${out.length} values, expected ${expectedLength}`);
  }
  return out;
}
