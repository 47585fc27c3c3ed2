// Encryption at rest for device credentials: AES-256-GCM (node:crypto) under one 32-byte key.
// Pure computation, no I/O: the key file is read at the edge (src/secrets/key-file.ts). Each value
// is sealed with a fresh 96-bit IV and bound to its context (device id and field), so a sealed
// value copied to another device or field does not open.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const SECRET_KEY_BYTES = 32;

/** A sealed value that does not open under this key: another key sealed it, or it was altered. */
export class SecretOpenError extends Error {}

export class SecretBox {
  /** Names the key without revealing it (stored beside each sealed value, compared at start). */
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== SECRET_KEY_BYTES) throw new Error(`a secrets key is ${SECRET_KEY_BYTES} bytes, not ${key.length}`);
    this.keyId = createHash('sha256').update('update-orchestrator/secrets-key-id\n').update(key).digest('hex').slice(0, 16);
  }

  static generateKey(): Buffer {
    return randomBytes(SECRET_KEY_BYTES);
  }

  /** A key of its own, for stores that keep no credentials across opens (tests, benchmarks). */
  static ephemeral(): SecretBox {
    return new SecretBox(SecretBox.generateKey());
  }

  /** `v1.<iv>.<tag>.<ciphertext>`, base64url; `context` must be given again to open it. */
  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  open(sealed: string, context: string): string {
    const [version, iv, tag, body, ...rest] = sealed.split('.');
    if (version !== VERSION || iv === undefined || tag === undefined || body === undefined || rest.length > 0) throw new SecretOpenError('not a sealed value of this version');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretOpenError('the value does not open under this key (another key sealed it, or it was altered)');
    }
  }
}
