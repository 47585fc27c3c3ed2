// A streaming tar reader (ustar, GNU long names, pax path records): yields each regular file with
// its body as a chunk stream the caller must consume or skip before asking for the next entry.
import { ValidationError } from '../../core/index.js';
import { ByteReader, collect } from '../byte-reader.js';

/** One regular file of a tar archive. */
export interface TarEntry {
  name: string;
  size: number;
  /** The body; consume it (or call skip) before advancing. */
  body: AsyncGenerator<Buffer>;
}

const BLOCK = 512;
const pad512 = (n: number) => (BLOCK - (n % BLOCK)) % BLOCK;

function cstring(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? raw.length : end).toString('utf8');
}

function octal(block: Buffer, start: number, length: number, what: string): number {
  // GNU base-256 for sizes over 8 GiB.
  if ((block[start]! & 0x80) !== 0) {
    let value = 0;
    for (let i = start + 1; i < start + length; i++) value = value * 256 + block[i]!;
    return value;
  }
  const text = cstring(block, start, length).trim();
  if (!/^[0-7]*$/.test(text)) throw new ValidationError(`${what}: a tar header has a bad number '${text}'`);
  return text === '' ? 0 : parseInt(text, 8);
}

function checksumOk(block: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
  return sum === octal(block, 148, 8, 'tar');
}

function paxPath(records: string): string | null {
  for (const line of records.split('\n')) {
    const match = /^\d+ path=(.*)$/.exec(line);
    if (match) return match[1]!;
  }
  return null;
}

/** Walks a tar stream; `what` names the archive in error messages. */
export async function* readTar(source: AsyncIterable<Uint8Array>, what: string): AsyncGenerator<TarEntry> {
  const reader = new ByteReader(source, what);
  let longName: string | null = null;
  for (;;) {
    if (await reader.atEnd()) throw new ValidationError(`${what} is truncated: the tar end marker is missing`);
    const block = await reader.read(BLOCK);
    if (block.every((b) => b === 0)) break;
    if (!checksumOk(block)) throw new ValidationError(`${what} is not a valid tar archive (header checksum mismatch at offset ${reader.position - BLOCK})`);
    const size = octal(block, 124, 12, what);
    const type = String.fromCharCode(block[156] || 0x30);
    const prefix = block.toString('latin1', 257, 262) === 'ustar' ? cstring(block, 345, 155) : '';
    const name = longName ?? (prefix ? `${prefix}/${cstring(block, 0, 100)}` : cstring(block, 0, 100));
    longName = null;
    if (type === 'L' || type === 'x') {
      const meta = (await reader.read(size)).toString('utf8');
      await reader.skip(pad512(size));
      longName = type === 'L' ? meta.replace(/\0+$/, '') : paxPath(meta);
      continue;
    }
    if (type !== '0' && type !== '\0') {
      await reader.skip(size + pad512(size));
      continue;
    }
    const end = reader.position + size;
    yield { name, size, body: reader.take(size) };
    // Whatever the consumer left unread (or abandoned) is skipped here.
    await reader.skip(end - reader.position + pad512(size));
  }
  await reader.drain();
}

/** Reads a whole (small) entry, refusing one over `limit` bytes. */
export async function readSmall(entry: TarEntry, limit: number, what: string): Promise<Buffer> {
  if (entry.size > limit) throw new ValidationError(`${what}: '${entry.name}' is ${entry.size} bytes (at most ${limit})`);
  return collect(entry.body);
}
