/**
 * Plugin version requirements as Connect 4.1 reads them (KIP-891: `?version=` on the plugin config
 * endpoint, `*.plugin.version` keys): Maven version specs. `latest` (or nothing) means the newest
 * installed version; a bare version such as `1.2.3` is a hard requirement (`[1.2.3]`); ranges use
 * Maven's brackets: `[1.0,2.0)`, `(,1.0]`, `[1.5,)`, and several sets separated by commas.
 * Versions compare the way Maven orders simple release versions: numeric parts numerically, a
 * qualifier (`1.0-SNAPSHOT`, `1.0-rc1`) before the release it qualifies.
 */

export class InvalidVersionSpecError extends Error {
  override name = 'InvalidVersionSpecificationException';
}

interface Bound { version: string; inclusive: boolean }
interface Restriction { lower: Bound | null; upper: Bound | null }

export interface VersionRange {
  /** the spec as Connect prints it (a bare version enclosed in brackets) */
  readonly text: string;
  contains(version: string): boolean;
}

function parts(v: string): (number | string)[] {
  return v.trim().toLowerCase().split(/[.\-_]/).filter((p) => p !== '').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

/** Negative, zero or positive as `a` sorts before, equal to or after `b`. */
export function compareVersions(a: string, b: string): number {
  const x = parts(a);
  const y = parts(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const p = x[i];
    const q = y[i];
    if (p === q) continue;
    // a missing part is a release: 1.0 == 1.0.0, and 1.0-rc1 < 1.0 < 1.0.1
    if (p === undefined) return typeof q === 'number' ? (q === 0 ? 0 : -1) : 1;
    if (q === undefined) return typeof p === 'number' ? (p === 0 ? 0 : 1) : -1;
    if (typeof p === 'number' && typeof q === 'number') return p - q;
    if (typeof p === 'number') return 1; // a number outranks a qualifier
    if (typeof q === 'number') return -1;
    return p < q ? -1 : 1;
  }
  return 0;
}

function parseRestriction(spec: string, whole: string): Restriction {
  const lowerInclusive = spec.startsWith('[');
  const upperInclusive = spec.endsWith(']');
  const inner = spec.slice(1, -1).trim();
  const comma = inner.indexOf(',');
  if (comma < 0) {
    if (!lowerInclusive || !upperInclusive) throw new InvalidVersionSpecError(`Single version must be surrounded by []: ${whole}`);
    if (inner === '') throw new InvalidVersionSpecError(`Range cannot be empty: ${whole}`);
    return { lower: { version: inner, inclusive: true }, upper: { version: inner, inclusive: true } };
  }
  const lo = inner.slice(0, comma).trim();
  const hi = inner.slice(comma + 1).trim();
  if (hi.includes(',')) throw new InvalidVersionSpecError(`Invalid version range ${spec}, too many commas: ${whole}`);
  const lower = lo === '' ? null : { version: lo, inclusive: lowerInclusive };
  const upper = hi === '' ? null : { version: hi, inclusive: upperInclusive };
  if (lower && upper) {
    const c = compareVersions(lower.version, upper.version);
    if (c > 0) throw new InvalidVersionSpecError(`Range defies version ordering: ${whole}`);
    if (c === 0 && !(lower.inclusive && upper.inclusive)) throw new InvalidVersionSpecError(`Range cannot have identical boundaries: ${whole}`);
  }
  return { lower, upper };
}

/** Parses a requirement; undefined means "the latest version". Throws InvalidVersionSpecError. */
export function parseVersionRequirement(raw: string | undefined | null): VersionRange | undefined {
  if (raw === undefined || raw === null || raw === 'latest') return undefined;
  const spec = raw.trim();
  if (spec === '') throw new InvalidVersionSpecError('Version spec cannot be empty');
  const text = spec.startsWith('[') || spec.startsWith('(') ? spec : `[${spec}]`;
  if (/[[\]()]/.test(spec) && text === `[${spec}]`) throw new InvalidVersionSpecError(`Invalid version spec: ${spec}`);
  const restrictions: Restriction[] = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.search(/[\])]/);
    if (!(rest.startsWith('[') || rest.startsWith('(')) || end < 0) throw new InvalidVersionSpecError(`Unbounded range: ${spec}`);
    restrictions.push(parseRestriction(rest.slice(0, end + 1), spec));
    rest = rest.slice(end + 1).trim();
    if (rest.startsWith(',')) rest = rest.slice(1).trim();
    else if (rest.length > 0) throw new InvalidVersionSpecError(`Only fully-qualified sets allowed in multiple set scenario: ${spec}`);
  }
  const within = (v: string, r: Restriction) => {
    if (r.lower) {
      const c = compareVersions(v, r.lower.version);
      if (c < 0 || (c === 0 && !r.lower.inclusive)) return false;
    }
    if (r.upper) {
      const c = compareVersions(v, r.upper.version);
      if (c > 0 || (c === 0 && !r.upper.inclusive)) return false;
    }
    return true;
  };
  return { text, contains: (v) => restrictions.some((r) => within(v, r)) };
}
