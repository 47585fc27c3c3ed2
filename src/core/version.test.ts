import { describe, expect, it } from 'vitest';
import { matchesVersion, parseVersionFilter, versionKey } from './version.js';

describe('versionKey', () => {
  it('sorts like semver, prereleases below their release', () => {
    const versions = ['1.10.0', '1.2.0', '2.0.0', '2.0.0-rc.1', '1.2.10', '0.9.9'];
    const sorted = [...versions].sort((a, b) => (versionKey(a)! < versionKey(b)! ? -1 : 1));
    expect(sorted).toEqual(['0.9.9', '1.2.0', '1.2.10', '1.10.0', '2.0.0-rc.1', '2.0.0']);
  });
  it('coerces loose versions and refuses non-versions', () => {
    expect(versionKey('v2.4')).toBe(versionKey('2.4.0'));
    expect(versionKey('firmware-blue')).toBeNull();
    expect(versionKey('')).toBeNull();
  });
});

describe('parseVersionFilter', () => {
  it('treats a plain version as exact', () => {
    expect(parseVersionFilter('2.4.1')).toEqual({ kind: 'exact', version: '2.4.1' });
    expect(parseVersionFilter('custom-build-7')).toEqual({ kind: 'exact', version: 'custom-build-7' });
  });
  it('treats a version without all three parts as a range (2.0 = 2.0.x, 2 = 2.x)', () => {
    const cases: [string, string, boolean][] = [
      ['2.0', '2.0.0', true],
      ['2.0', '2.0.7', true],
      ['2.0', '2.0', true],
      ['2.0', '2.1.0', false],
      ['2.0', '1.9.9', false],
      ['v2.0', '2.0.3', true],
      ['2', '2.9.1', true],
      ['2', '3.0.0', false],
      ['2', '1.99.0', false],
    ];
    for (const [filter, version, expected] of cases) {
      const match = parseVersionFilter(filter);
      expect(match?.kind, filter).toBe('range');
      expect(matchesVersion(match!, version), `${version} in ${filter}`).toBe(expected);
    }
    // A full version stays exact: 2.0.0 is not 2.0.0-rc.1, nor "2.0".
    expect(matchesVersion(parseVersionFilter('2.0.0')!, '2.0.0')).toBe(true);
    expect(matchesVersion(parseVersionFilter('2.0.0')!, '2.0')).toBe(false);
  });
  it('matches ranges the way semver does', () => {
    const cases: [string, string, boolean][] = [
      ['<2.0.0', '1.9.9', true],
      ['<2.0.0', '2.0.0', false],
      ['<2.0.0', '2.0.0-rc.1', false],
      ['>=1.2 <2', '1.2.0', true],
      ['>=1.2 <2', '1.1.9', false],
      ['>=1.2 <2', '2.0.0', false],
      ['^1.4', '1.9.0', true],
      ['^1.4', '2.0.0', false],
      ['1.x || >=3', '1.5.0', true],
      ['1.x || >=3', '2.5.0', false],
      ['1.x || >=3', '3.0.0', true],
      ['<=2.4.1', '2.4.1', true],
      ['>2.4.1', '2.4.1', false],
      ['<2.0.0', 'not-a-version', false],
    ];
    for (const [range, version, expected] of cases) {
      const match = parseVersionFilter(range);
      expect(match, range).not.toBeNull();
      expect(matchesVersion(match!, version), `${version} in ${range}`).toBe(expected);
    }
  });
  it('refuses malformed ranges', () => {
    expect(parseVersionFilter('>=banana <')).toBeNull();
    expect(parseVersionFilter('   ')).toBeNull();
  });
});
