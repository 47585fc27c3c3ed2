// Range requests on stored files (RFC 9110 §14): one range answers 206 with Content-Range, several
// answer 206 multipart/byteranges, so a delta download fetches its missing chunks in few requests.
// Ranges are sorted and overlapping or adjacent ones merged; a set of more than `maxRanges` after
// merging is refused (416, as the RFC allows against denial of service), never silently ignored.
// Every reply counts the bytes it really wrote, for the per-rollout served-bytes metric.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { Readable, Transform } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** One satisfiable range, `end` inclusive. */
export interface ByteSpan {
  start: number;
  end: number;
}

/** Most ranges (after merging) one request may ask for. */
export const MAX_RANGES_PER_REQUEST = 256;

export type RangesResult = { kind: 'none' } | { kind: 'ranges'; ranges: ByteSpan[] } | { kind: 'unsatisfiable' } | { kind: 'too-many'; count: number };

/**
 * Parses a Range header against a size. Absent or malformed headers mean the whole file (RFC
 * 9110 lets a server ignore them); ranges outside the file are dropped, and if none is left the
 * request is unsatisfiable.
 */
export function parseRanges(value: string | undefined, size: number, maxRanges = MAX_RANGES_PER_REQUEST): RangesResult {
  if (!value) return { kind: 'none' };
  const match = /^\s*bytes\s*=\s*(.+)$/i.exec(value);
  if (!match) return { kind: 'none' };
  const specs = match[1]!.split(',');
  // A header that long is an attack or a bug; do not even parse it.
  if (specs.length > maxRanges * 4) return { kind: 'too-many', count: specs.length };
  const spans: ByteSpan[] = [];
  for (const raw of specs) {
    const spec = /^\s*(\d*)\s*-\s*(\d*)\s*$/.exec(raw);
    if (!spec || (spec[1] === '' && spec[2] === '')) return { kind: 'none' };
    if (spec[1] === '') {
      const suffix = Number(spec[2]);
      if (suffix > 0 && size > 0) spans.push({ start: Math.max(0, size - suffix), end: size - 1 });
      continue;
    }
    const start = Number(spec[1]);
    const end = spec[2] === '' ? size - 1 : Math.min(Number(spec[2]), size - 1);
    if (spec[2] !== '' && Number(spec[2]) < start) return { kind: 'none' };
    if (start < size && start <= end) spans.push({ start, end });
  }
  if (spans.length === 0) return { kind: 'unsatisfiable' };
  spans.sort((a, b) => a.start - b.start);
  const merged: ByteSpan[] = [spans[0]!];
  for (const span of spans.slice(1)) {
    const last = merged[merged.length - 1]!;
    if (span.start <= last.end + 1) last.end = Math.max(last.end, span.end);
    else merged.push(span);
  }
  if (merged.length > maxRanges) return { kind: 'too-many', count: merged.length };
  return { kind: 'ranges', ranges: merged };
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

export interface SendFileOptions {
  size: number;
  /** Strong ETag of the file; If-Range must match it for a range to be honoured. */
  etag: string;
  contentType: string;
  /** Bytes written to the client, as they go. */
  onBytes?: (n: number) => void;
  /** Bandwidth caps: ms to wait before writing the next n bytes (fleet/bandwidth-limiter.ts). */
  pace?: (n: number) => number;
}

/** Answers a GET for a stored file: 200 whole, 206 one range, 206 multipart/byteranges, or 416. */
export function sendFileRanges(request: FastifyRequest, reply: FastifyReply, file: string, o: SendFileOptions): FastifyReply {
  const onBytes = o.onBytes ?? (() => undefined);
  reply.header('accept-ranges', 'bytes').header('etag', o.etag);
  const ifRange = request.headers['if-range'];
  const parsed: RangesResult = ifRange && ifRange !== o.etag ? { kind: 'none' } : parseRanges(request.headers.range, o.size);
  if (parsed.kind === 'unsatisfiable') return reply.code(416).header('content-range', `bytes */${o.size}`).send();
  if (parsed.kind === 'too-many') {
    return reply.code(416).header('content-range', `bytes */${o.size}`).send({ error: { code: 'too_many_ranges', message: `at most ${MAX_RANGES_PER_REQUEST} ranges per request after merging (got ${parsed.count}); split the request`, details: [] } });
  }
  if (parsed.kind === 'none') {
    reply.type(o.contentType).header('content-length', o.size);
    return reply.send(paced(counted(fs.createReadStream(file), onBytes), o.pace));
  }
  const { ranges } = parsed;
  if (ranges.length === 1) {
    const { start, end } = ranges[0]!;
    reply.code(206).type(o.contentType).header('content-range', `bytes ${start}-${end}/${o.size}`).header('content-length', end - start + 1);
    return reply.send(paced(counted(fs.createReadStream(file, { start, end }), onBytes), o.pace));
  }
  const boundary = `uo-${randomBytes(12).toString('hex')}`;
  const heads = ranges.map((r, i) => Buffer.from(`${i === 0 ? '' : '\r\n'}--${boundary}\r\ncontent-type: ${o.contentType}\r\ncontent-range: bytes ${r.start}-${r.end}/${o.size}\r\n\r\n`, 'latin1'));
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  const length = heads.reduce((n, h) => n + h.length, 0) + ranges.reduce((n, r) => n + r.end - r.start + 1, 0) + tail.length;
  reply.code(206).header('content-type', `multipart/byteranges; boundary=${boundary}`).header('content-length', length);
  return reply.send(paced(Readable.from(multipartBody(file, ranges, heads, tail, onBytes), { objectMode: false }), o.pace));
}
