// Delta pushes for the device-side receiver (`agent --listen`). The sender asks which chunks the
// device lacks (POST with X-Chunk-Query and the artifact's chunk index as the body); the receiver
// indexes the artifacts it keeps, copies every chunk it holds into a temporary file, and answers
// the missing ranges with a session id; the sender then POSTs just those ranges, concatenated
// (X-Chunk-Session), and the receiver checks each chunk and the whole file's sha256 before it
// installs. Sessions live in memory for a few minutes; a lost one makes the sender push whole.
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import {
  chunkHash,
  chunkIndexDigest,
  chunkOffsets,
  chunksIn,
  decodeChunkIndex,
  planDelta,
  rangeBytes,
  verifyArtifactIndexSignature,
  type ByteRange,
  type ChunkIndex,
} from '../core/index.js';
import type { ChunkCache } from './chunk-cache.js';
import type { InstallDir } from './install-dir.js';

const gunzipAsync = promisify(gunzip);

/** What the receiver says it speaks, in the X-Update-Deltas header of its OPTIONS answer. */
export const DELTA_PROTOCOL = 'uo-chunks/1';

/** Largest chunk index a query may carry (an index of a 64 GiB artifact with 64 KiB chunks is ~40 MiB). */
const MAX_INDEX_BYTES = 64 * 1024 * 1024;

export interface PushedArtifact {
  name: string;
  version: string;
  sha256: string;
  signature: string | null;
}

/** A refusal with its HTTP status and code, answered as {"error": {code, message}}. */
export class DeltaRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Session {
  id: string;
  meta: PushedArtifact;
  index: ChunkIndex;
  temp: string;
  missing: ByteRange[];
  reused: number;
  expires: number;
}

export type QueryAnswer = { mode: 'full'; reason: string } | { mode: 'delta'; session: string; missing: ByteRange[]; reusedBytes: number; missingBytes: number };

export interface ReceiverDeltaOptions {
  install: InstallDir;
  cache: ChunkCache;
  trustedKey?: string;
  /** Smallest share of the artifact that must be held to answer a delta (default 0.1). */
  minReuse?: number;
  /** Sessions kept at once (default 8) and how long each lives (default 10 minutes). */
  maxSessions?: number;
  sessionMs?: number;
  now?: () => number;
}

async function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new DeltaRefusal(413, 'too_large', `a chunk index is at most ${limit} bytes`);
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts);
}

