// Content-addressed blob storage on disk: <root>/sha256/ab/abcdef... Bytes stream to a temporary
// file while being hashed (and chunk-indexed), then rename into place, so a blob is either
// complete or absent. Chunk indexes live beside them, gzip-compressed and named by their digest:
// <root>/index/ab/abcdef....cidx.gz.
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { ChunkIndexBuilder, ValidationError, type ChunkerParams, type ChunkIndex } from '../core/index.js';

const gzipAsync = promisify(gzip);

/** The result of writing a blob: its hash (also its storage key), size, and whether it was new. */
export interface StoredBlob {
  sha256: string;
  size: number;
  /** Relative key: "sha256/ab/abcdef...". */
  key: string;
  /** False when identical bytes were stored already (the upload was deduplicated). */
  created: boolean;
  /** The chunk index, when asked for with `chunking`. */
  index?: ChunkIndex;
}

/** Thrown when a stream exceeds the size limit; the API maps it to 413. */
export class BlobTooLargeError extends ValidationError {
  constructor(readonly limit: number) {
    super(`the artifact is larger than the limit of ${limit} bytes (config artifactMaxBytes / ORCHESTRATOR_ARTIFACT_MAX_BYTES)`);
  }
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Counts and hashes bytes on their way through (and chunk-indexes them), failing once `limit` is exceeded. */
export class HashingCounter extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  readonly chunks: ChunkIndexBuilder | null;
  constructor(
    private readonly limit = Number.POSITIVE_INFINITY,
    chunking?: ChunkerParams,
  ) {
    super();
    this.chunks = chunking ? new ChunkIndexBuilder(chunking) : null;
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) return done(new BlobTooLargeError(this.limit));
    this.hash.update(chunk);
    this.chunks?.update(chunk);
    done(null, chunk);
  }
}

const INDEX_NAME = /^[0-9a-f]{64}$/;

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
  async write(source: Readable, options: { maxBytes?: number; signal?: AbortSignal; chunking?: ChunkerParams } = {}): Promise<StoredBlob> {
    const tmp = path.join(this.tmpDir, `${randomUUID()}.part`);
    const counter = new HashingCounter(options.maxBytes, options.chunking);
    try {
      await pipeline(source, counter, fs.createWriteStream(tmp, { flags: 'wx' }), { signal: options.signal });
      const sha256 = counter.hash.digest('hex');
      const index = counter.chunks?.finish(sha256);
      const key = BlobStore.keyFor(sha256);
      const final = this.pathOf(key);
      if (await this.exists(key)) {
        await fsp.rm(tmp, { force: true });
        return { sha256, size: counter.bytes, key, created: false, index };
      }
      await fsp.mkdir(path.dirname(final), { recursive: true });
      await fsp.rename(tmp, final);
      return { sha256, size: counter.bytes, key, created: true, index };
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

  /** Path of the gzip-compressed chunk index named by its digest (whether or not it exists). */
  indexPathOf(indexSha256: string): string {
    if (!INDEX_NAME.test(indexSha256)) throw new ValidationError(`not a chunk index digest: '${indexSha256}'`);
    return path.join(this.root, 'index', indexSha256.slice(0, 2), `${indexSha256}.cidx.gz`);
  }

  /** Stores an encoded index (gzip-compressed, written then renamed); the same digest again is a no-op. */
  async writeIndex(indexSha256: string, encoded: Buffer): Promise<void> {
    const final = this.indexPathOf(indexSha256);
    if (await fsp.access(final).then(() => true, () => false)) return;
    const tmp = path.join(this.tmpDir, `${randomUUID()}.cidx.part`);
    try {
      await fsp.writeFile(tmp, await gzipAsync(encoded, { level: 9 }), { flag: 'wx' });
      await fsp.mkdir(path.dirname(final), { recursive: true });
      await fsp.rename(tmp, final);
    } catch (error) {
      await fsp.rm(tmp, { force: true });
      throw error;
    }
  }

  async removeIndex(indexSha256: string): Promise<void> {
    await fsp.rm(this.indexPathOf(indexSha256), { force: true });
  }
}
