import { describe, expect, it } from 'vitest';
import { normalizeDeviceType, parseDeviceInput, validateDevice } from './device.js';
import { parseDeviceFilter, matchesDeviceFilter } from './device-filter.js';
import { ValidationError } from './errors.js';

describe('device validation', () => {
  it('defaults what is optional', () => {
    const device = validateDevice({ id: 'pos-1' });
    expect(device).toMatchObject({ id: 'pos-1', name: 'pos-1', mode: 'pull', status: 'unknown', timezone: 'UTC', tags: {}, metadata: {} });
  });
  it('lists every problem with a field path', () => {
    const { errors } = parseDeviceInput({ id: '../etc/passwd', mode: 'ftp', timezone: 'Mars/Olympus', tags: { region: { x: 1 } }, lastSeen: 'yesterday', tag: 'typo' });
    const paths = errors.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['id', 'mode', 'timezone', 'tags.region', 'lastSeen', 'tag']));
  });
  it('requires an address that fits the push mode', () => {
    expect(parseDeviceInput({ id: 'a', mode: 'http' }).errors[0]).toMatchObject({ path: 'address' });
    expect(parseDeviceInput({ id: 'a', mode: 'http', address: 'ssh://x@y/z' }).errors[0]).toMatchObject({ path: 'address' });
    expect(parseDeviceInput({ id: 'a', mode: 'ssh', address: 'ssh://host/dir' }).errors[0]?.message).toMatch(/user/);
    expect(parseDeviceInput({ id: 'a', mode: 'ssh', address: 'ssh://pos@10.0.0.5:2222/opt/updates' }).errors).toEqual([]);
    expect(parseDeviceInput({ id: 'a', mode: 'http', address: 'https://10.0.0.5:8443/update' }).errors).toEqual([]);
  });
  it('throws a ValidationError that names the fields', () => {
    expect(() => validateDevice({ id: '' })).toThrow(ValidationError);
    expect(() => validateDevice({ id: 'ok', status: 'sleeping' })).toThrow(/status must be one of online, offline, unknown/);
  });
});

describe('device type', () => {
  it('is optional, kept when valid and refused with its rule otherwise', () => {
    expect(validateDevice({ id: 'd1' }).deviceType).toBeNull();
    expect(validateDevice({ id: 'd1', deviceType: 'raspberrypi4-64' }).deviceType).toBe('raspberrypi4-64');
    expect(validateDevice({ id: 'd1', deviceType: 'vendor:board/rev+2' }).deviceType).toBe('vendor:board/rev+2');
    expect(() => validateDevice({ id: 'd1', deviceType: 'x'.repeat(65) })).toThrow(/deviceType must be 1-64/);
    expect(() => validateDevice({ id: 'd1', deviceType: 'rpi4;rm -rf' })).toThrow(/deviceType must be 1-64/);
    expect(() => validateDevice({ id: 'd1', deviceType: 42 })).toThrow(/deviceType/);
  });
  it('normalizes what protocols report, ignoring what is not a device type', () => {
    expect(normalizeDeviceType(' rpi4 ')).toBe('rpi4');
    expect(normalizeDeviceType('bad type')).toBeNull();
    expect(normalizeDeviceType(['rpi4'])).toBeNull();
  });
});

describe('device filter', () => {
  const device = validateDevice({ id: 'pos-nyc-1', name: 'Store NYC', status: 'online', version: '1.9.0', location: 'New York', tags: { region: 'east', tier: 'gold' }, lastSeen: '2026-01-01T00:00:00Z' });
  const full = { ...device, tenant: 'DEFAULT', deviceType: null, decommissionedAt: null, createdAt: '', updatedAt: '' };
  it('filters by device type, exact, comma-separated for several; a device without one matches none', () => {
    const typed = { ...full, deviceType: 'rpi4' };
    expect(matchesDeviceFilter(typed, parseDeviceFilter({ deviceType: 'rpi3,rpi4' }))).toBe(true);
    expect(matchesDeviceFilter(typed, parseDeviceFilter({ deviceType: 'rpi3' }))).toBe(false);
    expect(matchesDeviceFilter(full, parseDeviceFilter({ deviceType: 'rpi4' }))).toBe(false);
    expect(() => parseDeviceFilter({ deviceType: 'rpi 4' })).toThrow(/deviceType must be a device type/);
  });
  it('combines keys with AND', () => {
    expect(matchesDeviceFilter(full, parseDeviceFilter({ status: 'online', tag: ['region:east', 'tier:gold'], version: '<2.0.0' }))).toBe(true);
    expect(matchesDeviceFilter(full, parseDeviceFilter({ status: 'online', tag: 'region:west' }))).toBe(false);
    expect(matchesDeviceFilter(full, parseDeviceFilter({ q: 'nyc', lastSeenBefore: '2026-02-01T00:00:00Z' }))).toBe(true);
    expect(matchesDeviceFilter(full, parseDeviceFilter({ q: 'store ny', lastSeenAfter: '2026-02-01T00:00:00Z' }))).toBe(false);
    expect(matchesDeviceFilter(full, parseDeviceFilter({ status: 'offline,online', location: 'New York' }))).toBe(true);
  });
  it('reads tag filters as key=value or key:value; the first separator ends the key', () => {
    expect(parseDeviceFilter({ tag: ['region=east', 'tier:gold'] }).tags).toEqual([{ key: 'region', value: 'east' }, { key: 'tier', value: 'gold' }]);
    expect(parseDeviceFilter({ tag: 'url=http://x:1/a=b' }).tags).toEqual([{ key: 'url', value: 'http://x:1/a=b' }]);
    expect(parseDeviceFilter({ tag: 'note:a=b' }).tags).toEqual([{ key: 'note', value: 'a=b' }]);
    expect(matchesDeviceFilter(full, parseDeviceFilter({ tag: ['region=east', 'tier=gold'] }))).toBe(true);
    expect(matchesDeviceFilter(full, parseDeviceFilter({ tag: 'region=west' }))).toBe(false);
    expect(() => parseDeviceFilter({ tag: '=east' })).toThrow(/tag must be key=value/);
  });
  it('refuses filters that cannot mean anything', () => {
    expect(() => parseDeviceFilter({ status: 'asleep' })).toThrow(/status must be one of/);
    expect(() => parseDeviceFilter({ tag: 'region' })).toThrow(/tag must be key=value or key:value/);
    expect(() => parseDeviceFilter({ version: '>=' })).toThrow(/version/);
    expect(() => parseDeviceFilter({ lastSeenBefore: 'soon' })).toThrow(/lastSeenBefore/);
    expect(() => parseDeviceFilter({ colour: 'red' })).toThrow(/colour is not a filter/);
  });
});
