/**
 * Connect's org.apache.kafka.connect.data.Values, the two halves that headers need: parseString
 * (text → a value with an inferred schema; SimpleHeaderConverter reads every header with it and
 * InsertHeader its literal) and convertToString (a value → its text; SimpleHeaderConverter writes
 * headers with it).
 *
 * The parsing rules are Connect's, quirks included, so a header reads the same here as in a Java
 * worker:
 * - `true`/`false` → BOOLEAN; `null` → no value;
 * - an integer → the smallest of INT8, INT16, INT32, INT64 that holds it; a number with a fraction
 *   or an exponent → FLOAT32 when it fits a float, else FLOAT64; an integer beyond INT64 → Decimal;
 * - `yyyy-MM-dd` → Date, `HH:mm:ss.SSSZ` → Time, `yyyy-MM-ddTHH:mm:ss.SSSZ` → Timestamp (UTC: a Java
 *   worker uses its JVM's default time zone, UTC in Connect's images; the `Z` is a literal there);
 * - `[...]` → ARRAY and `{k:v,...}` → MAP with the common schema of their elements (numbers widen;
 *   mixed types leave the element schema out); inside them strings are quoted (`"a"`), and an
 *   element that is not valid makes the whole text a STRING;
 * - anything else → STRING, the text unchanged.
 * Like Connect, a text that starts with a number reads as that number even when more follows
 * (`1,2` → INT8 1, `12:30` → INT8 12): only the first token is looked at.
 */
import { DataException, LogicalTypes, Struct, type Schema, type SchemaAndValue } from '../api';
import { formatDecimal } from './decimal';
import { MILLIS_PER_DAY, Schemas, arraySchema, dateSchema, decimalSchema, mapSchema, timeSchema, timestampSchema } from './schemas';

const DELIMITERS = new Set([':', ',', '{', '}', '[', ']', '"']);

/** Java's String.trim(): strips characters up to U+0020 only. */
function javaTrim(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && s.charCodeAt(start) <= 0x20) start++;
  while (end > start && s.charCodeAt(end - 1) <= 0x20) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}
const isBlank = (s: string) => javaTrim(s).length === 0;

/**
 * Splits a text into tokens: each unescaped delimiter is a token of its own, the text between
 * delimiters another. A backslash escapes the character after it (and stays in the token).
 */
class Tokenizer {
  private index = 0;
  /** a token read ahead by isNext() and not consumed yet */
  private peeked: string | null = null;
  private last: string | null = null;
  constructor(readonly original: string) {}

  position(): number { return this.index; }
  mark(): number { return this.index - (this.peeked !== null ? this.peeked.length : 0); }
  rewindTo(position: number): void {
    this.index = position;
    this.peeked = null;
    this.last = null;
  }
  hasNext(): boolean { return this.peeked !== null || this.index < this.original.length; }
  previous(): string | null { return this.last; }

  next(): string {
    if (this.peeked !== null) {
      this.last = this.peeked;
      this.peeked = null;
    } else {
      this.last = this.consume();
    }
    return this.last;
  }

  /** The text of the next n tokens, or null (nothing consumed) when fewer remain. */
  nextN(n: number): string | null {
    const start = this.mark();
    for (let i = 0; i < n; i++) {
      if (!this.hasNext()) {
        this.rewindTo(start);
        return null;
      }
      this.next();
    }
    return this.original.slice(start, this.position());
  }

  /** Consumes the next token if, blanks skipped and trimmed, it is `expected`. */
  canConsume(expected: string): boolean {
    if (this.peeked === null) {
      if (!this.hasNext()) return false;
      this.peeked = this.consume();
    }
    while (isBlank(this.peeked) && this.index < this.original.length) this.peeked = this.consume();
    if (javaTrim(this.peeked) === expected) {
      this.peeked = null;
      return true;
    }
    return false;
  }

