// Pull-style reading of exact byte counts from a chunked stream (an upload, a gunzip output), so
// archive parsers (CPIO for .swu, tar for .mender) walk headers without buffering whole payloads.
import { ValidationError } from '../core/index.js';

/** Reads exact byte counts from an async iterable of chunks; keeps at most one chunk buffered. */
export class ByteReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private pending: Buffer = Buffer.alloc(0);
  private done = false;
  /** Bytes consumed so far. */
  position = 0;

  constructor(
    source: AsyncIterable<Uint8Array>,
    private readonly what: string,
  ) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Fills the buffer with at least `n` bytes unless the stream ends first; answers what is available. */
  private async fill(n: number): Promise<number> {
    while (this.pending.length < n && !this.done) {
      const next = await this.iterator.next();
      if (next.done) this.done = true;
      else if (next.value.length > 0) this.pending = this.pending.length === 0 ? Buffer.from(next.value) : Buffer.concat([this.pending, next.value]);
    }
    return this.pending.length;
  }

  /** True when no byte is left. */
  async atEnd(): Promise<boolean> {
    return (await this.fill(1)) === 0;
  }

  /** Exactly `n` bytes; a shorter stream is a truncated archive. */
  async read(n: number): Promise<Buffer> {
    if ((await this.fill(n)) < n) throw new ValidationError(`${this.what} is truncated: expected ${n} more bytes at offset ${this.position}`);
    const out = this.pending.subarray(0, n);
    this.pending = this.pending.subarray(n);
    this.position += n;
    return out;
  }

  /** Streams the next `n` bytes chunk by chunk (for hashing or skipping payloads). */
  async *take(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if ((await this.fill(1)) === 0) throw new ValidationError(`${this.what} is truncated: expected ${left} more bytes at offset ${this.position}`);
      const size = Math.min(left, this.pending.length);
      const chunk = this.pending.subarray(0, size);
      this.pending = this.pending.subarray(size);
      this.position += size;
      left -= size;
      yield chunk;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const _chunk of this.take(n));
  }

  /** Drains whatever follows (trailing padding) so the producer is not left blocked. */
  async drain(): Promise<void> {
    this.pending = Buffer.alloc(0);
    while (!this.done) {
      const next = await this.iterator.next();
      if (next.done) this.done = true;
    }
  }
}

/** Buffers a whole stream (small archive members only; callers bound the size first). */
export async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}
