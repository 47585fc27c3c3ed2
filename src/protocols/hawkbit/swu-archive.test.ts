// .swu parsing: archives built here byte by byte (CPIO newc) and with the real `cpio` tool.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/index.js';
import { commandMissing, requirePeer } from '../../testing/peers.js';
import { parseLibconfig } from './libconfig.js';
import { parseSwu, parseSwuBuffer } from './swu-archive.js';
import { buildCpio } from './swu.fixtures.js';

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

const payload = 'firmware bytes v2\n';
const description = (hash: string) => `
# comment
software =
{
  version = "2.0.1";
  description = "demo" " image";
  hardware-compatibility: [ "1.0", "1.2" ];
  files: (
    {
      filename = "app.bin";
      path = "/opt/app.bin";
      sha256 = "${hash}";
    }
  );
  /* board-specific */
  board-a = { images: ( { filename = "app.bin"; device = "/dev/mmcblk0p2"; } ); };
}
`;

describe('parseLibconfig', () => {
  it('reads groups, lists, arrays, concatenated strings, numbers and booleans', () => {
    const doc = parseLibconfig('a = { b = 1; c = "x" "y"; d = [1, 2]; e = ( { f = true; } ); g = 0x10; };');
    expect(doc).toEqual({ a: { b: 1, c: 'xy', d: [1, 2], e: [{ f: true }], g: 16 } });
  });
  it('reads JSON', () => {
    expect(parseLibconfig('{"software": {"version": "1.0", "files": []}}')).toEqual({ software: { version: '1.0', files: [] } });
  });
  it('reports the line of a syntax error', () => {
    expect(() => parseLibconfig('a = 1;\nb = ;')).toThrow(/line 2/);
  });
});

describe('parseSwu', () => {
  it('reads version, hardware compatibility and payloads, checking member hashes', async () => {
    const info = await parseSwuBuffer(buildCpio([['sw-description', description(sha(payload))], ['sw-description.sig', 'sig'], ['app.bin', payload]]));
    expect(info.version).toBe('2.0.1');
    expect(info.description).toBe('demo image');
    expect(info.hardwareCompatibility).toEqual(['1.0', '1.2']);
    expect(info.signed).toBe(true);
    expect(info.payloads).toEqual([
      { kind: 'files', filename: 'app.bin', sha256: sha(payload), target: '/opt/app.bin' },
      { kind: 'images', filename: 'app.bin', sha256: null, target: '/dev/mmcblk0p2' },
    ]);
    expect(info.members.map((m) => [m.name, m.size])).toEqual([['sw-description', description(sha(payload)).length], ['sw-description.sig', 3], ['app.bin', payload.length]]);
  });

  it('works when the stream arrives one byte at a time', async () => {
    const bytes = buildCpio([['sw-description', description(sha(payload))], ['app.bin', payload]]);
    const info = await parseSwu((async function* () {
      for (const b of bytes) yield Uint8Array.of(b);
    })());
    expect(info.version).toBe('2.0.1');
    expect(info.signed).toBe(false);
  });

  it.each([
    ['sw-description not first', () => buildCpio([['app.bin', payload], ['sw-description', description(sha(payload))]]), /first member must be 'sw-description'/],
    ['a wrong hash', () => buildCpio([['sw-description', description(sha('other'))], ['app.bin', payload]]), /sha256 of 'app.bin'/],
    ['a missing payload', () => buildCpio([['sw-description', description(sha(payload))]]), /does not contain it/],
    ['a tar file', () => Buffer.concat([Buffer.from('ustar'), Buffer.alloc(600)]), /CPIO newc header/],
    ['a truncated archive', () => buildCpio([['sw-description', description(sha(payload))], ['app.bin', payload]]).subarray(0, 300), /truncated/],
    ['bad sw-description syntax', () => buildCpio([['sw-description', 'software = { version = ; }']]), /sw-description line 1/],
    ['no software group', () => buildCpio([['sw-description', 'other = 1;']]), /no 'software' group/],
  ])('refuses %s with a clear message', async (_label, make, message) => {
    const error = await parseSwuBuffer(make()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(message);
  });

  it.skipIf(requirePeer('cpio', commandMissing('cpio', ['--version'], 'cpio')))('reads an archive written by the cpio tool (-H crc, as SWUpdate documents)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swu-'));
    fs.writeFileSync(path.join(dir, 'sw-description'), description(sha(payload)));
    fs.writeFileSync(path.join(dir, 'app.bin'), payload);
    const bytes = execFileSync('cpio', ['-o', '-H', 'crc', '--quiet'], { cwd: dir, input: 'sw-description\napp.bin\n' });
    const info = await parseSwuBuffer(bytes);
    expect(info.version).toBe('2.0.1');
    expect(info.members.map((m) => m.name)).toEqual(['sw-description', 'app.bin']);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
