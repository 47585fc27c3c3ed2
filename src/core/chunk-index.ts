// The chunk index of a file: its content-defined chunks (length and sha256 of each, offsets
// implied), the chunking parameters and the whole file's size and sha256, in one canonical binary
// encoding whose sha256 is the index's digest (what an index signature covers). Built while the
// bytes stream past (ChunkIndexBuilder), so no second read is needed. Pure: node:crypto only.
import { createHash, type Hash } from 'node:crypto';
import { Chunker, chunkerParamsProblem, DEFAULT_CHUNKER, type ChunkerParams } from './chunker.js';

/** A file's chunks. Chunk i starts where chunk i-1 ends; the lengths add up to `size`. */
export interface ChunkIndex {
  params: ChunkerParams;
  /** The file's size, bytes. */
  size: number;
  /** Lower-case hex sha256 of the whole file. */
  sha256: string;
  /** Length of each chunk. */
  lengths: Uint32Array;
  /** The sha256 of each chunk, 32 bytes per chunk, in order. */
  hashes: Buffer;
}

/** Media type of the encoded index (served gzip-compressed where the client accepts it). */
export const CHUNK_INDEX_MEDIA_TYPE = 'application/vnd.update-orchestrator.chunk-index';

const MAGIC = Buffer.from('UOCX', 'latin1');
const FORMAT_VERSION = 1;
/** FastCDC with the 32-bit gear table of chunker.ts. */
const ALGORITHM_FASTCDC_GEAR32 = 1;
const HEADER_BYTES = 64;
const RECORD_BYTES = 36;

export const chunkCount = (index: ChunkIndex) => index.lengths.length;

/** The 32-byte sha256 of chunk `i` (a view, not a copy). */
export const chunkHash = (index: ChunkIndex, i: number) => index.hashes.subarray(i * 32, i * 32 + 32);

/** A Map key for chunk `i`'s hash. */
export const chunkKey = (index: ChunkIndex, i: number) => index.hashes.toString('latin1', i * 32, i * 32 + 32);

/** The start offset of every chunk (a prefix sum of the lengths). */
export function chunkOffsets(index: ChunkIndex): Float64Array {
  const offsets = new Float64Array(index.lengths.length);
  let at = 0;
  for (let i = 0; i < index.lengths.length; i++) {
    offsets[i] = at;
    at += index.lengths[i]!;
  }
  return offsets;
}

/** A short tag naming the chunking, for cache file names: "fastcdc-16384-65536-262144-2". */
export const paramsTag = (p: ChunkerParams) => `fastcdc-${p.minSize}-${p.avgSize}-${p.maxSize}-${p.normalization}`;

export const sameParams = (a: ChunkerParams, b: ChunkerParams) => a.minSize === b.minSize && a.avgSize === b.avgSize && a.maxSize === b.maxSize && a.normalization === b.normalization;

/**
 * Builds a ChunkIndex from bytes fed in pieces (an upload, a file read). With `hashFile` it also
 * hashes the whole file; otherwise finish() takes the file's sha256 from whoever hashed it.
 */
export class ChunkIndexBuilder {
  private readonly chunker: Chunker;
  private readonly lengths: number[] = [];
  private readonly hashes: Buffer[] = [];
  private current: Hash = createHash('sha256');
  private currentLength = 0;
  private readonly file: Hash | null;
  private size = 0;

  constructor(
    readonly params: ChunkerParams = DEFAULT_CHUNKER,
    options: { hashFile?: boolean } = {},
  ) {
    this.chunker = new Chunker(params);
    this.file = options.hashFile ? createHash('sha256') : null;
  }

  /** Feeds the next bytes. */
  update(data: Uint8Array): void {
    this.size += data.length;
    this.file?.update(data);
    let start = 0;
    this.chunker.scan(data, (end) => {
      this.current.update(data.subarray(start, end));
      this.close(this.currentLength + end - start);
      start = end;
    });
    if (start < data.length) {
      this.current.update(data.subarray(start));
      this.currentLength += data.length - start;
    }
  }

  private close(length: number): void {
    this.lengths.push(length);
    this.hashes.push(this.current.digest());
    this.current = createHash('sha256');
    this.currentLength = 0;
  }

  /** Ends the stream; `sha256` is the whole file's hash unless the builder hashed it itself. */
  finish(sha256?: string): ChunkIndex {
    if (this.currentLength > 0) this.close(this.currentLength);
    const fileHash = this.file ? this.file.digest('hex') : sha256?.toLowerCase();
    if (!fileHash || !/^[0-9a-f]{64}$/.test(fileHash)) throw new Error('the chunk index needs the file\'s sha256');
    return { params: this.params, size: this.size, sha256: fileHash, lengths: Uint32Array.from(this.lengths), hashes: Buffer.concat(this.hashes) };
  }
}