  private consume(): string {
    const s = this.original;
    const start = this.index;
    let escaped = false;
    while (this.index < s.length) {
      const c = s[this.index]!;
      if (c === '\\') {
        escaped = !escaped;
      } else if (DELIMITERS.has(c)) {
        if (!escaped) {
          if (start < this.index) return s.slice(start, this.index);
          this.index++;
          return c;
        }
        escaped = false;
      } else {
        escaped = false;
      }
      this.index++;
    }
    return s.slice(start, this.index);
  }
}

const TRUE: SchemaAndValue = { schema: Schemas.BOOLEAN, value: true };
const FALSE: SchemaAndValue = { schema: Schemas.BOOLEAN, value: false };
const NUMERIC_RANK: Partial<Record<Schema['type'], number>> = { int8: 1, int16: 2, int32: 3, int64: 4, float32: 5, float64: 6 };
const TIME_LENGTH = 'HH:mm:ss.SSSZ'.length;
const DATE_LENGTH = 'yyyy-MM-dd'.length;
const TIMESTAMP_LENGTH = 'yyyy-MM-ddTHH:mm:ss.SSSZ'.length;
/** beyond this exponent Connect would build an enormous Decimal; such a text stays a STRING here */
const MAX_EXPONENT = 1000;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

class ParseFailure extends DataException {}

/** Connect's Values.parseString: the schema and value a text stands for. */
export function parseString(text: string | null): SchemaAndValue {
  if (text === null) return { schema: null, value: null };
  if (text === '') return { schema: Schemas.STRING, value: '' };
  return new ValueParser(new Tokenizer(text)).parse(false) ?? { schema: null, value: null };
}

class ValueParser {
  constructor(private readonly t: Tokenizer) {}

  /** null stands for Connect's null SchemaAndValue (a `null` literal, or nothing left) */
  parse(embedded: boolean): SchemaAndValue | null {
    const t = this.t;
    if (!t.hasNext()) return null;
    if (embedded && t.canConsume('"')) return this.quotedString();
    if (this.singleTokenLiteral(embedded, 'null')) return null;
    if (this.singleTokenLiteral(embedded, 'true')) return TRUE;
    if (this.singleTokenLiteral(embedded, 'false')) return FALSE;
    const start = t.mark();
    try {
      if (t.canConsume('[')) return this.array();
      if (t.canConsume('{')) return this.map();
    } catch (e) {
      if (!(e instanceof DataException)) throw e;
      t.rewindTo(start); // not a valid array or map: read as a plain token
    }
    const token = t.next();
    if (isBlank(token)) return { schema: Schemas.STRING, value: token };
    return this.token(embedded, javaTrim(token));
  }

  /** A literal counts at the top level only when it is all there is ("true}" is a string). */
  private singleTokenLiteral(embedded: boolean, literal: string): boolean {
    const start = this.t.mark();
    if (this.t.canConsume(literal) && (embedded || !this.t.hasNext())) return true;
    this.t.rewindTo(start);
    return false;
  }

  private token(embedded: boolean, token: string): SchemaAndValue {
    const first = token[0]!;
    const digit = first >= '0' && first <= '9';
    if (digit) {
      // a time or timestamp spans five tokens, as its colons are delimiters
      const position = this.t.mark();
      const rest = this.t.nextN(4);
      const temporal = (rest !== null ? parseTemporal(token + rest) : null);
      if (temporal) return temporal;
      this.t.rewindTo(position);
      const single = parseTemporal(token);
      if (single) return single;
    }
    if (digit || first === '+' || first === '-') {
      const n = parseNumber(token);
      if (n) return n;
    }
    if (embedded) throw new ParseFailure('Failed to parse embedded value');
    return { schema: Schemas.STRING, value: this.t.original };
  }

  private quotedString(): SchemaAndValue {
    let content = '';
    while (this.t.hasNext()) {
      if (this.t.canConsume('"')) break;
      content += this.t.next();
    }
    // quoted text may still be a date, time or timestamp; anything else stays a string
    return parseTemporal(content) ?? { schema: Schemas.STRING, value: content };
  }

