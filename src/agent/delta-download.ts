// Delta downloads: with an earlier release on disk (the other slot), fetch the new artifact's
// chunk index, copy every chunk already held into the partial file, and fetch only the missing
// byte ranges, several per request, one batch per step so a restart resumes from the last batch.
// Anything that makes the delta untrustworthy or unworkable (no index, a bad index signature,
// too little shared, a chunk that hashes wrong, a server without ranges) falls back to a full
// download; the whole file's sha256 and signature are checked before install either way.
import { createHash, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  chunkHash,
  chunkIndexDigest,
  chunkOffsets,
  chunksIn,
  ChunkIndexFormatError,
  decodeChunkIndex,
  maxEncodedIndexBytes,
  nextBatch,
  planDelta,
  rangeBytes,
  verifyArtifactIndexSignature,
  type ByteRange,
  type ChunkCopy,
  type ChunkIndex,
} from '../core/index.js';
import { RangesNotSupportedError } from './byteranges.js';
import type { ChunkCache } from './chunk-cache.js';
import { ProtocolError, type AgentClient } from './client.js';
import type { AgentLog } from './log.js';
import type { AgentJob, AgentState, TransferState } from './state.js';

export interface DeltaOptions {
  /** The agent directory: release files are relative to it. */
  dir: string;
  cache: ChunkCache;
  /** Smallest share of the file that must be held locally to fetch a delta, 0..1 (default 0.1). */
  minReuse?: number;
  /** Ranges per request (default 32; the orchestrator accepts up to 256). */
  maxRangesPerRequest?: number;
  /** Bytes per request (default 16 MiB): one batch, the unit a restart repeats. */
  maxRequestBytes?: number;
  /** Retryable failures of one batch before falling back to a full download (default 3). */
  maxBatchFailures?: number;
}

/** What a delta step needs of the agent. */
export interface DeltaIo {
  client: AgentClient;
  trustedKey: string | KeyObject | null;
  log: AgentLog;
  /** The partial file the artifact is assembled in. */
  partialFile: string;
  onProgress?: () => void;
}

/** The delta cannot go on: download the whole file instead (the reason is logged and kept). */
export class DeltaFallback extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeltaFallback';
  }
}

const sidecarOf = (partialFile: string) => partialFile.replace(/(\.part)?$/, '.cidx');

export class DeltaDownloader {
  private cachedIndex: { file: string; index: ChunkIndex; offsets: Float64Array } | null = null;

  constructor(private readonly o: DeltaOptions) {}

  /** Files held here that a delta may copy from: the current and the previous release. */
  sources(state: AgentState): { file: string; sha256: string }[] {
    const out: { file: string; sha256: string }[] = [];
    for (const release of [state.current, state.previous]) {
      if (!release?.file || !release.sha256 || out.some((s) => s.sha256 === release.sha256)) continue;
      const file = path.join(this.o.dir, release.file);
      if (fs.existsSync(file)) out.push({ file, sha256: release.sha256 });
    }
    return out;
  }