/** The index of a whole buffer. */
export function indexBytes(data: Uint8Array, params: ChunkerParams = DEFAULT_CHUNKER): ChunkIndex {
  const builder = new ChunkIndexBuilder(params, { hashFile: true });
  builder.update(data);
  return builder.finish();
}

/**
 * The canonical encoding (big-endian): "UOCX", format 1, algorithm 1 (FastCDC, gear32),
 * normalization, 0, minSize u32, avgSize u32, maxSize u32, file size u64, file sha256 (32 bytes),
 * chunk count u32; then per chunk its length u32 and sha256 (32 bytes).
 */
export function encodeChunkIndex(index: ChunkIndex): Buffer {
  const count = index.lengths.length;
  const out = Buffer.alloc(HEADER_BYTES + count * RECORD_BYTES);
  MAGIC.copy(out, 0);
  out.writeUInt8(FORMAT_VERSION, 4);
  out.writeUInt8(ALGORITHM_FASTCDC_GEAR32, 5);
  out.writeUInt8(index.params.normalization, 6);
  out.writeUInt32BE(index.params.minSize, 8);
  out.writeUInt32BE(index.params.avgSize, 12);
  out.writeUInt32BE(index.params.maxSize, 16);
  out.writeBigUInt64BE(BigInt(index.size), 20);
  Buffer.from(index.sha256, 'hex').copy(out, 28);
  out.writeUInt32BE(count, 60);
  for (let i = 0; i < count; i++) {
    const at = HEADER_BYTES + i * RECORD_BYTES;
    out.writeUInt32BE(index.lengths[i]!, at);
    index.hashes.copy(out, at + 4, i * 32, i * 32 + 32);
  }
  return out;
}

/** Thrown for bytes that are not a well-formed chunk index. */
export class ChunkIndexFormatError extends Error {
  constructor(message: string) {
    super(`not a valid chunk index: ${message}`);
    this.name = 'ChunkIndexFormatError';
  }
}

/** Decodes and checks an encoded index (lengths add up to the size, none above maxSize). */
export function decodeChunkIndex(bytes: Uint8Array): ChunkIndex {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < HEADER_BYTES || !buf.subarray(0, 4).equals(MAGIC)) throw new ChunkIndexFormatError('it does not start with UOCX');
  if (buf.readUInt8(4) !== FORMAT_VERSION) throw new ChunkIndexFormatError(`format version ${buf.readUInt8(4)} is not supported (1 is)`);
  if (buf.readUInt8(5) !== ALGORITHM_FASTCDC_GEAR32) throw new ChunkIndexFormatError(`chunking algorithm ${buf.readUInt8(5)} is not supported (1, FastCDC gear32, is)`);
  const params: ChunkerParams = { normalization: buf.readUInt8(6), minSize: buf.readUInt32BE(8), avgSize: buf.readUInt32BE(12), maxSize: buf.readUInt32BE(16) };
  const problem = chunkerParamsProblem(params);
  if (problem) throw new ChunkIndexFormatError(problem);
  const size = buf.readBigUInt64BE(20);
  if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw new ChunkIndexFormatError('the file size is too large');
  const count = buf.readUInt32BE(60);
  if (buf.length !== HEADER_BYTES + count * RECORD_BYTES) throw new ChunkIndexFormatError(`${count} chunks need ${HEADER_BYTES + count * RECORD_BYTES} bytes, got ${buf.length}`);
  const lengths = new Uint32Array(count);
  const hashes = Buffer.alloc(count * 32);
  let total = 0;
  for (let i = 0; i < count; i++) {
    const at = HEADER_BYTES + i * RECORD_BYTES;
    const length = buf.readUInt32BE(at);
    if (length === 0 || length > params.maxSize) throw new ChunkIndexFormatError(`chunk ${i} has length ${length} (1 to ${params.maxSize} allowed)`);
    lengths[i] = length;
    total += length;
    buf.copy(hashes, i * 32, at + 4, at + 36);
  }
  if (total !== Number(size)) throw new ChunkIndexFormatError(`the chunks add up to ${total} bytes, the file has ${size}`);
  return { params, size: Number(size), sha256: buf.subarray(28, 60).toString('hex'), lengths, hashes };
}

/** The index's digest: hex sha256 of its canonical encoding. */
export const chunkIndexDigest = (encoded: Uint8Array) => createHash('sha256').update(encoded).digest('hex');

/** The largest encoding an index of a file of `size` bytes can have with any valid parameters (chunks past 1024 bytes but the last). */
export function maxEncodedIndexBytes(size: number): number {
  return HEADER_BYTES + (Math.ceil(size / 1025) + 1) * RECORD_BYTES;
}
