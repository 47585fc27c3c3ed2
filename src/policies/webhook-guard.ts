// Freshness of registry webhooks: a replay guard that refuses a delivery id or payload digest
// seen within a window. Their authenticity is core's: GHCR's X-Hub-Signature-256 is checked with
// hmacSignatureMatches, Docker Hub's secret in the URL with sameSecret (both constant-time).
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/index.js';

const digestOf = (value: string | Buffer) => createHash('sha256').update(value).digest();

export function payloadDigest(rawBody: Buffer): string {
  return digestOf(rawBody).toString('hex');
}

/**
 * Remembers deliveries for `windowMs`. `admit` records the keys and answers false when any was
 * seen inside the window (a replay). The primary key makes concurrent duplicates lose too.
 */
export class ReplayGuard {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly windowMs: number,
  ) {}

  async admit(keys: string[], now: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('webhook_receipts').where('received_at', '<', now - this.windowMs).execute();
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
