// Groups and bulk requests as pure rules: what a group and a change of it may hold, the group
// filter key, a dynamic group matched in memory, and how a bulk request becomes a selection that
// never leaves its tenant.
import { describe, expect, it } from 'vitest';
import { matchesDeviceFilter, parseDeviceFilter } from './device-filter.js';
import { validateBulkRequest } from './bulk.js';
import { validateGroupCreate, validateGroupPatch, type Group } from './group.js';
import { ValidationError } from './errors.js';
import type { Device } from './device.js';

const paths = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ValidationError) return error.details.map((d) => d.path ?? '');
    throw error;
  }
  return [];
};

const group = (kind: 'static' | 'dynamic'): Group => ({ id: 'grp_000000000000000000000001', tenant: 'DEFAULT', name: 'g', kind, filter: kind === 'dynamic' ? {} : null, createdAt: '', updatedAt: '' });

describe('groups', () => {
  it('takes a static group with devices and a dynamic one with a filter, and refuses the mixtures', () => {
    expect(validateGroupCreate({ name: 'pinned', kind: 'static', devices: ['a', 'b', 'a'] })).toEqual({ name: 'pinned', kind: 'static', tenant: 'DEFAULT', filter: null, devices: ['a', 'b'] });
    expect(validateGroupCreate({ name: 'beta ring', kind: 'dynamic', tenant: 't2', filter: { tag: 'ring=beta' } })).toMatchObject({ kind: 'dynamic', tenant: 't2', filter: { tag: 'ring=beta' }, devices: [] });
    expect(paths(() => validateGroupCreate({ name: 'x', kind: 'dynamic' }))).toEqual(['filter']);
    expect(paths(() => validateGroupCreate({ name: 'x', kind: 'static', filter: {} }))).toEqual(['filter']);
    expect(paths(() => validateGroupCreate({ name: 'x', kind: 'dynamic', filter: { group: 'y', tenant: 'a', status: 'sideways' } }))).toEqual(['filter.group', 'filter.tenant', 'filter.status']);
    expect(paths(() => validateGroupCreate({ name: 'grp_000000000000000000000001', kind: 'static' }))).toEqual(['name']);
    expect(paths(() => validateGroupCreate({ name: '', kind: 'both', extra: 1 }))).toEqual(['extra', 'name', 'kind']);
    expect(paths(() => validateGroupCreate({ name: 'x', kind: 'static', devices: Array.from({ length: 10_001 }, (_, i) => `d${i}`) }))).toEqual(['devices']);
  });

  it('changes a static group by devices and a dynamic one by filter, not the other way round', () => {
    expect(validateGroupPatch({ add: ['a'], remove: ['b'] }, group('static'))).toEqual({ add: ['a'], remove: ['b'] });
    expect(validateGroupPatch({ name: 'n', filter: { status: 'online' } }, group('dynamic'))).toEqual({ name: 'n', filter: { status: 'online' }, add: [], remove: [] });
    expect(paths(() => validateGroupPatch({ filter: {} }, group('static')))).toEqual(['filter']);
    expect(paths(() => validateGroupPatch({ add: ['a'] }, group('dynamic')))).toEqual(['add']);
  });

  it('parses the group filter key, and matches a resolved dynamic group in memory within its tenant', () => {
    expect(parseDeviceFilter({ group: ' beta ' })).toEqual({ group: { ref: 'beta' } });
    expect(paths(() => parseDeviceFilter({ group: '' }))).toEqual(['group']);
    const device = { id: 'd1', name: 'd1', status: 'online', mode: 'pull', tags: { ring: 'beta' }, tenant: 'DEFAULT', decommissionedAt: null, location: null, version: null, lastSeen: null } as unknown as Device;
    const beta = parseDeviceFilter({ tag: 'ring=beta' });
    expect(matchesDeviceFilter(device, { group: { ref: 'g', resolved: { id: 'g', tenant: 'DEFAULT', kind: 'dynamic', filter: beta } } })).toBe(true);
    expect(matchesDeviceFilter(device, { group: { ref: 'g', resolved: { id: 'g', tenant: 't2', kind: 'dynamic', filter: beta } } })).toBe(false);
    expect(matchesDeviceFilter({ ...device, tags: {} }, { group: { ref: 'g', resolved: { id: 'g', tenant: 'DEFAULT', kind: 'dynamic', filter: beta } } })).toBe(false);
    expect(() => matchesDeviceFilter(device, { group: { ref: 'g' } })).toThrow(/resolved/);
  });
});

describe('bulk requests', () => {
  it('turns ids, a filter or a group into a selection bounded to one tenant and to devices in service', () => {
    expect(validateBulkRequest({ action: 'tag', ids: ['a', 'a', 'b'], tags: { wave: '1' } })).toEqual({ change: { action: 'tag', tags: { wave: '1' } }, tenant: 'DEFAULT', filter: { ids: ['a', 'b'], tenant: ['DEFAULT'], decommissioned: false }, selection: { ids: 2 } });
    expect(validateBulkRequest({ action: 'untag', group: 'beta', tenant: 't2', keys: ['wave', 'wave'] })).toMatchObject({ change: { action: 'untag', keys: ['wave'] }, filter: { group: { ref: 'beta' }, tenant: ['t2'] } });
    expect(validateBulkRequest({ action: 'set-location', filter: { status: 'online' }, location: null })).toMatchObject({ change: { action: 'set-location', location: null }, filter: { status: ['online'], tenant: ['DEFAULT'] } });
    expect(validateBulkRequest({ action: 'decommission', filter: { group: 'old' } }).change).toEqual({ action: 'decommission' });
  });

  it('refuses a selection that is not exactly one thing, a change that does not fit, and a tenant in the filter', () => {
    expect(paths(() => validateBulkRequest({ action: 'tag', tags: { a: 'b' } }))).toEqual(['ids']);
    expect(paths(() => validateBulkRequest({ action: 'tag', ids: ['a'], group: 'g', tags: { a: 'b' } }))).toEqual(['ids,group']);
    expect(paths(() => validateBulkRequest({ action: 'tag', ids: Array.from({ length: 10_001 }, (_, i) => `d${i}`), tags: { a: 'b' } }))).toEqual(['ids']);
    expect(paths(() => validateBulkRequest({ action: 'tag', ids: ['a'], tags: {} }))).toEqual(['tags']);
    expect(paths(() => validateBulkRequest({ action: 'tag', ids: ['a'], tags: { 'bad key': 'x' } }))).toEqual(['tags.bad key', 'tags']);
    expect(paths(() => validateBulkRequest({ action: 'untag', ids: ['a'], keys: ['ok', '=bad'] }))).toEqual(['keys']);
    expect(paths(() => validateBulkRequest({ action: 'set-location', ids: ['a'] }))).toEqual(['location']);
    expect(paths(() => validateBulkRequest({ action: 'decommission', ids: ['a'], tags: { a: 'b' } }))).toEqual(['tags']);
    expect(paths(() => validateBulkRequest({ action: 'tag', filter: { tenant: 'x', decommissioned: 'true' }, tags: { a: 'b' } }))).toEqual(['filter.tenant', 'filter.decommissioned']);
    expect(paths(() => validateBulkRequest({ action: 'reboot', ids: ['a'] }))).toEqual(['action']);
  });
});
