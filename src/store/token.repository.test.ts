// Contract tests of token persistence, on SQLite and PostgreSQL: only hashes are stored, a token
// is live until revoked or expired, revocation happens once, device tokens are issued in bulk.
import { describe, expect, it } from 'vitest';
import { deviceInput } from '../testing/engine.js';
import { storeTargets, useStore } from '../testing/stores.js';
import { hashToken, type Store } from './index.js';

for (const target of storeTargets) {
  describe(`token repository on ${target.name}`, () => {
    let store: Store;
    const skip = useStore(target, (opened) => (store = opened));

    it('keeps tokens hashed and finds only live ones', async (ctx) => {
      if (skip.reason) return ctx.skip();
      const { token, record } = await store.tokens.create({ kind: 'operator', role: 'viewer', name: 'v' }, 100);
      expect(token).toMatch(/^uo_op_[A-Za-z0-9_-]{43}$/);
      expect(record).toMatchObject({ kind: 'operator', role: 'viewer', deviceId: null, name: 'v', createdAt: new Date(100).toISOString(), expiresAt: null, revokedAt: null });
      expect(await store.handle.db.selectFrom('tokens').select('hash').where('id', '=', record.id).execute()).toEqual([{ hash: hashToken(token) }]);
      expect(JSON.stringify(await store.tokens.list())).not.toContain(token);
      expect((await store.tokens.findActive(token, 200))?.id).toBe(record.id);
      expect(await store.tokens.findActive(token + 'x', 200)).toBeNull();
      expect(await store.tokens.revoke(record.id, 300)).toBe(true);
      expect(await store.tokens.revoke(record.id, 350)).toBe(false);
      expect(await store.tokens.findActive(token, 400)).toBeNull();
      expect((await store.tokens.list('operator')).find((t) => t.id === record.id)?.revokedAt).toBe(new Date(300).toISOString());
    });

    it('stops finding a token at the instant it expires', async (ctx) => {
      if (skip.reason) return ctx.skip();
      const { token, record } = await store.tokens.create({ kind: 'enrollment', name: 'e', expiresAt: 1_000 }, 100);
      expect(token.startsWith('uo_enr_')).toBe(true);
      expect(record.expiresAt).toBe(new Date(1_000).toISOString());
      expect((await store.tokens.findActive(token, 999))?.id).toBe(record.id);
      expect(await store.tokens.findActive(token, 1_000)).toBeNull();
    });

    it('lists by kind in creation order and counts live operators only', async (ctx) => {
      if (skip.reason) return ctx.skip();
      const before = await store.tokens.countOperators();
      const a = await store.tokens.create({ kind: 'operator', role: 'admin', name: 'list-a' }, 5_000);
      const b = await store.tokens.create({ kind: 'operator', role: 'operator', name: 'list-b' }, 5_001);
      await store.tokens.create({ kind: 'enrollment', name: 'list-e' }, 5_002);
      expect(await store.tokens.countOperators()).toBe(before + 2);
      await store.tokens.revoke(a.record.id, 5_003);
      expect(await store.tokens.countOperators()).toBe(before + 1);
      const operators = (await store.tokens.list('operator')).map((t) => t.name);
      expect(operators.indexOf('list-a')).toBeLessThan(operators.indexOf('list-b'));
      expect(operators).not.toContain('list-e');
      expect((await store.tokens.list()).map((t) => t.name)).toContain('list-e');
      expect(b.record.role).toBe('operator');
    });

    it('revokes every live token of one device and no other', async (ctx) => {
      if (skip.reason) return ctx.skip();
      await store.devices.upsertMany([deviceInput('rev-1', { mode: 'pull', address: null }), deviceInput('rev-2', { mode: 'pull', address: null })], 1);
      const one = await store.tokens.create({ kind: 'device', deviceId: 'rev-1', name: 'one' }, 10);
      const two = await store.tokens.create({ kind: 'device', deviceId: 'rev-1', name: 'two' }, 11);
      const other = await store.tokens.create({ kind: 'device', deviceId: 'rev-2', name: 'other' }, 12);
      await store.tokens.revoke(one.record.id, 13);
      expect(await store.tokens.revokeForDevice('rev-1', 20)).toBe(1);
      expect(await store.tokens.findActive(two.token, 21)).toBeNull();
      expect((await store.tokens.findActive(other.token, 21))?.deviceId).toBe('rev-2');
      expect(await store.tokens.revokeForDevice('rev-1', 22)).toBe(0);
    });

    it('issues device tokens in bulk, one per device in order, stored hashed', async (ctx) => {
      if (skip.reason) return ctx.skip();
      const ids = Array.from({ length: 5 }, (_, i) => `bulk-tok-${i}`);
      await store.devices.upsertMany(ids.map((id) => deviceInput(id, { mode: 'pull', address: null })), 400);
      await expect(store.tokens.createDeviceTokens(['bulk-tok-missing'], 500)).rejects.toThrow();
      const tokens = await store.tokens.createDeviceTokens(ids, 500, 2);
      expect(tokens).toHaveLength(5);
      expect(new Set(tokens).size).toBe(5);
      for (const [i, token] of tokens.entries()) {
        expect(token).toMatch(/^uo_dev_[A-Za-z0-9_-]{43}$/);
        expect(await store.tokens.findActive(token, 600)).toMatchObject({ kind: 'device', deviceId: ids[i], role: null });
      }
      expect(JSON.stringify(await store.tokens.list('device'))).not.toContain(tokens[0]);
    });
  });
}
