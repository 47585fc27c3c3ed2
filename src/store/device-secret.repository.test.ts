// Contract suite for device credentials at rest, on SQLite and PostgreSQL: what every device write
// splits off, what "[set]" keeps, what only the push path opens, the start-up binding to one key,
// and the one-time move of plaintext credentials that earlier versions kept in metadata.
import { describe, expect, it } from 'vitest';
import { SecretBox, validateDevice } from '../core/index.js';
import { storeTargets, useStore } from '../testing/stores.js';
import { DeviceSecretRepository, SecretsKeyError, type Store } from './index.js';

const device = (id: string, metadata: Record<string, unknown>) => validateDevice({ id, mode: 'http', address: `http://127.0.0.1:9/${id}`, metadata });

for (const target of storeTargets) {
  describe(`device secrets on ${target.name}`, () => {
    let store: Store;
    const skip = useStore(target, (opened) => (store = opened));

    it('stores credentials sealed apart, shows "[set]", keeps a "[set]" sent back, and opens them for a push only', async (ctx) => {
      if (skip.reason) return ctx.skip();
      const created = await store.devices.create(device('sec-1', { site: 'a', auth: { bearerToken: 'tok-1', password: 'pw-1' } }), 1);
      expect(created.metadata).toEqual({ site: 'a', auth: { bearerToken: '[set]', password: '[set]' } });
      expect((await store.devices.get('sec-1'))!.metadata).toEqual(created.metadata);
      const rows = await store.handle.db.selectFrom('device_secrets').selectAll().where('device_id', '=', 'sec-1').orderBy('key').execute();
      expect(rows.map((r) => r.key)).toEqual(['bearerToken', 'password']);
      expect(rows.every((r) => !r.sealed.includes('tok-1') && !r.sealed.includes('pw-1') && r.key_id === store.deviceSecrets.keyId)).toBe(true);
      expect((await store.devices.withCredentials(created)).metadata.auth).toEqual({ bearerToken: 'tok-1', password: 'pw-1' });

      // "[set]" keeps, a value replaces, a key left out is removed.
      await store.devices.update(device('sec-1', { auth: { bearerToken: '[set]', passphrase: 'pp-2' } }), 2);
      const updated = (await store.devices.get('sec-1'))!;
      expect(updated.metadata).toEqual({ auth: { bearerToken: '[set]', passphrase: '[set]' } });
      expect((await store.devices.withCredentials(updated)).metadata.auth).toEqual({ bearerToken: 'tok-1', passphrase: 'pp-2' });
      await store.devices.update(device('sec-1', {}), 3);
      expect(await store.handle.db.selectFrom('device_secrets').selectAll().where('device_id', '=', 'sec-1').execute()).toEqual([]);

      // "[set]" with nothing stored is refused, naming the field, and writes nothing.
      await expect(store.devices.create(device('sec-2', { auth: { bearerToken: '[set]' } }), 4)).rejects.toThrow(/metadata\.auth\.bearerToken.*send the value itself/);
      expect(await store.devices.get('sec-2')).toBeNull();

      // Batch writes split them too, and decommissioning a device deletes its credentials.
      await store.devices.upsertMany([device('sec-3', { auth: { bearerToken: 'tok-3' } }), device('sec-4', {})], 5);
      expect((await store.devices.get('sec-3'))!.metadata).toEqual({ auth: { bearerToken: '[set]' } });
      expect((await store.devices.withCredentials((await store.devices.get('sec-3'))!)).metadata.auth).toEqual({ bearerToken: 'tok-3' });
      await store.devices.decommission('sec-3', 6);
      expect(await store.handle.db.selectFrom('device_secrets').selectAll().where('device_id', '=', 'sec-3').execute()).toEqual([]);
    });

    it('says which key it needs when a credential does not open, or is marked set but not stored', async (ctx) => {
      if (skip.reason) return ctx.skip();
      const stored = await store.devices.create(device('sec-5', { auth: { bearerToken: 'tok-5' } }), 1);
      const other = new DeviceSecretRepository(store.handle.db, SecretBox.ephemeral());
      await expect(other.credentials('sec-5', ['bearerToken'])).rejects.toThrow(new RegExp(`sealed under secrets key ${store.deviceSecrets.keyId}, but this server has key ${other.keyId}.*ORCHESTRATOR_SECRETS_KEY_FILE`));
      await store.handle.db.updateTable('device_secrets').set({ sealed: 'v1.AAAA.BBBB.CCCC' }).where('device_id', '=', 'sec-5').execute();
      await expect(store.devices.withCredentials(stored)).rejects.toThrow(SecretsKeyError);
      await store.handle.db.deleteFrom('device_secrets').where('device_id', '=', 'sec-5').execute();
      await expect(store.devices.withCredentials(stored)).rejects.toThrow(/no stored value for metadata\.auth\.bearerToken/);
    });

    it('binds the database to one key at start and refuses another while credentials are sealed under it', async (ctx) => {
      if (skip.reason) return ctx.skip();
      await store.handle.db.deleteFrom('device_secrets').execute();
      await store.handle.db.deleteFrom('secrets_key').execute();
      await store.deviceSecrets.bind(1);
      expect(await store.deviceSecrets.boundKeyId()).toBe(store.deviceSecrets.keyId);
      // Nothing sealed yet: another key may take over (nothing is lost).
      const other = new DeviceSecretRepository(store.handle.db, SecretBox.ephemeral());
      const rebound: string[] = [];
      await other.bind(2, { rebound: (from) => rebound.push(from) });
      expect(rebound).toEqual([store.deviceSecrets.keyId]);
      expect(await store.deviceSecrets.boundKeyId()).toBe(other.keyId);
      await store.deviceSecrets.bind(3);
      await store.devices.create(device('sec-6', { auth: { bearerToken: 'tok-6' } }), 4);
      await expect(other.bind(5)).rejects.toThrow(/holds 1 device credential\(s\) sealed under secrets key .* does not start/);
      expect(await store.deviceSecrets.boundKeyId()).toBe(store.deviceSecrets.keyId);
    });

    it('moves plaintext credentials of earlier versions (metadata.auth, SSH address passwords) in at first start, once, and scrubs them from device events', async (ctx) => {
      if (skip.reason) return ctx.skip();
      // What an earlier version wrote: the credential in the row and in the event that recorded it.
      const old = { id: 'old-1', name: 'old-1', address: 'http://127.0.0.1:9/old', mode: 'http', status: 'unknown', last_seen: null, version: null, version_key: null, location: null, timezone: 'UTC', tenant: 'DEFAULT', tags: '{}', metadata: JSON.stringify({ site: 'b', auth: { bearerToken: 'plain-old-token' } }), created_at: 1, updated_at: 1 };
      await store.handle.db.insertInto('devices').values([old, { ...old, id: 'old-ssh', mode: 'ssh', address: 'ssh://deploy:plain-ssh-pw@127.0.0.1:22/srv', metadata: '{}' }]).execute();
      await store.handle.db.insertInto('events').values([
        { ts: 1, type: 'device.created', actor: 'token:x', rollout_id: null, device_id: 'old-1', execution_id: null, data: JSON.stringify({ device: { id: 'old-1', metadata: { auth: { bearerToken: 'plain-old-token' } } } }) },
        { ts: 2, type: 'device.created', actor: 'token:x', rollout_id: null, device_id: 'old-ssh', execution_id: null, data: JSON.stringify({ device: { id: 'old-ssh', address: 'ssh://deploy:plain-ssh-pw@127.0.0.1:22/srv', metadata: {} } }) },
        { ts: 2, type: 'device.updated', actor: 'token:x', rollout_id: null, device_id: 'old-1', execution_id: null, data: JSON.stringify({ changes: { metadata: { auth: { bearerToken: 'plain-old-token' } } } }) },
      ]).execute();
      await store.handle.db.updateTable('secrets_key').set({ sealed_at: null }).execute();
      const sealed: number[] = [];
      await store.deviceSecrets.bind(10, { sealed: (n) => sealed.push(n) });
      expect(sealed).toEqual([2]);
      // An SSH password in the address (which every viewer reads) becomes a credential.
      const ssh = (await store.devices.get('old-ssh'))!;
      expect(ssh).toMatchObject({ address: 'ssh://deploy@127.0.0.1:22/srv', metadata: { auth: { password: '[set]' } } });
      expect((await store.devices.withCredentials(ssh)).metadata.auth).toEqual({ password: 'plain-ssh-pw' });
      const moved = (await store.devices.get('old-1'))!;
      expect(moved.metadata).toEqual({ site: 'b', auth: { bearerToken: '[set]' } });
      expect((await store.devices.withCredentials(moved)).metadata.auth).toEqual({ bearerToken: 'plain-old-token' });
      const events = await store.handle.db.selectFrom('events').select('data').where('device_id', 'in', ['old-1', 'old-ssh']).execute();
      expect(events.map((e) => e.data).join('\n')).not.toMatch(/plain-old-token|plain-ssh-pw/);
      expect(events.map((e) => e.data).join('\n')).toContain('"bearerToken":"[set]"');
      // Once: a second start (and a second run of the step itself) changes nothing.
      const before = await store.handle.db.selectFrom('device_secrets').selectAll().where('device_id', '=', 'old-1').execute();
      await store.deviceSecrets.bind(11, { sealed: (n) => sealed.push(n) });
      expect(await store.deviceSecrets.sealPlaintext(12)).toBe(0);
      expect(sealed).toEqual([2]);
      expect(await store.handle.db.selectFrom('device_secrets').selectAll().where('device_id', '=', 'old-1').execute()).toEqual(before);
    });
  });
}
