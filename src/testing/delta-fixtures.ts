// Generated release pairs for delta tests and `npm run bench -- delta`: deterministic bytes (an
// AES-128-CTR keystream from a seed, fast and reproducible), a ustar archive writer, and the
// three cases of issue 16 at any size: one file of a tar changed, scattered 4 KiB blocks of a
// filesystem-like image changed, and 100 KiB inserted near the start.
import { createCipheriv, createHash } from 'node:crypto';

/** `size` pseudo-random bytes, the same for the same seed on every machine. */
export function generatedBytes(seed: string, size: number): Buffer {
  const key = createHash('sha256').update(`uo-fixture/${seed}`).digest();
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  return cipher.update(Buffer.alloc(size));
}

/** Text-like bytes (words from a small vocabulary), compressible as config files and scripts are. */
export function generatedText(seed: string, size: number): Buffer {
  const words = ['config', 'value', 'enable', 'true', 'false', 'path', '/usr/lib', 'service', 'timeout', '=', '\n', 'port', '8080', '#', 'device', 'update'];
  const noise = generatedBytes(seed, size);
  const out = Buffer.alloc(size);
  let at = 0;
  for (let i = 0; at < size; i++) at += out.write(words[noise[i % size]! % words.length]! + ' ', at, 'latin1');
  return out;
}

export interface TarFile {
  name: string;
  data: Buffer;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** A ustar archive of regular files (mode 0644, fixed owner and mtime, so equal input gives equal bytes). */
export function tarArchive(files: TarFile[]): Buffer {
  const parts: Buffer[] = [];
  for (const file of files) {
    const header = Buffer.alloc(512);
    header.write(file.name.slice(0, 100), 0, 'utf8');
    header.write(octal(0o644, 8), 100, 'latin1');
    header.write(octal(0, 8), 108, 'latin1');
    header.write(octal(0, 8), 116, 'latin1');
    header.write(octal(file.data.length, 12), 124, 'latin1');
    header.write(octal(1_700_000_000, 12), 136, 'latin1');
    header.write('        ', 148, 'latin1');
    header.write('0', 156, 'latin1');
    header.write('ustar\u000000', 257, 'latin1');
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(octal(sum, 7) + ' ', 148, 'latin1');
    parts.push(header, file.data, Buffer.alloc((512 - (file.data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export type DeltaCaseName = 'tar-one-file' | 'scattered-blocks' | 'insert-near-start';
export const DELTA_CASES: DeltaCaseName[] = ['tar-one-file', 'scattered-blocks', 'insert-near-start'];

export interface DeltaCase {
  name: DeltaCaseName;
  v1: Buffer;
  v2: Buffer;
  /** Bytes that really differ: the changed file, the changed blocks, the inserted bytes. */
  changedBytes: number;
}

/** A tar of a few hundred files (binaries and text) adding up to about `size`, one of them `bigSize`. */
function releaseFiles(size: number, bigSize: number, seed: string): TarFile[] {
  const files: TarFile[] = [];
  const sizes = generatedBytes(`${seed}/sizes`, 4096);
  let total = bigSize;
  for (let i = 0; total < size - 4096; i++) {
    const want = Math.min(size - total - 2048, 4096 + ((sizes.readUInt16BE((i * 2) % 4094) * 7) % 400_000));
    const text = i % 5 === 0;
    files.push({ name: `rootfs/${text ? 'etc' : 'usr/lib'}/file-${String(i).padStart(4, '0')}${text ? '.conf' : '.so'}`, data: text ? generatedText(`${seed}/${i}`, want) : generatedBytes(`${seed}/${i}`, want) });
    total += want + 1024;
  }
  files.splice(Math.floor(files.length / 2), 0, { name: 'rootfs/usr/bin/app', data: generatedBytes(`${seed}/app`, bigSize) });
  return files;
}

/** One of the three cases at `size` bytes (the bench uses 64 MiB; tests use less). */
export function deltaCase(name: DeltaCaseName, size: number): DeltaCase {
  if (name === 'tar-one-file') {
    // A release of a few hundred files in which one 2 MiB binary (1/32 of the size) was rebuilt.
    const bigSize = Math.floor(size / 32);
    const files = releaseFiles(size, bigSize, 'tar');
    const v1 = tarArchive(files);
    const v2 = tarArchive(files.map((f) => (f.name === 'rootfs/usr/bin/app' ? { name: f.name, data: generatedBytes('tar/app-v2', bigSize) } : f)));
    return { name, v1, v2, changedBytes: bigSize };
  }
  if (name === 'scattered-blocks') {
    // A filesystem-like image of 4 KiB blocks: file data, text, metadata and zeroed free space.
    const blocks = Math.floor(size / 4096);
    const kinds = generatedBytes('fs/kinds', blocks);
    const v1 = Buffer.alloc(blocks * 4096);
    const data = generatedBytes('fs/data', blocks * 4096);
    const text = generatedText('fs/text', 1 << 20);
    for (let b = 0; b < blocks; b++) {
      const kind = kinds[b]! % 10;
      if (kind < 6) data.copy(v1, b * 4096, b * 4096, b * 4096 + 4096);
      else if (kind < 8) text.copy(v1, b * 4096, (b * 4096) % (text.length - 4096), ((b * 4096) % (text.length - 4096)) + 4096);
      // else: free space, zeros
    }
    const v2 = Buffer.from(v1);
    const changes = 8;
    for (let i = 0; i < changes; i++) {
      const block = Math.floor(((i + 0.5) / changes) * blocks);
      generatedBytes(`fs/change-${i}`, 4096).copy(v2, block * 4096);
    }
    return { name, v1, v2, changedBytes: changes * 4096 };
  }
  // insert-near-start: the release of case (a) with 100 KiB inserted 1 MiB in.
  const v1 = tarArchive(releaseFiles(size, Math.floor(size / 32), 'tar'));
  const at = Math.min(1 << 20, Math.floor(v1.length / 8));
  const inserted = 100 * 1024;
  const v2 = Buffer.concat([v1.subarray(0, at), generatedBytes('insert', inserted), v1.subarray(at)]);
  return { name, v1, v2, changedBytes: inserted };
}
