// Registry webhook deliveries seen recently (table `webhook_receipts`): the memory of the replay guard.
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import { atomic } from './atomic.sql.js';

export class WebhookReceiptRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Forgets receipts older than `forgetBefore`, then records `keys` at `now`: false when any key
   * is still remembered (a replay). The primary key makes concurrent duplicates lose too.
   */
  async admit(keys: string[], now: number, forgetBefore: number): Promise<boolean> {
    return atomic(this.db, async (trx) => {
      await trx.deleteFrom('webhook_receipts').where('received_at', '<', forgetBefore).execute();
      const seen = await trx.selectFrom('webhook_receipts').select('key').where('key', 'in', keys).executeTakeFirst();
      if (seen) return false;
      try {
        await trx.insertInto('webhook_receipts').values(keys.map((key) => ({ key, received_at: now }))).execute();
      } catch (error) {
        if (/unique|duplicate/i.test((error as Error).message)) return false;
        throw error;
      }
      return true;
    });
  }
}
