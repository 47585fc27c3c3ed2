// Delta planning: given the chunk index of the file wanted and the indexes of files already held,
// which chunks can be copied locally and which byte ranges must be fetched (coalesced, split so
// each request stays bounded). Pure: the agent and the push receiver both execute these plans.
import { chunkCount, chunkKey, chunkOffsets, sameParams, type ChunkIndex } from './chunk-index.js';

/** A byte range of the wanted file: [offset, length]. Always whole chunks. */
export type ByteRange = [offset: number, length: number];

/** One chunk to copy from a held file. */
export interface ChunkCopy {
  /** Index into the `sources` given to planDelta. */
  source: number;
  sourceOffset: number;
  /** Where it goes in the wanted file. */
  offset: number;
  length: number;
  /** The chunk's number in the wanted index. */
  chunk: number;
}

export interface DeltaPlan {
  copies: ChunkCopy[];
  /** What must be fetched, in file order, coalesced, each at most `maxRangeBytes` (unless one chunk is larger). */
  missing: ByteRange[];
  reusedBytes: number;
  missingBytes: number;
}

export interface PlanOptions {
  /** A coalesced run of missing chunks is cut into ranges of at most this many bytes (default 8 MiB). */
  maxRangeBytes?: number;
}

/**
 * Plans how to build the file `wanted` describes from `sources` (files held locally, each with its
 * index). Sources chunked with other parameters share nothing and are ignored; index them again
 * with `wanted.params` to use them.
 */
export function planDelta(wanted: ChunkIndex, sources: ChunkIndex[], options: PlanOptions = {}): DeltaPlan {
  const maxRangeBytes = options.maxRangeBytes ?? 8 * 1024 * 1024;
  const held = new Map<string, { source: number; offset: number }>();
  sources.forEach((index, source) => {
    if (!sameParams(index.params, wanted.params)) return;
    const offsets = chunkOffsets(index);
    for (let i = 0; i < chunkCount(index); i++) {
      const key = chunkKey(index, i);
      if (!held.has(key)) held.set(key, { source, offset: offsets[i]! });
    }
  });
  const copies: ChunkCopy[] = [];
  const missing: ByteRange[] = [];
  let reusedBytes = 0;
  let missingBytes = 0;
  let offset = 0;
  for (let i = 0; i < chunkCount(wanted); i++) {
    const length = wanted.lengths[i]!;
    const found = held.get(chunkKey(wanted, i));
    if (found) {
      copies.push({ source: found.source, sourceOffset: found.offset, offset, length, chunk: i });
      reusedBytes += length;
    } else {
      const last = missing[missing.length - 1];
      if (last && last[0] + last[1] === offset && last[1] + length <= maxRangeBytes) last[1] += length;
      else missing.push([offset, length]);
      missingBytes += length;
    }
    offset += length;
  }
  return { copies, missing, reusedBytes, missingBytes };
}

/**
 * The next batch of ranges for one request, from `start`: at most `maxRanges` ranges and
 * `maxBytes` bytes (but always at least one range). Answers the end (exclusive) of the batch.
 */
export function nextBatch(ranges: readonly ByteRange[], start: number, limits: { maxRanges: number; maxBytes: number }): number {
  let end = start;
  let bytes = 0;
  while (end < ranges.length && end - start < limits.maxRanges) {
    const length = ranges[end]![1];
    if (end > start && bytes + length > limits.maxBytes) break;
    bytes += length;
    end++;
  }
  return end;
}

/** The chunks (first, end exclusive) a range of the wanted file covers, given the chunk offsets. */
export function chunksIn(offsets: Float64Array, range: ByteRange): [first: number, end: number] {
  let lo = 0;
  let hi = offsets.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (offsets[mid]! < range[0]) lo = mid + 1;
    else hi = mid;
  }
  let end = lo;
  const stop = range[0] + range[1];
  while (end < offsets.length && offsets[end]! < stop) end++;
  return [lo, end];
}

/** Sum of range lengths. */
export const rangeBytes = (ranges: readonly ByteRange[]) => ranges.reduce((sum, r) => sum + r[1], 0);

/** The HTTP Range header value for ranges: "bytes=0-99,200-299". */
export const rangeHeader = (ranges: readonly ByteRange[]) => 'bytes=' + ranges.map(([o, l]) => `${o}-${o + l - 1}`).join(',');
