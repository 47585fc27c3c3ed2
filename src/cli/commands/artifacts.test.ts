// `orchestrator keys` and `orchestrator artifacts` as a user runs them (the built CLI) against a
// real server; the signed upload is then pushed to a receiver that trusts the key.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../testing/cli.js';
import { chunkerParams, chunkIndexDigest, encodeChunkIndex, indexBytes, verifyArtifactIndexSignature, verifyArtifactSignature, type Artifact } from '../../core/index.js';
import { startTestApp, type TestApp } from '../../testing/app.js';


describe('orchestrator keys / artifacts', () => {
  let t: TestApp;
  let dir: string;
  const cli = (args: string[], remote = true) => runCli([...args, ...(remote ? ['--server', t.url, '--token', t.tokens.admin] : [])]);
  beforeAll(async () => {
    t = await startTestApp();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-cli-art-'));
  });
  afterAll(async () => {
    await t.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('generates a key pair with a private file only the owner can read, and will not overwrite it', async () => {
    const prefix = path.join(dir, 'keys', 'release');
    const made = await cli(['keys', 'generate', '--out', prefix, '--json'], false);
    expect(made.code, made.stderr).toBe(0);
    expect(JSON.parse(made.stdout)).toMatchObject({ privateKey: `${prefix}.key`, publicKey: `${prefix}.pub` });
    expect(fs.statSync(`${prefix}.key`).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(`${prefix}.pub`, 'utf8')).toMatch(/BEGIN PUBLIC KEY/);
    const again = await cli(['keys', 'generate', '--out', prefix], false);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/--force/);
  });

  let signedId = '';
  it('uploads signed and unsigned files', async () => {
    const prefix = path.join(dir, 'keys', 'release');
    const file = path.join(dir, 'fw.bin');
    const bytes = randomBytes(300_000);
    fs.writeFileSync(file, bytes);
    const signed = await cli(['artifacts', 'upload', file, '--name', 'fw', '--version', '1.0.0', '--sign', `${prefix}.key`, '--json']);
    expect(signed.code, signed.stderr).toBe(0);
    const artifact = JSON.parse(signed.stdout) as Artifact;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    expect(artifact).toMatchObject({ name: 'fw', version: '1.0.0', sha256, size: bytes.length });
    expect(verifyArtifactSignature({ name: 'fw', version: '1.0.0', sha256 }, artifact.signature!, fs.readFileSync(`${prefix}.pub`, 'utf8'))).toBe(true);
    // The CLI computed the same chunk index as the server and signed it with the same key.
    const indexSha256 = chunkIndexDigest(encodeChunkIndex(indexBytes(bytes)));
    expect(artifact.chunkIndex).toMatchObject({ sha256: indexSha256, avgSize: 65536 });
    expect(verifyArtifactIndexSignature({ name: 'fw', version: '1.0.0', sha256, indexSha256 }, artifact.chunkIndex!.signature!, fs.readFileSync(`${prefix}.pub`, 'utf8'))).toBe(true);

    const small = await cli(['artifacts', 'upload', file, '--name', 'fw', '--version', '1.0.0-small', '--sign', `${prefix}.key`, '--chunk-avg', '16K', '--json']);
    expect(small.code, small.stderr).toBe(0);
    const smallArtifact = JSON.parse(small.stdout) as Artifact;
    expect(smallArtifact.chunkIndex).toMatchObject({ avgSize: 16384, sha256: chunkIndexDigest(encodeChunkIndex(indexBytes(bytes, chunkerParams(16384)))) });
    await t.app.artifacts.remove(smallArtifact.id, 'test');
    const badAvg = await cli(['artifacts', 'upload', file, '--name', 'fw', '--version', '1.0.0-bad', '--chunk-avg', '1000']);
    expect(badAvg.code).toBe(2);
    expect(badAvg.stderr).toMatch(/power of two/);

    const plain = await cli(['artifacts', 'upload', file, '--name', 'fw', '--version', '1.0.1', '--json']);
    expect(JSON.parse(plain.stdout)).toMatchObject({ sha256, signature: null });
    signedId = artifact.id;
  });

  it('adds an image, lists, refuses a conflicting upload', async () => {
    const image = await cli(['artifacts', 'add-image', 'ghcr.io/acme/kiosk:3.1', '--name', 'kiosk', '--version', '3.1', '--json']);
    expect(JSON.parse(image.stdout)).toMatchObject({ kind: 'image', imageRef: 'ghcr.io/acme/kiosk:3.1' });

    const listed = JSON.parse((await cli(['artifacts', 'list', '--json'])).stdout) as { total: number; items: Artifact[] };
    expect(listed.total).toBe(3);
    expect((await cli(['artifacts', 'list'])).stdout).toMatch(/fw\s+1\.0\.0\s+file/);

    const conflict = await cli(['artifacts', 'upload', path.join(dir, 'keys', 'release.pub'), '--name', 'fw', '--version', '1.0.0']);
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toMatch(/409.*already exists/);
  });

  it('removes, and says what is wrong', async () => {
    const artifact = { id: signedId };

    expect((await cli(['artifacts', 'rm', artifact.id])).code).toBe(0);
    expect((await cli(['artifacts', 'get', artifact.id])).stderr).toMatch(/404/);
    expect((await cli(['artifacts', 'upload', path.join(dir, 'missing.bin'), '--name', 'x', '--version', '1'])).stderr).toMatch(/no such file/);
  });
});
