// Partially downloaded artifacts: on disk for the real agent (resumable across restarts), in memory
// (a running hash only) for simulated agents. Keyed by the artifact's sha256 or the execution id.
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

export interface PartialStore {
  /** Bytes held so far (0 when none). */
  size(key: string): Promise<number>;
  /** Appends `body` at byte `from` (dropping anything after it); answers the new size. */
  write(key: string, from: number, body: ReadableStream<Uint8Array>, onBytes: (total: number) => void): Promise<number>;
  /** Hex sha256 of what is held. */
  sha256(key: string): Promise<string>;
  /** The file's path, for handlers that copy it; null for in-memory partials. */
  pathOf(key: string): string | null;
  remove(key: string): Promise<void>;
}

const counting = (start: number, onBytes: (total: number) => void) => {
  let total = start;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      total += chunk.length;
      onBytes(total);
      done(null, chunk);
    },
  });
};

export class FilePartialStore implements PartialStore {
  constructor(private readonly dir: string) {}

  pathOf(key: string): string {
    if (!/^[\w.-]{1,128}$/.test(key)) throw new Error(`bad partial key '${key}'`);
    return path.join(this.dir, `${key}.part`);
  }

  async size(key: string): Promise<number> {
    try {
      return (await fs.promises.stat(this.pathOf(key))).size;
    } catch {
      return 0;
    }
  }

  async write(key: string, from: number, body: ReadableStream<Uint8Array>, onBytes: (total: number) => void): Promise<number> {
    await fs.promises.mkdir(this.dir, { recursive: true });
    const file = this.pathOf(key);
    if (from === 0) await fs.promises.writeFile(file, '');
    else await fs.promises.truncate(file, from);
    const out = fs.createWriteStream(file, { flags: 'a' });
    await pipeline(Readable.fromWeb(body as WebReadableStream<Uint8Array>), counting(from, onBytes), out);
    const handle = await fs.promises.open(file, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    return this.size(key);
  }

  async sha256(key: string): Promise<string> {
    const hash = createHash('sha256');
    await pipeline(fs.createReadStream(this.pathOf(key)), hash);
    return hash.digest('hex');
  }

  async remove(key: string): Promise<void> {
    await fs.promises.rm(this.pathOf(key), { force: true });
  }
}

/** Keeps only a running hash and a byte count: enough to verify, nothing to install from. */
export class MemoryPartialStore implements PartialStore {
  private readonly entries = new Map<string, { bytes: number; hash: Hash }>();

  pathOf(): null {
    return null;
  }

  async size(key: string): Promise<number> {
    return this.entries.get(key)?.bytes ?? 0;
  }

  async write(key: string, from: number, body: ReadableStream<Uint8Array>, onBytes: (total: number) => void): Promise<number> {
    let entry = this.entries.get(key);
    if (!entry || from === 0 || entry.bytes !== from) {
      if (from !== 0 && entry?.bytes !== from) throw new Error(`cannot resume ${key} at ${from}: holding ${entry?.bytes ?? 0} bytes`);
      entry = { bytes: 0, hash: createHash('sha256') };
      this.entries.set(key, entry);
    }
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      entry.hash.update(value);
      entry.bytes += value.length;
      onBytes(entry.bytes);
    }
    return entry.bytes;
  }

  async sha256(key: string): Promise<string> {
    return this.entries.get(key)?.hash.copy().digest('hex') ?? createHash('sha256').digest('hex');
  }

  async remove(key: string): Promise<void> {
    this.entries.delete(key);
  }
}