  /**
   * Decides how to download: answers a full transfer (with its reason) or a delta whose held
   * chunks are already copied into the partial file, leaving `missing` to fetch.
   */
  async prepare(job: AgentJob, state: AgentState, io: DeltaIo): Promise<TransferState> {
    const { update } = job;
    let fetched = 0;
    const full = (reason: string): TransferState => {
      io.log.info('downloading the whole artifact', { version: update.version, reason });
      return { mode: 'full', reason, fetched, reused: 0 };
    };
    const index = update.index;
    if (!index || !update.sha256) return full('the server offers no chunk index for it');
    if (io.trustedKey) {
      if (!index.signature) return full('its chunk index is not signed, and this agent trusts only what the trusted key signed');
      if (!verifyArtifactIndexSignature({ name: update.name, version: update.version, sha256: update.sha256, indexSha256: index.sha256 }, index.signature, io.trustedKey)) return full('its chunk index signature does not verify with the trusted key');
    }
    const sources = this.sources(state);
    if (sources.length === 0) return full('no earlier release on this device to reuse chunks from');
    let encoded: Buffer;
    try {
      const answer = await io.client.fetchIndex(index.url, maxEncodedIndexBytes(update.size));
      fetched += answer.wireBytes;
      encoded = answer.bytes;
    } catch (error) {
      if (error instanceof ProtocolError && !error.retryable) return full(`the chunk index is not available (${error.message})`);
      throw error;
    }
    if (chunkIndexDigest(encoded) !== index.sha256) return full('the chunk index fetched does not hash to the digest the target names');
    let wanted: ChunkIndex;
    try {
      wanted = decodeChunkIndex(encoded);
    } catch (error) {
      if (error instanceof ChunkIndexFormatError) return full(error.message);
      throw error;
    }
    if (wanted.sha256 !== update.sha256.toLowerCase() || wanted.size !== update.size) return full('the chunk index describes another file');
    await fs.promises.writeFile(sidecarOf(io.partialFile), encoded);
    const held: ChunkIndex[] = [];
    const files: string[] = [];
    for (const source of sources) {
      const local = await this.o.cache.indexOf(source.file, source.sha256, wanted.params);
      if (local) {
        held.push(local);
        files.push(source.file);
      }
    }
    const plan = planDelta(wanted, held, { maxRangeBytes: Math.min(this.maxRequestBytes, 8 * 1024 * 1024) });
    const minReuse = this.o.minReuse ?? 0.1;
    if (plan.reusedBytes < minReuse * update.size || plan.reusedBytes === 0) {
      return full(`only ${percent(plan.reusedBytes, update.size)} of it is held here (a delta needs ${percent(minReuse, 1)})`);
    }
    const failed = await this.assemble(io.partialFile, wanted, plan.copies, files);
    const missing = failed.length ? recoalesce([...plan.missing, ...failed]) : plan.missing;
    const reused = plan.reusedBytes - rangeBytes(failed);
    job.bytes = reused;
    io.log.info('fetching a delta', { version: update.version, reused: reused, missing: rangeBytes(missing), ranges: missing.length, from: files.length });
    return { mode: 'delta', fetched, reused, missing, next: 0 };
  }

  private get maxRequestBytes(): number {
    return this.o.maxRequestBytes ?? 16 * 1024 * 1024;
  }

  /** Writes the held chunks into a fresh partial file of the right size; answers the chunks that did not hash right (to fetch). */
  private async assemble(partialFile: string, wanted: ChunkIndex, copies: ChunkCopy[], files: string[]): Promise<ByteRange[]> {
    const out = await fs.promises.open(partialFile, 'w');
    const handles = await Promise.all(files.map((f) => fs.promises.open(f, 'r')));
    const failed: ByteRange[] = [];
    try {
      await out.truncate(wanted.size);
      let buffer = Buffer.alloc(wanted.params.maxSize);
      for (const copy of copies) {
        if (buffer.length < copy.length) buffer = Buffer.alloc(copy.length);
        const { bytesRead } = await handles[copy.source]!.read(buffer, 0, copy.length, copy.sourceOffset);
        const bytes = buffer.subarray(0, copy.length);
        // The held file changed since it was indexed: fetch this chunk instead.
        if (bytesRead !== copy.length || !createHash('sha256').update(bytes).digest().equals(chunkHash(wanted, copy.chunk))) {
          failed.push([copy.offset, copy.length]);
          continue;
        }
        await out.write(bytes, 0, copy.length, copy.offset);
      }
      await out.sync();
    } finally {
      await out.close();
      await Promise.all(handles.map((h) => h.close()));
    }
    return failed;
  }

  private async wantedIndex(partialFile: string): Promise<{ index: ChunkIndex; offsets: Float64Array }> {
    const file = sidecarOf(partialFile);
    if (this.cachedIndex?.file !== file) {
      let index: ChunkIndex;
      try {
        index = decodeChunkIndex(await fs.promises.readFile(file));
      } catch (error) {
        throw new DeltaFallback(`the saved chunk index is gone or damaged (${(error as Error).message})`);
      }
      this.cachedIndex = { file, index, offsets: chunkOffsets(index) };
    }
    return this.cachedIndex;
  }

