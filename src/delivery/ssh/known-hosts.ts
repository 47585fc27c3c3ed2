// OpenSSH known_hosts checking: plain and hashed (|1|salt|hmac) host entries, [host]:port for
// non-default ports, wildcard patterns, @revoked markers. A changed key is always refused.
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export type HostKeyVerdict = 'known' | 'unknown' | 'changed' | 'revoked';

/** The algorithm name at the start of an SSH public key blob ("ssh-ed25519", "ecdsa-sha2-nistp256", ...). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString('latin1');
}

/** The name known_hosts uses for a host: "host" on port 22, "[host]:port" otherwise. */
export function hostEntryName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globMatch(pattern: string, name: string): boolean {
  const regex = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 'i');
  return regex.test(name);
}

function hostMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  let matched = false;
  for (const pattern of field.split(',')) {
    if (pattern.startsWith('!')) {
      if (globMatch(pattern.slice(1), name)) return false;
    } else if (globMatch(pattern, name)) matched = true;
  }
  return matched;
}

interface Entry {
  marker: string | null;
  hosts: string;
  type: string;
  key: Buffer;
}

function parse(text: string): Entry[] {
  const entries: Entry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    const marker = fields[0]!.startsWith('@') ? fields.shift()! : null;
    const [hosts, type, key] = fields;
    if (!hosts || !type || !key) continue;
    entries.push({ marker, hosts, type, key: Buffer.from(key, 'base64') });
  }
  return entries;
}

/** Host key checks against one known_hosts file (read fresh each time, so edits take effect). */
export class KnownHosts {
  constructor(readonly file: string) {}

  private entries(): Entry[] {
    try {
      return parse(fs.readFileSync(this.file, 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  /** Key types recorded for the host (to prefer them in algorithm negotiation). */
  typesFor(host: string, port: number): string[] {
    const name = hostEntryName(host, port);
    return [...new Set(this.entries().filter((e) => e.marker === null && hostMatches(e.hosts, name)).map((e) => e.type))];
  }

  /**
   * "known" when an entry for the host has exactly this key; "revoked" when the key is marked so;
   * "changed" when the host is listed with another key; "unknown" when it is not listed.
   */
  check(host: string, port: number, blob: Buffer): HostKeyVerdict {
    const name = hostEntryName(host, port);
    let listed = false;
    for (const entry of this.entries()) {
      if (entry.marker === '@revoked' && entry.key.equals(blob)) return 'revoked';
    }
    for (const entry of this.entries()) {
      if (entry.marker !== null || !hostMatches(entry.hosts, name)) continue;
      if (entry.key.equals(blob)) return 'known';
      listed = true;
    }
    return listed ? 'changed' : 'unknown';
  }

  /** Appends the host's key (trust on first use). */
  add(host: string, port: number, blob: Buffer): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    fs.appendFileSync(this.file, `${hostEntryName(host, port)} ${keyTypeOf(blob)} ${blob.toString('base64')}\n`, { mode: 0o600 });
  }
}
