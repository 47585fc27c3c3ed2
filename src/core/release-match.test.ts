import { describe, expect, it } from 'vitest';
import { declaredMatch, releaseArtifacts, releaseProtocolOf, validateReleaseInput, type Release } from './release.js';
import { matchFits, matchRelease, summarizeReleaseMatch } from './release-match.js';

const swu = { metadata: { format: 'swu', swu: { hardwareCompatibility: ['rev-a', 'rev-b'] } } };
const mender = { metadata: { format: 'mender', mender: { deviceTypes: ['rpi4'] } } };
const bin = { metadata: {} };
const artifacts = new Map<string, { metadata: Record<string, unknown> }>([['swu-1', swu], ['mender-1', mender], ['bin-1', bin]]);

const release = (input: unknown): Pick<Release, 'name' | 'version' | 'artifacts'> => {
  const parsed = validateReleaseInput(input);
  return { name: parsed.name, version: parsed.version, artifacts: releaseArtifacts(parsed, artifacts) };
};
const pos = release({ name: 'pos', version: '2.4.1', artifacts: [{ artifactId: 'swu-1' }, { artifactId: 'mender-1' }, { artifactId: 'bin-1' }] });

describe('release matches', () => {
  it('default to what the artifact declares', () => {
    expect(declaredMatch(swu)).toEqual({ protocol: ['hawkbit'], deviceType: '{rev-a,rev-b}' });
    expect(declaredMatch(mender)).toEqual({ protocol: ['mender'], deviceType: 'rpi4' });
    expect(declaredMatch(bin)).toEqual({ protocol: ['agent', 'http', 'ssh'], deviceType: null });
    // A declared type that could be read as a glob is not turned into one.
    expect(declaredMatch({ metadata: { format: 'mender', mender: { deviceTypes: ['a*'] } } })).toEqual({ protocol: ['mender'], deviceType: null });
  });

  it('take the operator override over the declaration, field by field', () => {
    const r = release({ name: 'pos', version: '1', artifacts: [{ artifactId: 'mender-1', component: 'os', match: { deviceType: 'rpi*' } }, { artifactId: 'bin-1', match: { protocol: 'http', deviceType: null } }] });
    expect(r.artifacts).toEqual([
      { artifactId: 'mender-1', component: 'os', match: { protocol: ['mender'], deviceType: 'rpi*' }, position: 0 },
      { artifactId: 'bin-1', component: 'main', match: { protocol: ['http'], deviceType: null }, position: 1 },
    ]);
  });

  it('give each device the first fitting artifact, or skip it with the reason', () => {
    expect(matchRelease(pos, { protocol: 'hawkbit', deviceType: 'rev-b' })).toMatchObject({ kind: 'deliver', artifacts: [{ artifactId: 'swu-1' }] });
    expect(matchRelease(pos, { protocol: 'mender', deviceType: 'rpi4' })).toMatchObject({ kind: 'deliver', artifacts: [{ artifactId: 'mender-1' }] });
    expect(matchRelease(pos, { protocol: 'http', deviceType: null })).toMatchObject({ kind: 'deliver', artifacts: [{ artifactId: 'bin-1' }] });
    expect(matchRelease(pos, { protocol: 'hawkbit', deviceType: 'rpi3' })).toEqual({ kind: 'skip', reason: 'no artifact of release pos 2.4.1 for device type rpi3 over hawkBit' });
    expect(matchRelease(pos, { protocol: 'mender', deviceType: null })).toEqual({ kind: 'skip', reason: 'no artifact of release pos 2.4.1 for a device of unknown type over Mender' });
  });

  it('give the agent and hawkBit every component that fits, in release order; skip Mender and push devices that several fit', () => {
    const twoParts = release({ name: 'kiosk', version: '3', artifacts: [{ artifactId: 'bin-1', component: 'os', match: { protocol: null } }, { artifactId: 'swu-1', component: 'app', match: { protocol: null, deviceType: null } }] });
    for (const protocol of ['agent', 'hawkbit'] as const) {
      expect(matchRelease(twoParts, { protocol, deviceType: 'x' })).toMatchObject({ kind: 'deliver', artifacts: [{ artifactId: 'bin-1', component: 'os' }, { artifactId: 'swu-1', component: 'app' }] });
    }
    for (const [protocol, label] of [['mender', 'Mender'], ['http', 'HTTP push'], ['ssh', 'SSH push']] as const) {
      expect(matchRelease(twoParts, { protocol, deviceType: 'x' })).toEqual({
        kind: 'skip',
        reason: `release kiosk 3 has 2 components for device type x over ${label} (os, app); delivering several components to one device over ${label} is not supported`,
      });
    }
    expect(summarizeReleaseMatch(twoParts, [{ protocol: 'agent', deviceType: 'x' }, { protocol: 'mender', deviceType: 'x' }])).toMatchObject({ total: 2, byArtifact: { 'bin-1': 1, 'swu-1': 1 }, skipped: [{ devices: 1 }] });
  });

  it('match globs; a device of unknown type fits only a match without a device type', () => {
    expect(matchFits({ protocol: null, deviceType: 'rpi*' }, { protocol: 'agent', deviceType: 'rpi3' })).toBe(true);
    expect(matchFits({ protocol: null, deviceType: '{imx8,rpi4}' }, { protocol: 'agent', deviceType: 'rpi3' })).toBe(false);
    expect(matchFits({ protocol: null, deviceType: 'rpi*' }, { protocol: 'agent', deviceType: null })).toBe(false);
    expect(matchFits({ protocol: ['ssh'], deviceType: null }, { protocol: 'http', deviceType: null })).toBe(false);
  });

  it('summarize a fleet as the dry run shows it: devices per artifact, skipped by reason', () => {
    const fleet = [
      { protocol: 'hawkbit' as const, deviceType: 'rev-a' },
      { protocol: 'hawkbit' as const, deviceType: 'rev-b' },
      { protocol: 'mender' as const, deviceType: 'rpi4' },
      { protocol: 'ssh' as const, deviceType: null },
      { protocol: 'hawkbit' as const, deviceType: 'rpi3' },
      { protocol: 'hawkbit' as const, deviceType: 'rpi3' },
    ];
    expect(summarizeReleaseMatch(pos, fleet)).toEqual({ total: 6, byArtifact: { 'swu-1': 2, 'mender-1': 1, 'bin-1': 1 }, skipped: [{ reason: 'no artifact of release pos 2.4.1 for device type rpi3 over hawkBit', devices: 2 }] });
  });

  it('refuses bad input, naming each field', () => {
    const bad = () => validateReleaseInput({ name: 'pos', version: '1', artifacts: [{ artifactId: 'a', component: 'OS!', match: { protocol: 'ftp', deviceType: 'a b', extra: 1 } }], more: 1 });
    expect(bad).toThrow(/component must be/);
    expect(bad).toThrow(/protocol must be one of agent, hawkbit, mender, http, ssh/);
    expect(bad).toThrow(/deviceType must be a glob/);
    expect(bad).toThrow(/match.extra is not a match field/);
    expect(bad).toThrow(/more is not a release field/);
    expect(() => validateReleaseInput({ name: 'pos', version: '1', artifacts: [] })).toThrow(/at least one artifact/);
    expect(() => validateReleaseInput({ name: 'pos', version: '1', artifacts: Array.from({ length: 33 }, () => ({ artifactId: 'a' })) })).toThrow(/at most 32/);
    expect(() => validateReleaseInput({ name: '../x', version: '1', artifacts: [{ artifactId: 'a' }] })).toThrow(/name/);
    expect(() => validateReleaseInput({ name: 'x', version: '1', artifacts: [{ artifactId: 'a', match: { deviceType: '[' } }] })).toThrow(/deviceType/);
  });

  it('reads the protocol from the device mode and the protocol it speaks', () => {
    expect(releaseProtocolOf({ mode: 'http' })).toBe('http');
    expect(releaseProtocolOf({ mode: 'ssh' })).toBe('ssh');
    expect(releaseProtocolOf({ mode: 'pull', protocol: 'hawkbit' })).toBe('hawkbit');
    expect(releaseProtocolOf({ mode: 'pull', protocol: 'mender' })).toBe('mender');
    expect(releaseProtocolOf({ mode: 'pull', protocol: 'native' })).toBe('agent');
  });
});
