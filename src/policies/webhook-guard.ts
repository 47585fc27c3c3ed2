// Freshness of registry webhooks: a replay guard that refuses a delivery id or payload digest
// seen within a window. Their authenticity is core's: GHCR's X-Hub-Signature-256 is checked with
// hmacSignatureMatches, Docker Hub's secret in the URL with sameSecret (both constant-time).
import { createHash } from 'node:crypto';
import type { WebhookReceiptRepository } from '../store/index.js';

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
    private readonly receipts: WebhookReceiptRepository,
    private readonly windowMs: number,
  ) {}

  admit(keys: string[], now: number): Promise<boolean> {
    return this.receipts.admit(keys, now, now - this.windowMs);
  }
}