  private array(): SchemaAndValue {
    const t = this.t;
    const values: unknown[] = [];
    const common = new CommonSchema();
    while (t.hasNext()) {
      if (t.canConsume(']')) {
        const elem = common.schema();
        if (!elem) return { schema: { type: 'array', optional: false }, value: values };
        return { schema: arraySchema(elem), value: values.map((v) => align(elem, v)) };
      }
      if (t.canConsume(',')) throw new ParseFailure(`Unable to parse an empty array element: ${t.original}`);
      const element = this.parse(true);
      common.merge(element);
      values.push(element ? element.value : null);
      const position = t.mark();
      if (t.canConsume(']')) t.rewindTo(position);
      else if (!t.canConsume(',')) throw new ParseFailure("Array elements missing ',' delimiter");
    }
    if (t.previous() === ',') throw new ParseFailure(`Array is missing element after ',': ${t.original}`);
    throw new ParseFailure(`Array is missing terminating ']': ${t.original}`);
  }

  private map(): SchemaAndValue {
    const t = this.t;
    const entries: [unknown, unknown][] = [];
    const keys = new CommonSchema();
    const values = new CommonSchema();
    while (t.hasNext()) {
      if (t.canConsume('}')) {
        const ks = keys.schema();
        const vs = values.schema();
        if (!ks) return { schema: { type: 'map', optional: false }, value: mapValue(null, entries) };
        const aligned = entries.map(([k, v]) => [align(ks, k), vs ? align(vs, v) : v] as [unknown, unknown]);
        return { schema: vs ? mapSchema(ks, vs) : { type: 'map', optional: false, keySchema: ks }, value: mapValue(ks, aligned) };
      }
      if (t.canConsume(',')) throw new ParseFailure(`Unable to parse a map entry with no key or value: ${t.original}`);
      const key = this.parse(true);
      if (key === null || key.value === null) throw new ParseFailure(`Map entry may not have a null key: ${t.original}`);
      if (!t.canConsume(':')) throw new ParseFailure(`Map entry is missing ':' at ${t.position()} in ${t.original}`);
      const value = this.parse(true);
      entries.push([key.value, value ? value.value : null]);
      t.canConsume(',');
      keys.merge(key);
      values.merge(value);
    }
    if (t.previous() === ',') throw new ParseFailure(`Map is missing element after ',': ${t.original}`);
    throw new ParseFailure(`Map is missing terminating '}': ${t.original}`);
  }
}

/** Maps with string keys are plain objects in this worker (as JsonConverter gives them); others are Maps. */
function mapValue(keySchema: Schema | null, entries: [unknown, unknown][]): unknown {
  if (keySchema?.type === 'string') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) out[k as string] = v;
    return out;
  }
  return new Map(entries);
}

/**
 * The schema all elements share, as Connect infers it: numbers widen to the wider type, equal types
 * stay, anything else (or a logical type mixed with others) leaves no common schema for good.
 */
class CommonSchema {
  private common: Schema | null = null;
  private compatible = true;
  merge(latest: SchemaAndValue | null): void {
    if (!latest || !latest.schema || !this.compatible) return;
    if (this.common === null) {
      this.common = latest.schema;
      return;
    }
    this.common = mergeSchemas(this.common, latest.schema);
    this.compatible = this.common !== null;
  }
  schema(): Schema | null { return this.common; }
}

function mergeSchemas(previous: Schema, next: Schema): Schema | null {
  if (previous.type !== next.type) {
    const a = NUMERIC_RANK[previous.type];
    const b = NUMERIC_RANK[next.type];
    if (a === undefined || b === undefined) return null;
    return b > a ? next : previous;
  }
  // same type (Connect compares no further, so a Date and a Time share INT32's first schema)
  return previous.optional === next.optional ? previous : null;
}

/** An element converted to the common schema (Connect's alignment): a null there fails, as its schemas are required. */
function align(schema: Schema, value: unknown): unknown {
  if (value === null || value === undefined) {
    if (schema.optional) return null;
    throw new ParseFailure('Unable to convert a null value to a schema that requires a value');
  }
  if (schema.name) return value;
  switch (schema.type) {
    case 'float32':
    case 'float64': return Number(value);
    case 'int64': return typeof value === 'bigint' && value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
    default: return value;
  }
}

