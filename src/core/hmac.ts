// HMAC-SHA256 body signatures in the "sha256=<hex>" form GitHub's X-Hub-Signature-256 uses: the
// server signs its outbound webhooks with it (X-Orchestrator-Signature-256) and checks registry
// webhooks (GHCR) against it. The check is constant-time and refuses anything but that form.
import { createHmac, timingSafeEqual } from 'node:crypto';

const PREFIX = 'sha256=';

/** "sha256=" and the hex HMAC-SHA256 of `body` keyed with `secret`. */
export function hmacSignature(secret: string, body: string | Buffer): string {
  return PREFIX + createHmac('sha256', secret).update(body).digest('hex');
}

/** True when `header` is the "sha256=<64 hex>" signature of exactly these bytes with `secret`. */
export function hmacSignatureMatches(secret: string, body: string | Buffer, header: string | undefined): boolean {
  if (!header || !/^sha256=[0-9a-fA-F]{64}$/.test(header)) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(header.slice(PREFIX.length), 'hex'));
}
