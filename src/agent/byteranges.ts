// Reading ranged answers on the device: a 206 with one Content-Range, or a 206
// multipart/byteranges with several parts (RFC 9110 §14.6), streamed: each part's bytes go to
// `onData(offset, bytes)` as they arrive, nothing is buffered beyond one part's headers.

/** The server answered the whole file (200) to a range request: it does not do ranges. */
export class RangesNotSupportedError extends Error {
  constructor(status: number) {
    super(`the server answered ${status} to a range request; it does not serve ranges`);
    this.name = 'RangesNotSupportedError';
  }
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/i;
const MAX_HEADER_BYTES = 8 * 1024;

function parseContentRange(value: string | null | undefined): { start: number; end: number } {
  const match = CONTENT_RANGE.exec((value ?? '').trim());
  if (!match) throw new Error(`a part without a valid Content-Range ('${value ?? ''}')`);
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (end < start) throw new Error(`Content-Range ${value} ends before it starts`);
  return { start, end };
}

/** The boundary of a multipart/byteranges content type, or null for any other type. */
export function multipartBoundary(contentType: string | null): string | null {
  if (!contentType || !/^\s*multipart\/byteranges\s*;/i.test(contentType)) return null;
  const match = /boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match ? (match[1] ?? match[2]!) : null;
}

type OnData = (offset: number, bytes: Uint8Array) => Promise<void> | void;

/** Parses a multipart/byteranges body fed in pieces. */
export class ByteRangesParser {
  private readonly delimiter: Buffer;
  private pending: Buffer = Buffer.alloc(0);
  private state: 'delimiter' | 'headers' | 'body' | 'done' = 'delimiter';
  private offset = 0;
  private remaining = 0;
  private first = true;
  parts = 0;

  constructor(
    boundary: string,
    private readonly onData: OnData,
  ) {
    this.delimiter = Buffer.from(`--${boundary}`, 'latin1');
  }

  get done(): boolean {
    return this.state === 'done';
  }

  async push(chunk: Uint8Array): Promise<void> {
    let data: Buffer = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (data.length > 0 && this.state !== 'done') {
      if (this.state === 'body') {
        const take = Math.min(this.remaining, data.length);
        await this.onData(this.offset, data.subarray(0, take));
        this.offset += take;
        this.remaining -= take;
        data = data.subarray(take);
        if (this.remaining === 0) this.state = 'delimiter';
        continue;
      }
      this.pending = this.pending.length ? Buffer.concat([this.pending, data]) : data;
      data = this.scan();
    }
  }

  /** Consumes delimiter or header bytes from `pending`; answers what follows them (body bytes). */
  private scan(): Buffer {
    for (;;) {
      if (this.state === 'delimiter') {
        // Before the first delimiter a preamble may come; later, exactly CRLF then the delimiter.
        const at = this.pending.indexOf(this.delimiter);
        if (at < 0 || this.pending.length < at + this.delimiter.length + 2) {
          if (this.pending.length > MAX_HEADER_BYTES) throw new Error('multipart/byteranges: no boundary where one was due');
          return Buffer.alloc(0);
        }
        if (!this.first && !this.pending.subarray(0, at).equals(Buffer.from('\r\n'))) throw new Error('multipart/byteranges: bytes between a part and the next boundary');
        this.first = false;
        const after = this.pending.subarray(at + this.delimiter.length, at + this.delimiter.length + 2).toString('latin1');
        if (after === '--') {
          this.state = 'done';
          this.pending = Buffer.alloc(0);
          return Buffer.alloc(0);
        }
        if (after !== '\r\n') throw new Error('multipart/byteranges: a boundary not followed by CRLF');
        this.pending = this.pending.subarray(at + this.delimiter.length + 2);
        this.state = 'headers';
      }
      if (this.state === 'headers') {
        const end = this.pending.indexOf('\r\n\r\n');
        if (end < 0) {
          if (this.pending.length > MAX_HEADER_BYTES) throw new Error('multipart/byteranges: part headers too long');
          return Buffer.alloc(0);
        }
        const lines = this.pending.subarray(0, end).toString('latin1').split('\r\n');
        const range = lines.map((l) => /^content-range\s*:\s*(.*)$/i.exec(l)?.[1]).find((v) => v !== undefined);
        const { start, end: last } = parseContentRange(range);
        this.offset = start;
        this.remaining = last - start + 1;
        this.parts++;
        const rest = this.pending.subarray(end + 4);
        this.pending = Buffer.alloc(0);
        this.state = 'body';
        return rest;
      }
      return Buffer.alloc(0);
    }
  }
}

/**
 * Reads a response to a range request: each byte goes to `onData(offset, bytes)`. Answers how
 * many body bytes came (framing included). A 200 throws RangesNotSupportedError (body cancelled).
 */
export async function readRangedResponse(response: Response, onData: OnData): Promise<number> {
  if (response.status === 200) {
    await response.body?.cancel();
    throw new RangesNotSupportedError(200);
  }
  if (response.status !== 206 || !response.body) throw new Error(`a range request answered ${response.status}`);
  const boundary = multipartBoundary(response.headers.get('content-type'));
  let received = 0;
  const reader = response.body.getReader();
  try {
    if (boundary === null) {
      let { start: offset } = parseContentRange(response.headers.get('content-range'));
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        received += value.length;
        await onData(offset, value);
        offset += value.length;
      }
      return received;
    }
    const parser = new ByteRangesParser(boundary, onData);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.length;
      await parser.push(value);
    }
    if (!parser.done) throw new Error('multipart/byteranges: the body ended before its closing boundary');
    return received;
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    throw error;
  } finally {
    reader.releaseLock();
  }
}