const NUMBER_RE = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** Java's BigDecimal grammar, typed as Connect's parseString types numbers; undefined when not a number. */
function parseNumber(token: string): SchemaAndValue | undefined {
  const m = NUMBER_RE.exec(token);
  if (!m) return undefined;
  const [, sign, intPart = '', fracPart = '', exponent] = m;
  if (intPart === '' && fracPart === '') return undefined;
  const exp = exponent === undefined ? 0 : Number(exponent);
  if (Math.abs(exp) > MAX_EXPONENT) return undefined;
  const digits = (intPart + fracPart).replace(/^0+(?=\d)/, '');
  const scale = fracPart.length - exp;
  let unscaled = BigInt(digits);
  if (sign === '-') unscaled = -unscaled;
  // exactly an integer (1.0 and 1e3 are): the smallest integer type, while it fits a long
  let integral: bigint | undefined;
  if (scale <= 0) integral = unscaled * 10n ** BigInt(-scale);
  else if (unscaled % 10n ** BigInt(scale) === 0n) integral = unscaled / 10n ** BigInt(scale);
  if (integral !== undefined && integral >= INT64_MIN && integral <= INT64_MAX) {
    const n = Number(integral);
    if (n >= -128 && n <= 127) return { schema: Schemas.INT8, value: n };
    if (n >= -32768 && n <= 32767) return { schema: Schemas.INT16, value: n };
    if (n >= -2147483648 && n <= 2147483647) return { schema: Schemas.INT32, value: n };
    return { schema: Schemas.INT64, value: Number.isSafeInteger(n) ? n : integral };
  }
  const d = Number(token);
  // FLOAT32 when a float holds it (the value stays the double, as float32 values do in this worker)
  if (scale !== 0 && Number.isFinite(Math.fround(d))) return { schema: Schemas.FLOAT32, value: d };
  if (scale !== 0 && Number.isFinite(d)) return { schema: Schemas.FLOAT64, value: d };
  return { schema: decimalSchema(scale), value: formatDecimal(unscaled, scale) };
}

const DATE_RE = /^(\d+)-(\d+)-(\d+)/;
const TIME_RE = /^(\d+):(\d+):(\d+)\.(\d+)Z/;
const TIMESTAMP_RE = /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)\.(\d+)Z/;

/** UTC millis of the fields, rolling over out-of-range fields as Java's lenient SimpleDateFormat does. */
function utcMillis(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0): number {
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, ms);
  return date.getTime();
}

/** Date, Time or Timestamp, chosen by the text's length as Connect does (escaped colons allowed). */
function parseTemporal(text: string): SchemaAndValue | null {
  const token = text.split('\\:').join(':');
  const n = (s: string | undefined) => Number(s);
  if (token.length === TIME_LENGTH) {
    const m = TIME_RE.exec(token);
    if (m) return { schema: timeSchema(), value: new Date(utcMillis(1970, 1, 1, n(m[1]), n(m[2]), n(m[3]), n(m[4]))) };
  } else if (token.length === TIMESTAMP_LENGTH) {
    const m = TIMESTAMP_RE.exec(token);
    if (m) return { schema: timestampSchema(), value: new Date(utcMillis(n(m[1]), n(m[2]), n(m[3]), n(m[4]), n(m[5]), n(m[6]), n(m[7]))) };
  } else if (token.length === DATE_LENGTH) {
    const m = DATE_RE.exec(token);
    if (m) return { schema: dateSchema(), value: new Date(utcMillis(n(m[1]), n(m[2]), n(m[3]))) };
  }
  return null;
}

// ---------------- writing ----------------

/** Connect's Values.convertToString: the text SimpleHeaderConverter writes for a value. */
export function convertToString(schema: Schema | null, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const parts: string[] = [];
  append(parts, schema, value, false);
  return parts.join('');
}