export class ReceiverDeltas {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly o: ReceiverDeltaOptions) {}

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** Artifacts kept in the install directory, the same name first: the files a delta copies from. */
  private async held(name: string): Promise<{ file: string; sha256: string }[]> {
    const markers = await fsp.readdir(this.o.install.markers).catch(() => [] as string[]);
    const found: { file: string; sha256: string; same: boolean; mtime: number }[] = [];
    for (const marker of markers.filter((m) => m.endsWith('.sha256'))) {
      const base = marker.slice(0, -'.sha256'.length);
      const file = path.join(this.o.install.dir, base);
      try {
        const sha256 = (await fsp.readFile(path.join(this.o.install.markers, marker), 'utf8')).trim();
        const stat = await fsp.stat(file);
        if (/^[0-9a-f]{64}$/.test(sha256)) found.push({ file, sha256, same: base.startsWith(`${name}-`), mtime: stat.mtimeMs });
      } catch {
        // a marker without its file: nothing to reuse
      }
    }
    return found.sort((a, b) => Number(b.same) - Number(a.same) || b.mtime - a.mtime).slice(0, 4);
  }

  private expire(): void {
    const now = this.now();
    for (const session of this.sessions.values()) {
      if (session.expires <= now) this.drop(session);
    }
  }

  private drop(session: Session): void {
    this.sessions.delete(session.id);
    void fsp.rm(session.temp, { force: true });
  }

  /** Answers which ranges of the pushed artifact this device lacks, having copied what it holds. */
  async query(request: IncomingMessage, meta: PushedArtifact, indexSignature: string | null, size: number | null): Promise<QueryAnswer> {
    const raw = await readBody(request, MAX_INDEX_BYTES);
    const encoding = String(request.headers['content-encoding'] ?? '').toLowerCase();
    let encoded: Buffer;
    try {
      encoded = encoding === 'gzip' ? await gunzipAsync(raw, { maxOutputLength: MAX_INDEX_BYTES }) : raw;
    } catch {
      throw new DeltaRefusal(400, 'bad_index', 'the chunk index is not valid gzip');
    }
    const indexSha256 = chunkIndexDigest(encoded);
    if (this.o.trustedKey) {
      if (!indexSignature) return { mode: 'full', reason: 'the chunk index is not signed (X-Artifact-Index-Signature) and this device trusts only signed artifacts' };
      if (!verifyArtifactIndexSignature({ ...meta, indexSha256 }, indexSignature, this.o.trustedKey)) throw new DeltaRefusal(403, 'bad_index_signature', 'the chunk index signature does not verify with this device\'s trusted key');
    }
    let index: ChunkIndex;
    try {
      index = decodeChunkIndex(encoded);
    } catch (error) {
      throw new DeltaRefusal(400, 'bad_index', (error as Error).message);
    }
    if (index.sha256 !== meta.sha256 || (size !== null && index.size !== size)) throw new DeltaRefusal(400, 'bad_index', 'the chunk index describes another file than X-Artifact-Sha256 names');
    const sources = await this.held(meta.name);
    const indexes: ChunkIndex[] = [];
    const files: string[] = [];
    for (const source of sources) {
      const local = await this.o.cache.indexOf(source.file, source.sha256, index.params);
      if (local) {
        indexes.push(local);
        files.push(source.file);
      }
    }
    const plan = planDelta(index, indexes, { maxRangeBytes: Number.MAX_SAFE_INTEGER });
    const minReuse = this.o.minReuse ?? 0.1;
    if (plan.reusedBytes === 0 || plan.reusedBytes < minReuse * index.size) return { mode: 'full', reason: `only ${plan.reusedBytes} of ${index.size} bytes are held here` };
    this.expire();
    if (this.sessions.size >= (this.o.maxSessions ?? 8)) throw new DeltaRefusal(503, 'busy', 'too many delta pushes in progress; try again, or push whole');
    const temp = this.o.install.tempFile();
    const missing = [...plan.missing];
    let reused = plan.reusedBytes;
    const out = await fsp.open(temp, 'w');
    const handles = await Promise.all(files.map((f) => fsp.open(f, 'r')));
    try {
      await out.truncate(index.size);
      const buffer = Buffer.alloc(index.params.maxSize);
      for (const copy of plan.copies) {
        const bytes = buffer.subarray(0, copy.length);
        const { bytesRead } = await handles[copy.source]!.read(bytes, 0, copy.length, copy.sourceOffset);
        if (bytesRead !== copy.length || !createHash('sha256').update(bytes).digest().equals(chunkHash(index, copy.chunk))) {
          missing.push([copy.offset, copy.length]);
          reused -= copy.length;
          continue;
        }
        await out.write(bytes, 0, copy.length, copy.offset);
      }
    } catch (error) {
      await out.close();
      await fsp.rm(temp, { force: true });
      throw error;
    } finally {
      await Promise.all(handles.map((h) => h.close()));
    }
    await out.close();
    missing.sort((a, b) => a[0] - b[0]);
    const session: Session = { id: randomUUID(), meta, index, temp, missing, reused, expires: this.now() + (this.o.sessionMs ?? 600_000) };
    this.sessions.set(session.id, session);
    return { mode: 'delta', session: session.id, missing, reusedBytes: reused, missingBytes: rangeBytes(missing) };
  }

  /**
   * Writes the missing ranges (the body, concatenated in order) into the session's file, checks
   * every chunk and the whole sha256, and answers the verified file to install.
   */
  async receive(request: IncomingMessage, sessionId: string, meta: PushedArtifact): Promise<{ temp: string; received: number; reused: number; index: ChunkIndex }> {
    this.expire();
    const session = this.sessions.get(sessionId);
    if (!session) throw new DeltaRefusal(404, 'unknown_session', `no delta session '${sessionId.slice(0, 64)}' (expired, or the receiver restarted); push the whole artifact`);
    this.sessions.delete(session.id);
    try {
      if (session.meta.sha256 !== meta.sha256 || session.meta.name !== meta.name || session.meta.version !== meta.version) throw new DeltaRefusal(400, 'wrong_session', 'the delta session is for another artifact');
      const expected = rangeBytes(session.missing);
      const out = await fsp.open(session.temp, 'r+');
      let received = 0;
      try {
        let range = 0;
        let inRange = 0;
        for await (const piece of request) {
          let chunk = piece as Buffer;
          received += chunk.length;
          if (received > expected) throw new DeltaRefusal(400, 'too_much', `the delta body is longer than the ${expected} bytes asked for`);
          while (chunk.length > 0) {
            const [offset, length] = session.missing[range]!;
            const take = Math.min(length - inRange, chunk.length);
            await out.write(chunk, 0, take, offset + inRange);
            chunk = chunk.subarray(take);
            inRange += take;
            if (inRange === length) {
              range++;
              inRange = 0;
            }
          }
        }
        if (received !== expected) throw new DeltaRefusal(400, 'too_little', `the delta body has ${received} of the ${expected} bytes asked for`);
        await out.sync();
        const offsets = chunkOffsets(session.index);
        for (const r of session.missing) {
          const [first, end] = chunksIn(offsets, r);
          for (let i = first; i < end; i++) {
            const bytes = Buffer.alloc(session.index.lengths[i]!);
            await out.read(bytes, 0, bytes.length, offsets[i]!);
            if (!createHash('sha256').update(bytes).digest().equals(chunkHash(session.index, i))) throw new DeltaRefusal(422, 'chunk_mismatch', `chunk ${i} (at ${offsets[i]}) does not hash as the index says; transfer corrupted`);
          }
        }
      } finally {
        await out.close();
      }
      const hash = createHash('sha256');
      for await (const piece of fs.createReadStream(session.temp)) hash.update(piece as Buffer);
      const actual = hash.digest('hex');
      if (actual !== meta.sha256) throw new DeltaRefusal(422, 'sha256_mismatch', `the assembled file hashes to ${actual}, not ${meta.sha256}`);
      return { temp: session.temp, received, reused: session.reused, index: session.index };
    } catch (error) {
      await fsp.rm(session.temp, { force: true });
      throw error;
    }
  }

  /** Drops every session and its temporary file (the receiver closes). */
  close(): void {
    for (const session of [...this.sessions.values()]) this.drop(session);
  }
}
