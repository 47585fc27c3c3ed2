// Short-lived signed download URLs: HMAC-SHA256 over (artifact, device, expiry) with a server
// secret kept in the data directory, so a device (or its container runtime) can fetch an artifact
// without its bearer token for a few minutes.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export class DownloadSigner {
  constructor(
    private readonly secret: Buffer,
    private readonly ttlMs = 15 * 60_000,
  ) {}

  /** Loads <dataDir>/download.secret, creating it (mode 0600) on first start. */
  static fromDataDir(dataDir: string): DownloadSigner {
    const file = path.join(dataDir, 'download.secret');
    try {
      return new DownloadSigner(Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64url'));
    } catch {
      const secret = randomBytes(32);
      try {
        fs.writeFileSync(file, secret.toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
        return new DownloadSigner(secret);
      } catch {
        // Another process created it first: use theirs.
        return new DownloadSigner(Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64url'));
      }
    }
  }

  private mac(artifactId: string, deviceId: string, expires: number): string {
    return createHmac('sha256', this.secret).update(`${artifactId}\n${deviceId}\n${expires}`).digest('base64url');
  }

  /** The query string that authorizes `deviceId` to fetch `artifactId` until now+ttl. */
  sign(artifactId: string, deviceId: string, now: number): string {
    const expires = now + this.ttlMs;
    return `device=${encodeURIComponent(deviceId)}&expires=${expires}&sig=${this.mac(artifactId, deviceId, expires)}`;
  }

  /** True when the signature is ours and not expired. */
  verify(artifactId: string, query: { device?: string; expires?: string | number; sig?: string }, now: number): boolean {
    const expires = Number(query.expires);
    if (!query.device || !query.sig || !Number.isFinite(expires) || expires <= now) return false;
    const expected = Buffer.from(this.mac(artifactId, query.device, expires));
    const given = Buffer.from(query.sig);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
