// Saved groups in the store, on SQLite and PostgreSQL: unique names per tenant, static members
// of the group's tenant only, live member counts for a page in one query (decommissioned devices
// drop out), the `group` filter key through list, count, iterate and rollout targets, and the
// references that block a delete.
import { describe, expect, it } from 'vitest';
import { ConflictError, parseDeviceFilter, ValidationError, type DeviceInput } from '../core/index.js';
import type { Store } from './index.js';
import { storeTargets, useStore } from '../testing/stores.js';

const device = (id: string, over: Partial<DeviceInput> = {}): DeviceInput => ({
  id,
  name: id,
  address: null,
  mode: 'pull',
  status: 'online',
  lastSeen: null,
  version: '1.0.0',
  location: null,
  timezone: 'UTC',
  tags: {},
  metadata: {},
  ...over,
});

const gid = (n: number) => `grp_${String(n).padStart(24, '0')}`;

describe.each(storeTargets)('group repository ($name)', (target) => {
  let store: Store;
  const state = useStore(target, (s) => (store = s));
  const now = Date.parse('2026-12-01T00:00:00Z');

  it('keeps names unique per tenant, resolves names and ids, and counts members live in one query', async (ctx) => {
    if (state.reason) return ctx.skip(state.reason);
    await store.devices.upsertMany(
      [
        device('g-a', { tags: { ring: 'beta' } }),
        device('g-b', { tags: { ring: 'beta' }, status: 'offline' }),
        device('g-c', { tags: { ring: 'prod' } }),
        device('g-t2', { tags: { ring: 'beta' }, tenant: 't2' }),
      ],
      now,
    );
    const beta = await store.groups.create({ id: gid(1), tenant: 'DEFAULT', name: 'beta', kind: 'dynamic', filter: { tag: 'ring=beta' } }, now);
    const pinned = await store.groups.create({ id: gid(2), tenant: 'DEFAULT', name: 'pinned', kind: 'static', filter: null }, now);
    await store.groups.create({ id: gid(3), tenant: 't2', name: 'beta', kind: 'dynamic', filter: { tag: 'ring=beta' } }, now);
    await expect(store.groups.create({ id: gid(4), tenant: 'DEFAULT', name: 'beta', kind: 'static', filter: null }, now)).rejects.toBeInstanceOf(ConflictError);
    expect(await store.groups.addMembers(pinned, ['g-a', 'g-c'])).toBe(2);
    expect(await store.groups.addMembers(pinned, ['g-a'])).toBe(0);
    // Another tenant's device is refused, and nothing of that request is added.
    await expect(store.groups.addMembers(pinned, ['g-b', 'g-t2'])).rejects.toBeInstanceOf(ValidationError);
    expect(await store.devices.count(parseDeviceFilter({ group: 'pinned' }))).toBe(2);

    const page = await store.groups.list({ limit: 10 });
    expect(page.items.map((g) => [g.id, g.tenant, g.members])).toEqual([
      [gid(1), 'DEFAULT', 2],
      [gid(2), 'DEFAULT', 2],
      [gid(3), 't2', 1],
    ]);
    // Names several tenants use need a tenant (or the id); the tenant of a dynamic group bounds it.
    await expect(store.devices.count(parseDeviceFilter({ group: 'beta' }))).rejects.toThrow(/tenants DEFAULT, t2/);
    expect(await store.devices.count(parseDeviceFilter({ group: 'beta', tenant: 't2' }))).toBe(1);
    expect((await store.devices.list(parseDeviceFilter({ group: beta.id, status: 'online' }), { limit: 10 })).items.map((d) => d.id)).toEqual(['g-a']);
    await expect(store.devices.count(parseDeviceFilter({ group: 'nobody' }))).rejects.toThrow(/no group 'nobody'/);

    // A dynamic group is whoever matches now; a static member that is decommissioned drops out.
    await store.devices.upsertMany([device('g-d', { tags: { ring: 'beta' } })], now);
    await store.devices.decommission('g-c', now);
    const counts = await store.groups.memberCounts([beta, pinned]);
    expect(Object.fromEntries(counts)).toEqual({ [gid(1)]: 3, [gid(2)]: 1 });
    const batches: string[][] = [];
    for await (const batch of store.devices.iterate(parseDeviceFilter({ group: 'pinned' }))) batches.push(batch.map((d) => d.id));
    expect(batches).toEqual([['g-a']]);
    expect((await store.executions.targets({ ...parseDeviceFilter({ group: beta.id }), enrolledOnly: true })).map((t) => t.id)).toEqual(['g-a', 'g-b', 'g-d']);
    expect(await store.groups.removeMembers(pinned.id, ['g-a', 'g-zz'])).toBe(1);
  });

  it('finds the unfinished rollouts and the policies that name a group, by id or by name', async (ctx) => {
    if (state.reason) return ctx.skip(state.reason);
    const group = await store.groups.create({ id: gid(10), tenant: 'DEFAULT', name: 'ref_group%', kind: 'static', filter: null }, now);
    expect(await store.groups.references(group)).toEqual({ rollouts: [], policies: [] });
    await store.policies.create('pol-1', { name: 'pol', image: 'acme/*', filter: { group: 'ref_group%' }, template: {}, enabled: true }, 'op', now);
    // A LIKE wildcard in a name is a character: "ref_group%" does not match "refXgroupY".
    await store.policies.create('pol-2', { name: 'other', image: 'acme/*', filter: { group: 'refXgroupYZ' }, template: {}, enabled: true }, 'op', now);
    expect(await store.groups.references(group)).toEqual({ rollouts: [], policies: [{ id: 'pol-1', name: 'pol' }] });
    expect(await store.groups.delete(group.id)).toBe(true);
    expect(await store.groups.get(group.id)).toBeNull();
  });
});
