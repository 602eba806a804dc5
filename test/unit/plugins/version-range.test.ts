import { compareVersions, InvalidVersionSpecError, parseVersionRequirement } from '../../../src/plugins/version-range';

describe('plugin version requirements (Maven specs, as Connect 4.1 reads ?version=)', () => {
  it('orders versions numerically, qualifiers before their release', () => {
    expect(compareVersions('1.10.0', '1.9.9')).toBeGreaterThan(0);
    expect(compareVersions('1.0', '1.0.0')).toBe(0);
    expect(compareVersions('1.0-SNAPSHOT', '1.0')).toBeLessThan(0);
    expect(compareVersions('1.0-rc1', '1.0-rc2')).toBeLessThan(0);
    expect(compareVersions('1.0.1', '1.0-rc1')).toBeGreaterThan(0);
  });

  it('latest (or no parameter) means no requirement', () => {
    expect(parseVersionRequirement(undefined)).toBeUndefined();
    expect(parseVersionRequirement('latest')).toBeUndefined();
  });

  it('a bare version is a hard requirement, printed in brackets', () => {
    const r = parseVersionRequirement(' 1.2.3 ')!;
    expect(r.text).toBe('[1.2.3]');
    expect(r.contains('1.2.3')).toBe(true);
    expect(r.contains('1.2.4')).toBe(false);
    expect(r.contains('1.2.2')).toBe(false);
  });

  it.each([
    ['[1.0,2.0)', ['1.0', '1.5.3'], ['0.9', '2.0', '2.1']],
    ['(1.0,2.0]', ['1.0.1', '2.0'], ['1.0', '2.0.1']],
    ['(,1.0]', ['0.1', '1.0'], ['1.0.1']],
    ['[1.5,)', ['1.5', '9.0'], ['1.4.9']],
    ['(,1.0],[1.2,)', ['0.5', '1.2', '3'], ['1.1']],
    ['[1.2.3]', ['1.2.3'], ['1.2.4']],
  ])('%s', (spec, inside, outside) => {
    const r = parseVersionRequirement(spec)!;
    for (const v of inside) expect(r.contains(v)).toBe(true);
    for (const v of outside) expect(r.contains(v)).toBe(false);
  });

  it.each(['[2.0,1.0]', '(1.0)', '[1.0,1.0)', '[1.0', '1.0]', '[1.0][2.0]', ''])('rejects %j', (spec) => {
    expect(() => parseVersionRequirement(spec)).toThrow(InvalidVersionSpecError);
  });
});
