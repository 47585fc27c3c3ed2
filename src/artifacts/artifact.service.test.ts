import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gunzipSync } from 'node:zlib';
import { chunkerParams, chunkIndexDigest, ConflictError, decodeChunkIndex, encodeChunkIndex, generateSigningKeyPair, indexBytes, ManualClock, signArtifact, signArtifactIndex, ValidationError } from '../core/index.js';
import { EventLog, openStore, type Store } from '../store/index.js';
import { forgetChunkIndexes } from '../testing/raw-sql.js';
import { ArtifactService, type ArtifactServiceOptions } from './artifact.service.js';
import { BlobStore, BlobTooLargeError } from './blob-store.js';

const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const body = (data: Buffer | string) => Readable.from([Buffer.from(data)]);

describe('ArtifactService', () => {
  let dir: string;
  let store: Store;
  let blobs: BlobStore;
  let inUse: Set<string>;
  const make = (over: Partial<ArtifactServiceOptions> = {}) =>
    new ArtifactService({ artifacts: store.artifacts, blobs, events: new EventLog(store.events, new ManualClock(0)), clock: new ManualClock(1_000), maxBytes: 1024, requireSigned: false, trustedKeys: [], isInUse: async (id) => inUse.has(id), ...over });

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-art-'));
    store = await openStore({ sqliteFile: ':memory:' });
    blobs = new BlobStore(dir);
    inUse = new Set();
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stores bytes content-addressed and hashes them while streaming', async () => {
    const service = make();
    const { artifact, created } = await service.upload(body('hello'), { name: 'fw', version: '1.0.0' }, 'test');
    expect(created).toBe(true);
    expect(artifact).toMatchObject({ name: 'fw', version: '1.0.0', kind: 'file', sha256: sha('hello'), size: 5, signature: null });
    const file = path.join(dir, 'sha256', sha('hello').slice(0, 2), sha('hello'));
    expect(fs.readFileSync(file, 'utf8')).toBe('hello');
    expect(service.filePath(await service.getStored(artifact.id))).toBe(file);
    expect(fs.readdirSync(path.join(dir, 'tmp'))).toEqual([]);
  });

  it('deduplicates identical bytes and answers the same artifact for a repeat', async () => {
    const service = make();
    const a = await service.upload(body('same'), { name: 'fw', version: '1' }, 'test');
    const again = await service.upload(body('same'), { name: 'fw', version: '1' }, 'test');
    expect(again).toEqual({ artifact: a.artifact, created: false });
    const b = await service.upload(body('same'), { name: 'fw', version: '2' }, 'test');
    expect(b.artifact.id).not.toBe(a.artifact.id);
    expect(fs.readdirSync(path.join(dir, 'sha256', sha('same').slice(0, 2)))).toHaveLength(1);
    // Removing one keeps the blob the other still uses; removing both removes it.
    await service.remove(a.artifact.id, 'test');
    expect(fs.existsSync(service.filePath(await service.getStored(b.artifact.id))!)).toBe(true);
    await service.remove(b.artifact.id, 'test');
    expect(fs.existsSync(path.join(dir, 'sha256', sha('same').slice(0, 2), sha('same')))).toBe(false);
  });

  it('refuses other bytes under a taken name and version', async () => {
    const service = make();
    await service.upload(body('one'), { name: 'fw', version: '1' }, 'test');
    await expect(service.upload(body('two'), { name: 'fw', version: '1' }, 'test')).rejects.toBeInstanceOf(ConflictError);
    expect(fs.existsSync(path.join(dir, 'sha256', sha('two').slice(0, 2), sha('two')))).toBe(false);
  });

  it('enforces the size limit without keeping partial files', async () => {
    const service = make({ maxBytes: 10 });
    await expect(service.upload(Readable.from([Buffer.alloc(6), Buffer.alloc(6)]), { name: 'fw', version: '1' }, 'test')).rejects.toBeInstanceOf(BlobTooLargeError);
    expect(fs.readdirSync(path.join(dir, 'tmp'))).toEqual([]);
    expect(await store.artifacts.count()).toBe(0);
  });

  it('checks a claimed sha256 against the bytes', async () => {
    await expect(make().upload(body('x'), { name: 'fw', version: '1', sha256: sha('y') }, 'test')).rejects.toThrow(/not the sha256 claimed/);
  });

  it('verifies signatures with trusted keys and refuses replays under another version', async () => {
    const keys = generateSigningKeyPair();
    const other = generateSigningKeyPair();
    const service = make({ trustedKeys: [keys.publicKeyPem], requireSigned: true });
    const signature = signArtifact({ name: 'fw', version: '1', sha256: sha('data') }, keys.privateKeyPem);
    const { artifact } = await service.upload(body('data'), { name: 'fw', version: '1', signature }, 'test');
    expect(artifact.signature).toBe(signature);
    expect(artifact.metadata.signedBy).toMatch(/^ed25519:/);
    await expect(service.upload(body('data'), { name: 'fw', version: '2', signature }, 'test')).rejects.toThrow(/does not match/);
    const foreign = signArtifact({ name: 'fw', version: '3', sha256: sha('data') }, other.privateKeyPem);
    await expect(service.upload(body('data'), { name: 'fw', version: '3', signature: foreign, publicKey: other.publicKeyPem }, 'test')).rejects.toThrow(/any trusted key/);
    await expect(service.upload(body('data'), { name: 'fw', version: '4' }, 'test')).rejects.toThrow(/only signed/);
  });

  it('uses the uploader public key when no trusted key is configured, and needs one', async () => {
    const keys = generateSigningKeyPair();
    const signature = signArtifact({ name: 'fw', version: '1', sha256: sha('d') }, keys.privateKeyPem);
    await expect(make().upload(body('d'), { name: 'fw', version: '1', signature }, 'test')).rejects.toBeInstanceOf(ValidationError);
    const { artifact } = await make().upload(body('d'), { name: 'fw', version: '1', signature, publicKey: keys.publicKeyPem }, 'test');
    expect(artifact.signature).toBe(signature);
  });

  it('records image references without bytes and validates them', async () => {
    const service = make();
    const digest = 'sha256:' + 'cd'.repeat(32);
    const { artifact } = await service.addImage({ name: 'kiosk', version: '2.0', imageRef: `ghcr.io/acme/kiosk:2.0@${digest}` }, 'test');
    expect(artifact).toMatchObject({ kind: 'image', sha256: 'cd'.repeat(32), size: 0, imageRef: `ghcr.io/acme/kiosk:2.0@${digest}` });
    expect(service.filePath(await service.getStored(artifact.id))).toBeNull();
    await expect(service.addImage({ name: 'kiosk', version: '2.1', imageRef: 'ghcr.io/acme/kiosk' }, 'test')).rejects.toThrow(/needs a tag/);
    await expect(service.addImage({ name: 'kiosk', version: '2.0', imageRef: 'ghcr.io/acme/kiosk:other' }, 'test')).rejects.toBeInstanceOf(ConflictError);
  });

  it('refuses to delete an artifact a rollout uses', async () => {
    const service = make();
    const { artifact } = await service.upload(body('z'), { name: 'fw', version: '1' }, 'test');
    inUse.add(artifact.id);
    await expect(service.remove(artifact.id, 'test')).rejects.toThrow(/used by a rollout/);
    inUse.clear();
    await service.remove(artifact.id, 'test');
    await expect(service.get(artifact.id)).rejects.toThrow(/does not exist/);
  });

  it('pages the list newest first', async () => {
    const clock = new ManualClock(0);
    const service = make({ clock });
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      await service.upload(body(`v${i}`), { name: 'fw', version: `${i}` }, 'test');
    }
    const first = await service.list({ limit: 3 });
    expect(first.items.map((a) => a.version)).toEqual(['4', '3', '2']);
    expect(first.total).toBe(5);
    const second = await service.list({ limit: 3, cursor: first.nextCursor! });
    expect(second.items.map((a) => a.version)).toEqual(['1', '0']);
    expect(second.nextCursor).toBeNull();
  });

  describe('chunk index', () => {
    const data = Buffer.alloc(300_000, 7).fill(3, 100_000, 200_000);
    const big = () => make({ maxBytes: 10 << 20 });

    it('is computed while the upload streams and stored gzip-compressed by its digest', async () => {
      const { artifact } = await big().upload(body(data), { name: 'fw', version: '1' }, 'test');
      const expected = encodeChunkIndex(indexBytes(data));
      expect(artifact.chunkIndex).toEqual({ sha256: chunkIndexDigest(expected), chunks: indexBytes(data).lengths.length, avgSize: 65536, bytes: expected.length, signature: null });
      const stored = gunzipSync(fs.readFileSync(big().indexPath(artifact)!));
      expect(stored.equals(expected)).toBe(true);
      expect(decodeChunkIndex(stored).sha256).toBe(sha(data));
    });

    it('takes the uploader\'s average size, within bounds', async () => {
      const { artifact } = await big().upload(body(data), { name: 'fw', version: '1', chunkAvgSize: 16384 }, 'test');
      expect(artifact.chunkIndex).toMatchObject({ avgSize: 16384, sha256: chunkIndexDigest(encodeChunkIndex(indexBytes(data, chunkerParams(16384)))) });
      await expect(big().upload(body(data), { name: 'fw', version: '2', chunkAvgSize: 1000 }, 'test')).rejects.toThrow(/power of two/);
    });

    it('checks an index signature against the key that signed the artifact', async () => {
      const keys = generateSigningKeyPair();
      const other = generateSigningKeyPair();
      const fields = { name: 'fw', version: '1', sha256: sha(data) };
      const indexSha256 = chunkIndexDigest(encodeChunkIndex(indexBytes(data)));
      const service = make({ maxBytes: 10 << 20, trustedKeys: [keys.publicKeyPem, other.publicKeyPem] });
      const signature = signArtifact(fields, keys.privateKeyPem);
      await expect(service.upload(body(data), { ...fields, signature, indexSignature: signArtifactIndex({ ...fields, indexSha256 }, other.privateKeyPem) }, 'test')).rejects.toThrow(/index signature does not verify/);
      await expect(service.upload(body(data), { ...fields, signature, indexSignature: signArtifactIndex({ ...fields, indexSha256: 'e'.repeat(64) }, keys.privateKeyPem) }, 'test')).rejects.toThrow(/index signature does not verify/);
      await expect(service.upload(body(data), { ...fields, indexSignature: signArtifactIndex({ ...fields, indexSha256 }, keys.privateKeyPem) }, 'test')).rejects.toThrow(/comes with the artifact's signature/);
      await expect(service.upload(body(data), { ...fields, signature, indexSha256: 'f'.repeat(64) }, 'test')).rejects.toThrow(/not the claimed/);
      expect(await store.artifacts.count()).toBe(0);
      const indexSignature = signArtifactIndex({ ...fields, indexSha256 }, keys.privateKeyPem);
      const { artifact } = await service.upload(body(data), { ...fields, signature, indexSignature, indexSha256 }, 'test');
      expect(artifact.chunkIndex).toMatchObject({ sha256: indexSha256, signature: indexSignature });
    });

    it('is computed for artifacts stored without one, and removed with the last artifact using it', async () => {
      const service = big();
      const { artifact } = await service.upload(body(data), { name: 'fw', version: '1' }, 'test');
      const file = service.indexPath(artifact)!;
      // As an artifact stored before indexes existed.
      await forgetChunkIndexes(store);
      fs.rmSync(file);
      expect((await service.get(artifact.id)).chunkIndex).toBeNull();
      expect(await service.indexMissing()).toBe(1);
      expect(await service.indexMissing()).toBe(0);
      expect((await service.get(artifact.id)).chunkIndex).toEqual(artifact.chunkIndex);
      expect(fs.existsSync(file)).toBe(true);
      await service.remove(artifact.id, 'test');
      expect(fs.existsSync(file)).toBe(false);
    });

    it('takes a signed index when the same artifact is uploaded again signed', async () => {
      const keys = generateSigningKeyPair();
      const service = make({ maxBytes: 10 << 20, trustedKeys: [keys.publicKeyPem] });
      const fields = { name: 'fw', version: '1', sha256: sha(data) };
      const signature = signArtifact(fields, keys.privateKeyPem);
      const unsigned = await service.upload(body(data), { ...fields, signature }, 'test');
      expect(unsigned.artifact.chunkIndex!.signature).toBeNull();
      const indexSignature = signArtifactIndex({ ...fields, indexSha256: unsigned.artifact.chunkIndex!.sha256 }, keys.privateKeyPem);
      const again = await service.upload(body(data), { ...fields, signature, indexSignature }, 'test');
      expect(again).toMatchObject({ created: false, artifact: { id: unsigned.artifact.id, chunkIndex: { signature: indexSignature } } });
      expect((await service.get(unsigned.artifact.id)).chunkIndex!.signature).toBe(indexSignature);
    });
  });
});
