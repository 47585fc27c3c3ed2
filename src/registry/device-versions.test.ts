// DeviceVersions, the one writer of "this device now runs version X", against the real store on
// SQLite and PostgreSQL: batched, inside a unit of work when given one (it commits and rolls back
// with it), bounded to the registry's field length, and a hint (unknownOnly) never overwrites.
import { describe, expect, it } from 'vitest';
import { DEVICE_VERSION_MAX, ManualClock, validateDevice } from '../core/index.js';
import type { Store } from '../store/index.js';
import { storeTargets, useStore } from '../testing/stores.js';
import { DeviceVersions } from './device-versions.js';

for (const target of storeTargets) {
  describe(`DeviceVersions on ${target.name}`, () => {
    let store: Store;
    const skip = useStore(target, (opened) => (store = opened));
    const clock = new ManualClock(Date.parse('2026-04-01T00:00:00Z'));
    const version = async (id: string) => (await store.devices.get(id))?.version;

    it('records many devices at once, bounded, and a hint only where no version is known', async (ctx) => {
      if (skip.reason) return ctx.skip();
      await store.devices.upsertMany(['dv-1', 'dv-2', 'dv-3'].map((id) => validateDevice({ id, version: id === 'dv-3' ? undefined : '1.0.0' })), clock.now());
      const versions = new DeviceVersions(store, clock);
      await versions.record([{ deviceId: 'dv-1', version: '2.0.0' }, { deviceId: 'dv-2', version: 'v'.repeat(DEVICE_VERSION_MAX + 10) }, { deviceId: 'dv-3', version: '' }]);
      expect(await version('dv-1')).toBe('2.0.0');
      expect(await version('dv-2')).toBe('v'.repeat(DEVICE_VERSION_MAX));
      // An empty version says nothing.
      expect(await version('dv-3')).toBeNull();
      await versions.recordOne('dv-1', 'hint', { unknownOnly: true });
      await versions.recordOne('dv-3', 'hint', { unknownOnly: true });
      expect([await version('dv-1'), await version('dv-3')]).toEqual(['2.0.0', 'hint']);
    });

    it('writes inside the unit of work it is given: rolled back with it, committed with it', async (ctx) => {
      if (skip.reason) return ctx.skip();
      await store.devices.upsertMany([validateDevice({ id: 'dv-tx', version: '1.0.0' })], clock.now());
      const versions = new DeviceVersions(store, clock);
      await expect(
        store.transaction(async (tx) => {
          await versions.recordOne('dv-tx', '9.0.0', { tx });
          throw new Error('abandon');
        }),
      ).rejects.toThrow('abandon');
      expect(await version('dv-tx')).toBe('1.0.0');
      await store.transaction((tx) => versions.recordOne('dv-tx', '9.0.0', { tx }));
      expect(await version('dv-tx')).toBe('9.0.0');
    });
  });
}
