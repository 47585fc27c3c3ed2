// .mender parsing: artifacts built here byte by byte and with the real `mender-artifact` tool.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/index.js';
import { commandMissing, requirePeer } from '../../testing/peers.js';
import { parseMenderArtifact, parseMenderBuffer } from './mender-artifact.js';
import { buildMenderArtifact, buildTar } from './mender.fixtures.js';

const sha = (b: string) => createHash('sha256').update(b).digest('hex');

describe('parseMenderArtifact', () => {
  it('reads name, device types, provides and files, checking the manifest', async () => {
    const bytes = buildMenderArtifact({ name: 'app-2.0', deviceTypes: ['pos-a', 'pos-b'], files: [['app.bin', 'v2 bytes'], ['dest_dir', '/opt']], provides: { 'rootfs-image.app.version': '2.0' } });
    const info = await parseMenderBuffer(bytes);
    expect(info).toMatchObject({ formatVersion: 3, artifactName: 'app-2.0', deviceTypes: ['pos-a', 'pos-b'], payloadTypes: ['single-file'], signed: false });
    expect(info.provides).toEqual({ artifact_name: 'app-2.0', 'rootfs-image.app.version': '2.0' });
    expect(info.files).toEqual([
      { payload: 0, name: 'app.bin', size: 8, sha256: sha('v2 bytes') },
      { payload: 0, name: 'dest_dir', size: 4, sha256: sha('/opt') },
    ]);
  });

  it('works when the stream arrives in 7-byte pieces', async () => {
    const bytes = buildMenderArtifact({ name: 'a', deviceTypes: ['t'], files: [['f', 'x'.repeat(5000)]] });
    const info = await parseMenderArtifact((async function* () {
      for (let i = 0; i < bytes.length; i += 7) yield bytes.subarray(i, i + 7);
    })());
    expect(info.files[0]!.size).toBe(5000);
  });

  const version = JSON.stringify({ format: 'mender', version: 3 });
  it.each([
    ['a checksum mismatch', () => buildMenderArtifact({ name: 'a', deviceTypes: ['t'], files: [['f', 'x']], badManifest: true }), /sha256 of 'data\/0000\/f'/],
    ['a CPIO file', () => Buffer.from('070701' + '0'.repeat(2000)), /not a valid tar archive/],
    ['a missing version first', () => buildTar([['manifest', '']]), /first member must be 'version'/],
    ['an unknown format version', () => buildTar([['version', JSON.stringify({ format: 'mender', version: 9 })]]), /version 9/],
    ['a missing header', () => buildTar([['version', version], ['manifest', '']]), /header.tar.gz is missing/],
    ['no device type', () => buildTar([['version', version], ['manifest', ''], ['header.tar.gz', gzipSync(buildTar([['header-info', JSON.stringify({ artifact_provides: { artifact_name: 'x' } })]]))]]), /no compatible device type/],
    ['a corrupt gzip header', () => buildTar([['version', version], ['manifest', ''], ['header.tar.gz', 'not gzip']]), /header.tar.gz cannot be read/],
    ['an xz header', () => buildTar([['version', version], ['manifest', ''], ['header.tar.xz', 'x']]), /not gzip-compressed/],
    ['a truncated file', () => buildMenderArtifact({ name: 'a', deviceTypes: ['t'], files: [['f', 'x']] }).subarray(0, 1100), /truncated/],
  ])('refuses %s with a clear message', async (_label, make, message) => {
    const error = await parseMenderBuffer(make()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(message);
  });

  it.skipIf(requirePeer('mender-artifact', commandMissing('mender-artifact', ['--version'], 'mender-artifact')))('reads an artifact written by mender-artifact', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mender-'));
    fs.writeFileSync(path.join(dir, 'app.txt'), 'payload v3\n');
    const out = path.join(dir, 'a.mender');
    execFileSync('mender-artifact', ['write', 'module-image', '-T', 'single-file', '-n', 'release-3', '-t', 'dev-a', '-t', 'dev-b', '-o', out, '-f', path.join(dir, 'app.txt'), '--software-name', 'app', '--software-version', '3.0.0'], { stdio: 'pipe' });
    const info = await parseMenderArtifact(fs.createReadStream(out));
    expect(info.artifactName).toBe('release-3');
    expect(info.deviceTypes).toEqual(['dev-a', 'dev-b']);
    expect(info.provides['rootfs-image.app.version']).toBe('3.0.0');
    expect(info.files).toEqual([{ payload: 0, name: 'app.txt', size: 11, sha256: sha('payload v3\n') }]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
