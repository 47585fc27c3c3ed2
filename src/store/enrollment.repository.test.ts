// Contract tests of enrollment keys, enrollment state, device reports and batched heartbeats,
// on SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateDevice } from '../core/index.js';
import { storeTargets } from '../testing/stores.js';
import type { Store } from './index.js';

for (const target of storeTargets) {
  describe(`enrollment and device reports (${target.name})`, async () => {
    const skip = await target.skip();
    let store: Store;
    beforeAll(async () => {
      if (!skip) store = await target.open();
    });
    afterAll(async () => {
      if (!skip) await store.close();
    });

    it.skipIf(skip)('a key with maxUses 2 enrolls exactly twice, and a revoked key never', async () => {
      const { key, record } = await store.enrollment.createKey({ name: 'k', autoAccept: true, defaults: { location: 'x' }, maxUses: 2, expiresAt: null }, 1000);
      expect(key).toMatch(/^uo_enr_/);
      expect((await store.enrollment.consumeKey(key, 1001))?.id).toBe(record.id);
      expect((await store.enrollment.consumeKey(key, 1002))?.uses).toBe(2);
      expect(await store.enrollment.consumeKey(key, 1003)).toBeNull();
      const other = await store.enrollment.createKey({ name: 'k2', autoAccept: false, defaults: {}, maxUses: null, expiresAt: 5000 }, 1000);
      expect(await store.enrollment.consumeKey(other.key, 6000)).toBeNull();
      expect(await store.enrollment.consumeKey(other.key, 2000)).not.toBeNull();
      expect(await store.enrollment.revokeKey(other.record.id, 2001)).toBe(true);
      expect(await store.enrollment.consumeKey(other.key, 2002)).toBeNull();
      expect(await store.enrollment.consumeKey('uo_enr_unknown', 2002)).toBeNull();
      expect((await store.enrollment.listKeys()).map((k) => k.name)).toEqual(['k', 'k2']);
    });

    it.skipIf(skip)('new devices are accepted by default; pending ones are listed until accepted', async () => {
      await store.devices.create(validateDevice({ id: 'enr-1' }), 1000);
      await store.devices.create(validateDevice({ id: 'enr-2' }), 1001);
      expect(await store.enrollment.enrollmentOf('enr-1')).toBe('accepted');
      expect(await store.enrollment.setEnrollment('enr-2', 'pending', 1002)).toBe(true);
      expect((await store.enrollment.pending(10)).map((d) => d.id)).toEqual(['enr-2']);
      await store.enrollment.setEnrollment('enr-2', 'accepted', 1003);
      expect(await store.enrollment.pending(10)).toEqual([]);
      expect(await store.enrollment.enrollmentOf('nope')).toBeNull();
    });

    it.skipIf(skip)('touchMany marks devices online in one go and says which just came online', async () => {
      expect((await store.deviceReports.touchMany(['enr-1', 'enr-2', 'ghost'], 5000)).sort()).toEqual(['enr-1', 'enr-2']);
      expect(await store.deviceReports.touchMany(['enr-1'], 6000)).toEqual([]);
      const device = await store.devices.get('enr-1');
      expect(device?.status).toBe('online');
      expect(device?.lastSeen).toBe(new Date(6000).toISOString());
    });

    it.skipIf(skip)('keeps the latest report and the last inventory sent', async () => {
      await store.deviceReports.save('enr-1', { version: '1.0.0' }, { cpu: 'arm64' }, 7000);
      await store.deviceReports.save('enr-1', { version: '1.1.0' }, undefined, 8000);
      const stored = await store.deviceReports.get('enr-1');
      expect(stored).toMatchObject({ report: { version: '1.1.0' }, inventory: { cpu: 'arm64' }, reportedAt: new Date(8000).toISOString() });
    });
  });
}