  /**
   * Fetches the next batch of missing ranges into the partial file and checks every chunk in it
   * against the index. Answers true once nothing is missing. Throws DeltaFallback when the delta
   * cannot succeed (a corrupted chunk, a server without ranges, repeated failures).
   */
  async fetchNext(job: AgentJob, io: DeltaIo): Promise<boolean> {
    const transfer = job.transfer!;
    const missing = transfer.missing ?? [];
    const start = transfer.next ?? 0;
    if (start >= missing.length) return true;
    const { index, offsets } = await this.wantedIndex(io.partialFile);
    const end = nextBatch(missing, start, { maxRanges: this.o.maxRangesPerRequest ?? 32, maxBytes: this.maxRequestBytes });
    const batch = missing.slice(start, end);
    const covered = batch.map(() => 0);
    const out = await fs.promises.open(io.partialFile, 'r+');
    try {
      const received = await io.client.fetchRanges(
        job.update.downloadUrl!,
        batch,
        async (offset, bytes) => {
          // Only bytes inside the ranges asked for are written: the rest of the file is held here.
          for (let i = 0; i < batch.length; i++) {
            const [from, length] = batch[i]!;
            const lo = Math.max(from, offset);
            const hi = Math.min(from + length, offset + bytes.length);
            if (lo >= hi) continue;
            await out.write(bytes, lo - offset, hi - lo, lo);
            covered[i]! += hi - lo;
          }
          job.bytes = transfer.reused + rangeBytes(missing.slice(0, start)) + covered.reduce((a, b) => a + b, 0);
          io.onProgress?.();
        },
        { ifRange: `"${job.update.sha256}"` },
      ).catch((error: unknown) => {
        if (error instanceof RangesNotSupportedError) throw new DeltaFallback('the server answered the whole file to a range request');
        throw error;
      });
      transfer.fetched += received;
      const short = batch.findIndex(([, length], i) => covered[i]! < length);
      if (short >= 0) throw new ProtocolError(`download: the server sent ${covered[short]} of the ${batch[short]![1]} bytes at ${batch[short]![0]}`, 0);
      await out.sync();
      for (const range of batch) await this.check(out, index, offsets, range);
    } catch (error) {
      if (error instanceof DeltaFallback) throw error;
      if (error instanceof ProtocolError && !error.retryable) throw new DeltaFallback(`the server refused the ranges (${error.message})`);
      transfer.failures = (transfer.failures ?? 0) + 1;
      if (transfer.failures >= (this.o.maxBatchFailures ?? 3)) throw new DeltaFallback(`fetching ranges failed ${transfer.failures} times (${(error as Error).message})`);
      throw error;
    } finally {
      await out.close();
    }
    transfer.next = end;
    transfer.failures = 0;
    return end >= missing.length;
  }

  /** Reads back the chunks of a fetched range and compares each with the index. */
  private async check(file: fs.promises.FileHandle, index: ChunkIndex, offsets: Float64Array, range: ByteRange): Promise<void> {
    const [first, end] = chunksIn(offsets, range);
    for (let i = first; i < end; i++) {
      const length = index.lengths[i]!;
      const bytes = Buffer.alloc(length);
      await file.read(bytes, 0, length, offsets[i]!);
      if (!createHash('sha256').update(bytes).digest().equals(chunkHash(index, i))) {
        throw new DeltaFallback(`chunk ${i} (bytes ${offsets[i]}-${offsets[i]! + length - 1}) arrived corrupted: its sha256 is not the index's`);
      }
    }
  }

  /** After the assembled file verified: keep its index for the next update, forget indexes of files gone. */
  async remember(job: AgentJob, state: AgentState, partialFile: string): Promise<void> {
    try {
      const index = decodeChunkIndex(await fs.promises.readFile(sidecarOf(partialFile)));
      if (index.sha256 === job.update.sha256) await this.o.cache.save(index);
    } catch {
      // no index fetched (a full download): it is computed when first needed
    }
    await this.o.cache.prune([state.current?.sha256, state.previous?.sha256, job.update.sha256].filter((s): s is string => !!s));
  }

  /** Removes what a delta left next to the partial file. */
  async discard(partialFile: string): Promise<void> {
    if (this.cachedIndex?.file === sidecarOf(partialFile)) this.cachedIndex = null;
    await fs.promises.rm(sidecarOf(partialFile), { force: true });
  }
}

const percent = (part: number, whole: number) => `${whole > 0 ? Math.round((part / whole) * 1000) / 10 : 0}%`;

/** Sorts ranges and joins touching ones (after chunks that failed to copy became missing). */
function recoalesce(ranges: ByteRange[]): ByteRange[] {
  const sorted = ranges.map((r) => [r[0], r[1]] as ByteRange).sort((a, b) => a[0] - b[0]);
  const out: ByteRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && last[0] + last[1] === r[0]) last[1] += r[1];
    else out.push(r);
  }
  return out;
}

