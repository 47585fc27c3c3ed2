// Named leases in the database, so periodic work (offline detection, schedules) runs on one server
// at a time when several share a PostgreSQL database. A lease that is not renewed expires.
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export class LockRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Takes or renews `name` for `owner` until now+ttl; true when `owner` holds it afterwards. */
  async acquire(name: string, owner: string, now: number, ttlMs: number): Promise<boolean> {
    const expires = now + ttlMs;
    await this.db
      .insertInto('locks')
      .values({ name, owner, expires_at: expires })
      .onConflict((oc) =>
        oc.column('name').doUpdateSet({ owner, expires_at: expires }).where((eb) => eb.or([eb('locks.owner', '=', owner), eb('locks.expires_at', '<', now)])),
      )
      .execute();
    const row = await this.db.selectFrom('locks').select('owner').where('name', '=', name).executeTakeFirst();
    return row?.owner === owner;
  }

  async release(name: string, owner: string): Promise<void> {
    await this.db.deleteFrom('locks').where('name', '=', name).where('owner', '=', owner).execute();
  }
}