function append(out: string[], schema: Schema | null | undefined, value: unknown, embedded: boolean): void {
  if (value === null || value === undefined) {
    out.push('null');
  } else if (typeof value === 'number') {
    out.push(numberText(schema, value));
  } else if (typeof value === 'bigint' || typeof value === 'boolean') {
    out.push(String(value));
  } else if (typeof value === 'string') {
    // a Decimal is held as its exact decimal text; Java prints a BigDecimal unquoted, as a number
    if (schema?.name === LogicalTypes.Decimal) out.push(value);
    else out.push(embedded ? `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : value);
  } else if (value instanceof Uint8Array) {
    const b64 = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
    out.push(embedded ? `"${b64}"` : b64);
  } else if (Array.isArray(value)) {
    out.push('[');
    value.forEach((v, i) => {
      if (i > 0) out.push(',');
      append(out, schema?.valueSchema, v, true);
    });
    out.push(']');
  } else if (value instanceof Struct) {
    out.push('{');
    (value.schema.fields ?? []).forEach((f, i) => {
      if (i > 0) out.push(',');
      append(out, null, f.name, true);
      out.push(':');
      append(out, f.schema, value.get(f.name), true);
    });
    out.push('}');
  } else if (value instanceof Date) {
    out.push(dateText(value));
  } else if (value instanceof Map || typeof value === 'object') {
    const entries = value instanceof Map ? [...value.entries()] : Object.entries(value as Record<string, unknown>);
    out.push('{');
    entries.forEach(([k, v], i) => {
      if (i > 0) out.push(',');
      append(out, schema?.keySchema, k, true);
      out.push(':');
      append(out, schema?.valueSchema, v, true);
    });
    out.push('}');
  } else {
    throw new DataException(`Failed to serialize unexpected value type ${typeof value}: ${String(value)}`);
  }
}

/** As Connect's dateFormatFor: a time of day before 1970-01-02, a date at midnight, else a timestamp (UTC). */
function dateText(d: Date): string {
  const ms = d.getTime();
  const iso = d.toISOString(); // yyyy-MM-ddTHH:mm:ss.SSSZ
  if (ms < MILLIS_PER_DAY) return iso.slice(11);
  if (ms % MILLIS_PER_DAY === 0) return iso.slice(0, 10);
  return iso;
}

/** A number as Java prints the boxed type its schema stands for (Float.toString, Double.toString, or an integer). */
function numberText(schema: Schema | null | undefined, v: number): string {
  const type = schema?.type;
  if (type === 'float32') return javaFloatingText(v, true);
  if (type === 'float64') return javaFloatingText(v, false);
  // without a schema, Java would hold a whole number as a Long and anything else as a Double
  if (Number.isInteger(v) && Math.abs(v) < 1e21 && !Object.is(v, -0)) return String(v);
  return javaFloatingText(v, false);
}

/** Java's Float/Double.toString: shortest digits, ".0" on whole numbers, E notation outside [1e-3, 1e7). */
export function javaFloatingText(v: number, float32: boolean): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  let exp = v.toExponential(); // shortest round-trip digits for a double
  if (float32) {
    const f = Math.fround(v);
    for (let p = 1; p <= 9; p++) {
      const candidate = f.toExponential(p - 1);
      if (Math.fround(Number(candidate)) === f) { exp = candidate; break; }
    }
  }
  const [mantissa, e] = exp.split('e') as [string, string];
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  const exponent = Number(e);
  const abs = Math.abs(v);
  let text: string;
  if (abs >= 1e-3 && abs < 1e7) {
    if (exponent >= 0) {
      const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
      const frac = digits.slice(exponent + 1);
      text = `${whole}.${frac === '' ? '0' : frac}`;
    } else {
      text = `0.${'0'.repeat(-exponent - 1)}${digits}`;
    }
  } else {
    text = `${digits[0]}.${digits.length > 1 ? digits.slice(1) : '0'}E${exponent}`;
  }
  return negative ? `-${text}` : text;
}
