// Content-addressed blob storage on disk: <root>/sha256/ab/abcdef... Bytes stream to a temporary
// file while being hashed, then rename into place, so a blob is either complete or absent.
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ValidationError } from '../core/index.js';

/** The result of writing a blob: its hash (also its storage key), size, and whether it was new. */
export interface StoredBlob {
  sha256: string;
  size: number;
  /** Relative key: "sha256/ab/abcdef...". */
  key: string;
  /** False when identical bytes were stored already (the upload was deduplicated). */
  created: boolean;
}

/** Thrown when a stream exceeds the size limit; the API maps it to 413. */
export class BlobTooLargeError extends ValidationError {
  constructor(readonly limit: number) {
    super(`the artifact is larger than the limit of ${limit} bytes (config artifactMaxBytes / ORCHESTRATOR_ARTIFACT_MAX_BYTES)`);
  }
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Counts and hashes bytes on their way through, failing once `limit` is exceeded. */
export class HashingCounter extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  constructor(private readonly limit = Number.POSITIVE_INFINITY) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) return done(new BlobTooLargeError(this.limit));
    this.hash.update(chunk);
    done(null, chunk);
  }
}

export class BlobStore {
  private readonly tmpDir: string;

  /** `root` is usually <dataDir>/artifacts. */
  constructor(readonly root: string) {
    this.tmpDir = path.join(root, 'tmp');
    fs.mkdirSync(this.tmpDir, { recursive: true });
  }

  static keyFor(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new ValidationError(`not a sha256 hex digest: '${sha256}'`);
    return `sha256/${sha256.slice(0, 2)}/${sha256}`;
  }

  /** Absolute path of a stored blob (whether or not it exists). */
  pathOf(key: string): string {
    if (!/^sha256\/[0-9a-f]{2}\/[0-9a-f]{64}$/.test(key)) throw new ValidationError(`not a blob key: '${key}'`);
    return path.join(this.root, key);
  }

  async exists(key: string): Promise<boolean> {
    try {
      await fsp.access(this.pathOf(key));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Streams `source` to disk, hashing on the way; at most `maxBytes` are accepted. Identical bytes
   * already stored are kept and the new copy discarded (dedupe).
   */
  async write(source: Readable, options: { maxBytes?: number; signal?: AbortSignal } = {}): Promise<StoredBlob> {
    const tmp = path.join(this.tmpDir, `${randomUUID()}.part`);
    const counter = new HashingCounter(options.maxBytes);
    try {
      await pipeline(source, counter, fs.createWriteStream(tmp, { flags: 'wx' }), { signal: options.signal });
      const sha256 = counter.hash.digest('hex');
      const key = BlobStore.keyFor(sha256);
      const final = this.pathOf(key);
      if (await this.exists(key)) {
        await fsp.rm(tmp, { force: true });
        return { sha256, size: counter.bytes, key, created: false };
      }
      await fsp.mkdir(path.dirname(final), { recursive: true });
      await fsp.rename(tmp, final);
      return { sha256, size: counter.bytes, key, created: true };
    } catch (error) {
      await fsp.rm(tmp, { force: true });
      throw error;
    }
  }

  /** A read stream over a blob, optionally a byte range (inclusive `end`). */
  read(key: string, range?: { start: number; end: number }): fs.ReadStream {
    return fs.createReadStream(this.pathOf(key), range ? { start: range.start, end: range.end } : {});
  }

  async remove(key: string): Promise<void> {
    await fsp.rm(this.pathOf(key), { force: true });
  }
}
