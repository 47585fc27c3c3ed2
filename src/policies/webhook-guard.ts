// Authenticity and freshness of registry webhooks: GHCR's X-Hub-Signature-256 (HMAC-SHA256 over
// the raw body), Docker Hub's shared secret in the URL (both compared in constant time), and a
// replay guard that refuses a delivery id or payload digest seen within a window.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { sameSecret } from '../core/index.js';
import type { Database } from '../store/index.js';

const digestOf = (value: string | Buffer) => createHash('sha256').update(value).digest();

/** Constant-time string comparison (hashes first, so lengths do not leak either). */
export const safeEqual = sameSecret;

/** Verifies `sha256=<hex>` over the raw body with `secret`. */
export function verifyHubSignature(secret: string, rawBody: Buffer, header: string | undefined): boolean {
  if (!header || !/^sha256=[0-9a-fA-F]{64}$/.test(header)) return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  return timingSafeEqual(expected, Buffer.from(header.slice('sha256='.length), 'hex'));
}

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
