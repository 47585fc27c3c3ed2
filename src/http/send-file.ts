// Sending a stored file as a reply, the one way every route that serves artifact bytes does it
// (the operator API, the device API, the hawkBit and Mender adapters): a strong ETag, If-None-Match
// (304), Range (206 one range, 206 multipart/byteranges for several, 416 unsatisfiable or too
// many) and If-Range (a range only while the client's copy is this file). Each reply counts the
// bytes it really writes (served-bytes metrics) and may be paced (bandwidth caps). HEAD answers
// the same headers and opens no file: Fastify's HEAD route would read a stream through to drop
// it, which would count (and pace) bytes that never left.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { Readable, Transform } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MAX_RANGES_PER_REQUEST, parseRanges, type ByteSpan } from './byte-ranges.js';
import { etagMatches } from './etag.js';

export interface SendFileOptions {
  /** Strong ETag of the file, quoted; If-Range must equal it for a range to be honoured. */
  etag: string;
  /** Media type of the bytes (default application/octet-stream). */
  contentType?: string;
  /** Sets Content-Disposition: attachment with this file name. */
  attachmentName?: string;
  /** Bytes written to the client (file bytes and multipart framing), as they go. */
  onBytes?: (n: number) => void;
  /** Bandwidth caps: ms to wait before writing the next n bytes (pull/bandwidth-limiter.ts). */
  pace?: (n: number) => number;
}

/** A file stream whose bytes are counted as they are read out (paused first: the reply's pipe starts it). */
function counted(stream: fs.ReadStream, onBytes: (n: number) => void): fs.ReadStream {
  stream.pause();
  stream.on('data', (chunk) => onBytes(chunk.length));
  return stream;
}

/**
 * `source` written out no faster than `pace` allows: each chunk waits the ms its reservation
 * answers (bandwidth caps). Backpressure holds the reads meanwhile; nothing is refused.
 */
function paced(source: Readable, pace: ((n: number) => number) | undefined): Readable {
  if (!pace) return source;
  let timer: NodeJS.Timeout | undefined;
  const out = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const wait = pace(chunk.length);
      if (wait <= 0) return done(null, chunk);
      timer = setTimeout(() => done(null, chunk), wait);
    },
    destroy(error, done) {
      clearTimeout(timer);
      source.destroy();
      done(error);
    },
  });
  source.on('error', (error) => out.destroy(error));
  return source.pipe(out);
}

async function* multipartBody(file: string, ranges: ByteSpan[], heads: Buffer[], tail: Buffer, onBytes: (n: number) => void): AsyncGenerator<Buffer> {
  const handle = await fs.promises.open(file, 'r');
  try {
    for (let i = 0; i < ranges.length; i++) {
      onBytes(heads[i]!.length);
      yield heads[i]!;
      const { start, end } = ranges[i]!;
      for (let at = start; at <= end; ) {
        const want = Math.min(256 * 1024, end - at + 1);
        const { bytesRead, buffer } = await handle.read(Buffer.allocUnsafe(want), 0, want, at);
        if (bytesRead === 0) throw new Error(`${file} ended at ${at}, before ${end + 1}`);
        at += bytesRead;
        onBytes(bytesRead);
        yield buffer.subarray(0, bytesRead);
      }
    }
    onBytes(tail.length);
    yield tail;
  } finally {
    await handle.close();
  }
}

/** Answers a GET (or HEAD) for a stored file: 200 whole, 304, 206 one range, 206 multipart/byteranges, or 416. */
export async function sendFile(request: FastifyRequest, reply: FastifyReply, file: string, o: SendFileOptions): Promise<FastifyReply> {
  const size = (await fs.promises.stat(file)).size;
  const contentType = o.contentType ?? 'application/octet-stream';
  const onBytes = o.onBytes ?? (() => undefined);
  const body = (open: () => Readable): Readable => (request.method === 'HEAD' ? Readable.from([]) : paced(open(), o.pace));
  reply.header('accept-ranges', 'bytes').header('etag', o.etag);
  if (o.attachmentName !== undefined) reply.header('content-disposition', `attachment; filename="${o.attachmentName}"`);
  // If-None-Match is evaluated before Range (RFC 9110 §13.2.2): a client holding this file gets no bytes.
  if (etagMatches(request.headers['if-none-match'], o.etag)) return reply.code(304).send();
  // If-Range compares strongly: only this exact ETag keeps the range; a date or another tag means the whole file.
  const ifRange = request.headers['if-range'];
  const parsed = ifRange && ifRange !== o.etag ? ({ kind: 'none' } as const) : parseRanges(request.headers.range, size);
  if (parsed.kind === 'unsatisfiable') return reply.code(416).header('content-range', `bytes */${size}`).send();
  if (parsed.kind === 'too-many') {
    return reply
      .code(416)
      .header('content-range', `bytes */${size}`)
      .send({ error: { code: 'too_many_ranges', message: `at most ${MAX_RANGES_PER_REQUEST} ranges per request after merging (got ${parsed.count}); split the request`, details: [] } });
  }
  if (parsed.kind === 'none') {
    reply.type(contentType).header('content-length', size);
    return reply.send(body(() => counted(fs.createReadStream(file), onBytes)));
  }
  const { ranges } = parsed;
  if (ranges.length === 1) {
    const { start, end } = ranges[0]!;
    reply.code(206).type(contentType).header('content-range', `bytes ${start}-${end}/${size}`).header('content-length', end - start + 1);
    return reply.send(body(() => counted(fs.createReadStream(file, { start, end }), onBytes)));
  }
  const boundary = `uo-${randomBytes(12).toString('hex')}`;
  const heads = ranges.map((r, i) => Buffer.from(`${i === 0 ? '' : '\r\n'}--${boundary}\r\ncontent-type: ${contentType}\r\ncontent-range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`, 'latin1'));
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  const length = heads.reduce((n, h) => n + h.length, 0) + ranges.reduce((n, r) => n + r.end - r.start + 1, 0) + tail.length;
  reply.code(206).header('content-type', `multipart/byteranges; boundary=${boundary}`).header('content-length', length);
  return reply.send(body(() => Readable.from(multipartBody(file, ranges, heads, tail, onBytes), { objectMode: false })));
}
