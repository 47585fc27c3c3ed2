// Content-defined chunking: FastCDC (Xia et al., 2016) with a 32-bit gear hash and normalized
// chunking. Cut points depend only on the bytes near them, so an insertion moves the boundaries of
// the chunks around it and no others. Pure and deterministic: the server, the CLI (which signs
// the index) and the device agent must find exactly the same boundaries, so every constant here
// is part of the chunk-index format (src/core/chunk-index.ts) and pinned by fixed test vectors.
import { createHash } from 'node:crypto';

/** The parameters of one chunking; stored in every index so a reader chunks its own files the same way. */
export interface ChunkerParams {
  /** No cut before this many bytes of a chunk have been seen (the first cut comes after minSize + 1). */
  minSize: number;
  /** The target average; a power of two. Up to it the stricter mask applies, past it the looser one. */
  avgSize: number;
  /** A chunk is cut here at the latest. */
  maxSize: number;
  /** Normalized chunking level: the masks have log2(avg) + level and log2(avg) - level bits. */
  normalization: number;
}

/** The smallest and largest average chunk size accepted (uploads may choose within these). */
export const MIN_AVG_CHUNK = 8 * 1024;
export const MAX_AVG_CHUNK = 4 * 1024 * 1024;

/** Chunking parameters for an average size: min = avg / 4, max = avg * 4, normalization level 2. */
export function chunkerParams(avgSize = 64 * 1024): ChunkerParams {
  return { minSize: avgSize / 4, avgSize, maxSize: avgSize * 4, normalization: 2 };
}

/** The default: ~64 KiB chunks, 16 KiB to 256 KiB. */
export const DEFAULT_CHUNKER: ChunkerParams = chunkerParams(64 * 1024);

/** What is wrong with a set of parameters, or null. */
export function chunkerParamsProblem(p: ChunkerParams): string | null {
  const bits = Math.log2(p.avgSize);
  if (!Number.isInteger(bits) || p.avgSize < MIN_AVG_CHUNK || p.avgSize > MAX_AVG_CHUNK) return `the average chunk size must be a power of two from ${MIN_AVG_CHUNK} to ${MAX_AVG_CHUNK} bytes (got ${p.avgSize})`;
  if (!Number.isInteger(p.minSize) || p.minSize < 1024 || p.minSize >= p.avgSize) return `the minimum chunk size must be an integer from 1024 to below the average (got ${p.minSize})`;
  if (!Number.isInteger(p.maxSize) || p.maxSize <= p.avgSize || p.maxSize > 16 * MAX_AVG_CHUNK) return `the maximum chunk size must be above the average and at most ${16 * MAX_AVG_CHUNK} (got ${p.maxSize})`;
  if (!Number.isInteger(p.normalization) || p.normalization < 0 || p.normalization > 4 || bits + p.normalization > 31) return `the normalization level must be 0 to 4 (got ${p.normalization})`;
  return null;
}

/**
 * The gear table: 256 pseudo-random 32-bit values, the first four bytes (big-endian) of
 * sha256("update-orchestrator/fastcdc-gear/<i>"). Changing it changes every index.
 */
export const GEAR: Int32Array = (() => {
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i++) table[i] = createHash('sha256').update(`update-orchestrator/fastcdc-gear/${i}`).digest().readInt32BE(0);
  return table;
})();

/** A mask of `ones` set bits at the top of 32: the high bits of the gear hash mix the most bytes. */
const topMask = (ones: number) => (ones <= 0 ? 0 : (0xffffffff << (32 - ones)) | 0);

/**
 * Finds chunk boundaries in a stream of bytes fed in pieces of any size; the boundaries are the
 * same however the stream is split. For each chunk: bytes before `minSize` are skipped, then the
 * gear hash `fp = (fp << 1) + GEAR[byte]` (32-bit) runs from 0; the chunk ends after the first
 * byte where `fp & mask == 0`, with the strict mask while the chunk is shorter than `avgSize`, the
 * loose one after, and at `maxSize` at the latest. The end of the stream ends the last chunk.
 */
export class Chunker {
  private len = 0;
  private fp = 0;
  private readonly maskS: number;
  private readonly maskL: number;

  constructor(readonly params: ChunkerParams = DEFAULT_CHUNKER) {
    const problem = chunkerParamsProblem(params);
    if (problem) throw new Error(problem);
    const bits = Math.log2(params.avgSize);
    this.maskS = topMask(bits + params.normalization);
    this.maskL = topMask(bits - params.normalization);
  }

  /** Bytes of the current (unfinished) chunk seen so far. */
  get pending(): number {
    return this.len;
  }

  /**
   * Scans `data` (the next bytes of the stream); calls `onCut(end)` for every chunk that ends in
   * it, `end` being the index in `data` just past the chunk's last byte.
   */
  scan(data: Uint8Array, onCut: (end: number) => void): void {
    const { minSize, avgSize, maxSize } = this.params;
    const gear = GEAR;
    const n = data.length;
    let len = this.len;
    let fp = this.fp;
    let i = 0;
    while (i < n) {
      if (len < minSize) {
        const step = Math.min(minSize - len, n - i);
        i += step;
        len += step;
        continue;
      }
      const strict = len < avgSize;
      const mask = strict ? this.maskS : this.maskL;
      const stop = Math.min(n, i + ((strict ? avgSize : maxSize) - len));
      const from = i;
      let cut = false;
      while (i < stop) {
        fp = ((fp << 1) + gear[data[i]!]!) | 0;
        i++;
        if ((fp & mask) === 0) {
          cut = true;
          break;
        }
      }
      len += i - from;
      if (cut || len >= maxSize) {
        onCut(i);
        len = 0;
        fp = 0;
      }
    }
    this.len = len;
    this.fp = fp;
  }
}

/** The chunk lengths of a whole buffer (tests, small inputs). */
export function chunkLengths(data: Uint8Array, params: ChunkerParams = DEFAULT_CHUNKER): number[] {
  const chunker = new Chunker(params);
  const lengths: number[] = [];
  let last = 0;
  chunker.scan(data, (end) => {
    lengths.push(end - last);
    last = end;
  });
  if (data.length > last) lengths.push(data.length - last);
  return lengths;
}
