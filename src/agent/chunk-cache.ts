// Chunk indexes of the files a device holds, so a delta download knows which chunks it has:
// computed by reading the file once with the same chunker the server uses (src/core), then kept
// in DIR/.chunks/<sha256>-<chunking>.cidx so the next update reads nothing. A cached index is
// trusted only for the file sha256 it names; a file that no longer hashes to it is not used.
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ChunkIndexBuilder, decodeChunkIndex, encodeChunkIndex, paramsTag, sameParams, type ChunkerParams, type ChunkIndex } from '../core/index.js';
import { writeFileAtomic } from './state.js';

export class ChunkCache {
  constructor(readonly dir: string) {}

  private fileOf(sha256: string, params: ChunkerParams): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a sha256: '${sha256}'`);
    return path.join(this.dir, `${sha256}-${paramsTag(params)}.cidx`);
  }

  /**
   * The index of `file` (whose content should hash to `sha256`) chunked with `params`: from the
   * cache, or computed now and cached. Null when the file is missing or no longer has that hash.
   */
  async indexOf(file: string, sha256: string, params: ChunkerParams): Promise<ChunkIndex | null> {
    const cached = this.fileOf(sha256, params);
    try {
      const index = decodeChunkIndex(await fs.promises.readFile(cached));
      const size = (await fs.promises.stat(file)).size;
      if (index.sha256 === sha256 && index.size === size && sameParams(index.params, params)) return index;
    } catch {
      // not cached (or unreadable): compute it
    }
    const builder = new ChunkIndexBuilder(params, { hashFile: true });
    try {
      await pipeline(fs.createReadStream(file, { highWaterMark: 1 << 20 }), async (source: AsyncIterable<Buffer>) => {
        for await (const chunk of source) builder.update(chunk);
      });
    } catch {
      return null;
    }
    const index = builder.finish();
    if (index.sha256 !== sha256) return null;
    await this.save(index);
    return index;
  }

  /** Keeps an index (e.g. the verified index of a file just installed). */
  async save(index: ChunkIndex): Promise<void> {
    await fs.promises.mkdir(this.dir, { recursive: true });
    await writeFileAtomic(this.fileOf(index.sha256, index.params), encodeChunkIndex(index));
  }

  /** Removes the indexes of files no longer held (any sha256 not in `keep`). */
  async prune(keep: Iterable<string>): Promise<void> {
    const wanted = new Set(keep);
    let names: string[];
    try {
      names = await fs.promises.readdir(this.dir);
    } catch {
      return;
    }
    await Promise.all(names.filter((n) => !wanted.has(n.slice(0, 64))).map((n) => fs.promises.rm(path.join(this.dir, n), { force: true })));
  }
}
