/**
 * Decimal helpers. Connect's Decimal logical type is a BigDecimal; we represent decimal values as
 * plain decimal strings (e.g. "-12.30") carrying exactly the schema's scale digits, which keeps them
 * exact. Helpers convert between that string form, unscaled bigints and Connect's wire form
 * (big-endian two's complement bytes of the unscaled value).
 */
import { DataException, LogicalTypes, type Schema } from '../api';

export interface DecimalParts {
  unscaled: bigint;
  scale: number;
}

const DECIMAL_RE = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** Parses a decimal string ("1.50", "-3", "1e-3") into unscaled value and scale. */
export function parseDecimal(text: string): DecimalParts {
  const m = DECIMAL_RE.exec(text.trim());
  if (!m || (m[2] === '' && (m[3] === undefined || m[3] === ''))) throw new DataException(`Invalid decimal value: ${text}`);
  const intPart = m[2] ?? '';
  const frac = m[3] ?? '';
  let scale = frac.length - (m[4] ? Number(m[4]) : 0);
  let digits = (intPart + frac).replace(/^0+(?=\d)/, '') || '0';
  if (scale < 0) {
    digits += '0'.repeat(-scale);
    scale = 0;
  }
  const unscaled = BigInt(digits);
  return { unscaled: m[1] === '-' ? -unscaled : unscaled, scale };
}

/** Formats unscaled × 10^-scale as a plain decimal string with exactly `scale` fraction digits. */
export function formatDecimal(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  let digits = (negative ? -unscaled : unscaled).toString();
  if (scale <= 0) return (negative ? '-' : '') + digits + '0'.repeat(-scale);
  if (digits.length <= scale) digits = '0'.repeat(scale - digits.length + 1) + digits;
  return (negative ? '-' : '') + digits.slice(0, digits.length - scale) + '.' + digits.slice(digits.length - scale);
}

/** Changes the scale without rounding; throws when digits would be lost. */
export function rescale(parts: DecimalParts, scale: number): bigint {
  if (parts.scale === scale) return parts.unscaled;
  if (parts.scale < scale) return parts.unscaled * 10n ** BigInt(scale - parts.scale);
  const divisor = 10n ** BigInt(parts.scale - scale);
  if (parts.unscaled % divisor !== 0n) throw new DataException('BigDecimal has mismatching scale value for given Decimal schema');
  return parts.unscaled / divisor;
}

/** The scale of a Decimal schema (its `scale` parameter). */
export function decimalScale(schema: Schema): number {
  const raw = schema.parameters?.scale;
  if (raw === undefined) throw new DataException('Invalid Decimal schema: scale parameter not found.');
  const scale = Number(raw);
  if (!Number.isInteger(scale)) throw new DataException(`Invalid scale for Decimal logical type: ${raw}`);
  return scale;
}

export function isDecimalSchema(schema: Schema | null | undefined): boolean {
  return !!schema && schema.type === 'bytes' && schema.name === LogicalTypes.Decimal;
}

/** Any accepted decimal value (string, number, bigint) → unscaled value at `scale`. */
export function toUnscaled(value: unknown, scale: number): bigint {
  if (typeof value === 'string') return rescale(parseDecimal(value), scale);
  if (typeof value === 'bigint') return value * 10n ** BigInt(Math.max(scale, 0));
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new DataException(`Invalid decimal value: ${value}`);
    return rescale(parseDecimal(numberToPlain(value)), scale);
  }
  throw new DataException(`Invalid type for Decimal, expected BigDecimal but was ${describeType(value)}`);
}

/** A decimal value in our representation: exact string with the schema's scale. */
export function toDecimalString(value: unknown, scale: number): string {
  return formatDecimal(toUnscaled(value, scale), scale);
}

/** Number → shortest plain decimal string (no exponent). */
export function numberToPlain(n: number): string {
  const s = String(n);
  if (!/e/i.test(s)) return s;
  const p = parseDecimal(s);
  return formatDecimal(p.unscaled, p.scale);
}

/** Big-endian two's complement bytes, as Java's BigInteger.toByteArray. */
export function unscaledToBytes(v: bigint): Buffer {
  const bytes: number[] = [];
  let x = v;
  for (;;) {
    const b = Number(x & 0xffn);
    bytes.push(b);
    x >>= 8n;
    if ((x === 0n && (b & 0x80) === 0) || (x === -1n && (b & 0x80) !== 0)) break;
  }
  return Buffer.from(bytes.reverse());
}

export function bytesToUnscaled(buf: Uint8Array): bigint {
  if (buf.length === 0) return 0n;
  let v = 0n;
  for (const b of buf) v = (v << 8n) | BigInt(b);
  if (buf[0]! & 0x80) v -= 1n << BigInt(buf.length * 8);
  return v;
}

export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Buffer.isBuffer(value)) return 'Buffer';
  if (value instanceof Date) return 'Date';
  if (Array.isArray(value)) return 'Array';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'Object';
  return typeof value;
}
