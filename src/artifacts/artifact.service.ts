// Artifact use cases: streamed upload with size limit and dedupe, the chunk index computed on the
// way (and its signature checked), signature checks, image references, listing, and deletion
// guarded by "is a rollout using it".
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  artifactFieldProblem,
  chunkerParams,
  chunkerParamsProblem,
  ChunkIndexBuilder,
  chunkIndexDigest,
  ConflictError,
  DEFAULT_CHUNKER,
  encodeChunkIndex,
  keyFingerprint,
  NotFoundError,
  parseImageRef,
  timeCursor,
  ValidationError,
  verifyArtifactIndexSignature,
  verifyArtifactSignature,
  type Artifact,
  type ArtifactChunkIndex,
  type ChunkIndex,
  type Clock,
  type ErrorDetail,
} from '../core/index.js';
import type { ArtifactRepository, EventLog, StoredArtifact } from '../store/index.js';
import { BlobStore } from './blob-store.js';

/** Answers whether a rollout still needs this artifact (wired by the composition root). */
export type ArtifactInUse = (artifactId: string) => Promise<boolean>;

export interface ArtifactServiceOptions {
  artifacts: ArtifactRepository;
  blobs: BlobStore;
  events: EventLog;
  clock: Clock;
  maxBytes: number;
  /** Refuse unsigned uploads. */
  requireSigned: boolean;
  /** PEM public keys whose signatures are accepted; when empty the uploader's key is used. */
  trustedKeys: string[];
  isInUse: ArtifactInUse;
  /** Reads metadata from the stored bytes (e.g. .swu/.mender bundles); throws to refuse a malformed file. */
  inspect?: (file: string) => Promise<Record<string, unknown>>;
}

/** What comes with an uploaded file besides its bytes. */
export interface UploadInput {
  name: string;
  version: string;
  /** base64 ed25519 signature over (name, version, sha256). */
  signature?: string;
  /** base64 ed25519 signature over the chunk index (signedIndexMessage), by the same key. */
  indexSignature?: string;
  /** The index digest the uploader computed; the upload fails if the server's differs. */
  indexSha256?: string;
  /** Average chunk size of the index (a power of two, 8 KiB to 4 MiB; default 64 KiB). */
  chunkAvgSize?: number;
  /** The sha256 the uploader claims; the upload fails if the bytes disagree. */
  sha256?: string;
  /** PEM public key of the signer; used only when the server has no trusted keys configured. */
  publicKey?: string;
  contentType?: string;
  metadata?: Record<string, unknown>;
}

export interface ImageInput {
  name: string;
  version: string;
  imageRef: string;
  signature?: string;
  publicKey?: string;
  metadata?: Record<string, unknown>;
}

export interface ArtifactPage {
  items: Artifact[];
  nextCursor: string | null;
  total: number;
}

/** The public face of an artifact: without where its bytes live. */
export function publicArtifact(stored: StoredArtifact): Artifact {
  const { storageKey: _storageKey, ...artifact } = stored;
  return artifact;
}

export class ArtifactService {
  constructor(private readonly options: ArtifactServiceOptions) {}

  private checkFields(input: { name: unknown; version: unknown }): void {
    const details: ErrorDetail[] = [];
    for (const field of ['name', 'version'] as const) {
      const problem = artifactFieldProblem(field, input[field]);
      if (problem) details.push({ path: field, message: problem });
    }
    if (details.length) throw new ValidationError(`invalid artifact: ${details.map((d) => d.message).join('; ')}`, details);
  }

  /** Checks a signature against the trusted keys (or the uploader's key); answers the signer's fingerprint. */
  private checkSignature(fields: { name: string; version: string; sha256: string }, signature: string | undefined, publicKey: string | undefined): string | null {
    return this.signer(fields, signature, publicKey)?.fingerprint ?? null;
  }

  /** The key that made `signature` (and its fingerprint), or null for an unsigned artifact. */
  private signer(fields: { name: string; version: string; sha256: string }, signature: string | undefined, publicKey: string | undefined): { key: string; fingerprint: string } | null {
    if (!signature) {
      if (this.options.requireSigned) throw new ValidationError('this server accepts only signed artifacts: sign with --sign KEY (orchestrator keys generate)', [{ path: 'signature', message: 'is required' }]);
      return null;
    }
    const keys = this.options.trustedKeys.length ? this.options.trustedKeys : publicKey ? [publicKey] : [];
    if (keys.length === 0) throw new ValidationError('cannot verify the signature: send the signer\'s public key (publicKey) or configure trusted keys (ORCHESTRATOR_TRUSTED_KEYS)', [{ path: 'publicKey', message: 'is required with a signature' }]);
    for (const key of keys) {
      let ok = false;
      try {
        ok = verifyArtifactSignature(fields, signature, key);
      } catch {
        throw new ValidationError('publicKey is not a PEM ed25519 public key', [{ path: 'publicKey', message: 'is not an ed25519 public key' }]);
      }
      if (ok) return { key, fingerprint: keyFingerprint(key) };
    }
    throw new ValidationError(`the signature does not match artifact '${fields.name}' version '${fields.version}' sha256 ${fields.sha256} for ${this.options.trustedKeys.length ? 'any trusted key' : 'the given public key'}`, [{ path: 'signature', message: 'does not verify' }]);
  }

  /**
   * Stores an uploaded file. Same name, version and bytes again: the existing artifact, `created`
   * false. Same name and version with other bytes: ConflictError.
   */
  async upload(source: Readable, input: UploadInput, actor: string, signal?: AbortSignal): Promise<{ artifact: Artifact; created: boolean }> {
    this.checkFields(input);
    const claimed = input.sha256?.toLowerCase();
    if (claimed !== undefined && !/^[0-9a-f]{64}$/.test(claimed)) throw new ValidationError('sha256 must be 64 hex digits', [{ path: 'sha256', message: 'is not a sha256 hex digest' }]);
    if (claimed) this.checkSignature({ name: input.name, version: input.version, sha256: claimed }, input.signature, input.publicKey);
    else if (!input.signature && this.options.requireSigned) this.checkSignature({ name: input.name, version: input.version, sha256: '' }, undefined, undefined);
    const chunking = this.chunking(input);
    if (input.indexSignature && !input.signature) throw new ValidationError('an index signature comes with the artifact\'s signature: sign both with the same key', [{ path: 'indexSignature', message: 'needs signature' }]);
    const existing = await this.options.artifacts.findByNameVersion(input.name, input.version);
    if (existing && claimed && existing.sha256 !== claimed) throw this.versionTaken(existing);
    const blob = await this.options.blobs.write(source, { maxBytes: this.options.maxBytes, signal, chunking });
    const discard = async () => {
      if (blob.created && (await this.options.artifacts.countByStorageKey(blob.key)) === 0) await this.options.blobs.remove(blob.key);
    };
    try {
      if (claimed && claimed !== blob.sha256) throw new ValidationError(`the bytes received hash to ${blob.sha256}, not the sha256 claimed (${claimed}); the upload was corrupted or the claim is wrong`, [{ path: 'sha256', message: 'does not match the bytes' }]);
      const fields = { name: input.name, version: input.version, sha256: blob.sha256 };
      const signer = this.signer(fields, input.signature, input.publicKey);
      const signedBy = signer?.fingerprint ?? null;
      if (existing && existing.sha256 !== blob.sha256) throw this.versionTaken(existing);
      const chunkIndex = await this.storeIndex(blob.index!, fields, input, signer?.key ?? null);
      if (existing) {
        // An artifact stored before indexes existed gets this one; an unsigned index gives way to a signed one.
        const previous = existing.chunkIndex;
        const takes = !previous ? await this.options.artifacts.setChunkIndex(existing.id, chunkIndex) : !previous.signature && chunkIndex.signature ? await this.options.artifacts.signChunkIndex(existing.id, chunkIndex) : false;
        if (!takes) return { artifact: publicArtifact(existing), created: false };
        if (previous && previous.sha256 !== chunkIndex.sha256 && (await this.options.artifacts.countByIndex(previous.sha256)) === 0) await this.options.blobs.removeIndex(previous.sha256);
        return { artifact: publicArtifact({ ...existing, chunkIndex }), created: false };
      }
      const inspected = this.options.inspect ? await this.options.inspect(this.options.blobs.pathOf(blob.key)) : {};
      const stored = await this.options.artifacts.create(
        {
          id: randomUUID(),
          name: input.name,
          version: input.version,
          kind: 'file',
          sha256: blob.sha256,
          size: blob.size,
          contentType: input.contentType ?? 'application/octet-stream',
          signature: input.signature ?? null,
          imageRef: null,
          storageKey: blob.key,
          metadata: { ...(input.metadata ?? {}), ...inspected, ...(signedBy ? { signedBy } : {}) },
          chunkIndex,
        },
        this.options.clock.now(),
      );
      await this.options.events.append([{ type: 'artifact.uploaded', actor, data: { artifactId: stored.id, name: stored.name, version: stored.version, sha256: stored.sha256, size: stored.size, deduplicated: !blob.created, signed: signedBy !== null } }]);
      return { artifact: publicArtifact(stored), created: true };
    } catch (error) {
      await discard();
      throw error;
    }
  }

  /** The chunking an upload asks for (its average size), checked. */
  private chunking(input: UploadInput) {
    if (input.chunkAvgSize === undefined) return DEFAULT_CHUNKER;
    const params = chunkerParams(input.chunkAvgSize);
    const problem = chunkerParamsProblem(params);
    if (problem) throw new ValidationError(`chunkAvg: ${problem}`, [{ path: 'chunkAvg', message: problem }]);
    return params;
  }

  /**
   * Encodes and stores the index the upload computed, after checking the uploader's claimed
   * digest and index signature (by the key that signed the artifact) against it.
   */
  private async storeIndex(index: ChunkIndex, fields: { name: string; version: string; sha256: string }, input: UploadInput, signerKey: string | null): Promise<ArtifactChunkIndex> {
    const encoded = encodeChunkIndex(index);
    const sha256 = chunkIndexDigest(encoded);
    const claimed = input.indexSha256?.toLowerCase();
    const mismatch = `the chunk index of these bytes (average ${index.params.avgSize} bytes) has digest ${sha256}`;
    if (claimed !== undefined && claimed !== sha256) throw new ValidationError(`${mismatch}, not the claimed ${claimed}: the uploader chunked with other parameters or another chunking version`, [{ path: 'indexSha256', message: 'does not match the bytes' }]);
    if (input.indexSignature && (!signerKey || !verifyArtifactIndexSignature({ ...fields, indexSha256: sha256 }, input.indexSignature, signerKey))) {
      throw new ValidationError(`the index signature does not verify: ${mismatch}, signed by the key that signed the artifact? (the CLI computes the same index: orchestrator artifacts upload --sign)`, [{ path: 'indexSignature', message: 'does not verify' }]);
    }
    await this.options.blobs.writeIndex(sha256, encoded);
    return { sha256, chunks: index.lengths.length, avgSize: index.params.avgSize, bytes: encoded.length, signature: input.indexSignature ?? null };
  }

  /**
   * Indexes every file artifact stored before chunk indexes existed (unsigned: the server holds no
   * signing key), a page at a time; answers how many got one. The app runs it in the background
   * at start; an artifact whose blob is missing is skipped.
   */
  async indexMissing(signal?: AbortSignal): Promise<number> {
    let done = 0;
    let after: { createdAt: number; id: string } | undefined;
    for (;;) {
      const page = await this.options.artifacts.withoutChunkIndex(20, after);
      for (const artifact of page) {
        if (signal?.aborted) return done;
        if (await this.indexStored(artifact, signal)) done++;
      }
      const last = page.at(-1);
      if (page.length < 20 || !last) return done;
      after = { createdAt: Date.parse(last.createdAt), id: last.id };
    }
  }

  private async indexStored(artifact: StoredArtifact, signal?: AbortSignal): Promise<boolean> {
    const file = this.filePath(artifact);
    if (!file || !fs.existsSync(file)) return false;
    const builder = new ChunkIndexBuilder(DEFAULT_CHUNKER);
    await pipeline(
      fs.createReadStream(file, { highWaterMark: 1 << 20 }),
      async (source: AsyncIterable<Buffer>) => {
        for await (const chunk of source) builder.update(chunk);
      },
      { signal },
    );
    const index = builder.finish(artifact.sha256!);
    const encoded = encodeChunkIndex(index);
    const sha256 = chunkIndexDigest(encoded);
    await this.options.blobs.writeIndex(sha256, encoded);
    return this.options.artifacts.setChunkIndex(artifact.id, { sha256, chunks: index.lengths.length, avgSize: index.params.avgSize, bytes: encoded.length, signature: null });
  }

  /** Path of an artifact's gzip-compressed chunk index, or null when it has none. */
  indexPath(artifact: Artifact): string | null {
    return artifact.chunkIndex ? this.options.blobs.indexPathOf(artifact.chunkIndex.sha256) : null;
  }

  private versionTaken(existing: StoredArtifact): ConflictError {
    return new ConflictError(`artifact '${existing.name}' version '${existing.version}' already exists with other content (sha256 ${existing.sha256}); upload under a new version`);
  }

  /** Records a container image reference (no bytes). The digest, when given, is its sha256. */
  async addImage(input: ImageInput, actor: string): Promise<{ artifact: Artifact; created: boolean }> {
    this.checkFields(input);
    let digest: string | null;
    try {
      digest = parseImageRef(input.imageRef).digest;
    } catch (error) {
      throw new ValidationError(`invalid imageRef: ${(error as Error).message}`, [{ path: 'imageRef', message: (error as Error).message }]);
    }
    const sha256 = digest ? digest.slice('sha256:'.length) : null;
    if (input.signature && !sha256) throw new ValidationError('a signed image reference needs a digest (repo:tag@sha256:...)', [{ path: 'imageRef', message: 'needs a digest to be signed' }]);
    const signedBy = this.checkSignature({ name: input.name, version: input.version, sha256: sha256 ?? '' }, input.signature, input.publicKey);
    const existing = await this.options.artifacts.findByNameVersion(input.name, input.version);
    if (existing) {
      if (existing.imageRef === input.imageRef) return { artifact: publicArtifact(existing), created: false };
      throw new ConflictError(`artifact '${input.name}' version '${input.version}' already exists${existing.imageRef ? ` as ${existing.imageRef}` : ' as a file'}; use a new version`);
    }
    const stored = await this.options.artifacts.create(
      { id: randomUUID(), name: input.name, version: input.version, kind: 'image', sha256, size: 0, contentType: 'application/vnd.oci.image.manifest.v1+json', signature: input.signature ?? null, imageRef: input.imageRef, storageKey: null, metadata: { ...(input.metadata ?? {}), ...(signedBy ? { signedBy } : {}) } },
      this.options.clock.now(),
    );
    await this.options.events.append([{ type: 'artifact.added', actor, data: { artifactId: stored.id, name: stored.name, version: stored.version, imageRef: stored.imageRef } }]);
    return { artifact: publicArtifact(stored), created: true };
  }

  async getStored(id: string): Promise<StoredArtifact> {
    const artifact = await this.options.artifacts.get(id);
    if (!artifact) throw new NotFoundError('artifact', id);
    return artifact;
  }

  async get(id: string): Promise<Artifact> {
    return publicArtifact(await this.getStored(id));
  }

  /** Absolute path of a file artifact's bytes (what transports stream), null for images. */
  filePath(artifact: StoredArtifact): string | null {
    return artifact.storageKey ? this.options.blobs.pathOf(artifact.storageKey) : null;
  }

  async list(options: { name?: string; limit: number; cursor?: string }): Promise<ArtifactPage> {
    const cursor = timeCursor.decode(options.cursor) ?? undefined;
    const rows = await this.options.artifacts.list({ name: options.name, limit: options.limit + 1, cursor });
    const items = rows.slice(0, options.limit);
    const last = items[items.length - 1];
    const nextCursor = rows.length > options.limit && last ? timeCursor.encode({ createdAt: Date.parse(last.createdAt), id: last.id }) : null;
    return { items: items.map(publicArtifact), nextCursor, total: await this.options.artifacts.count(options.name) };
  }

  /** Deletes an artifact unless a rollout uses it; its blob goes when no other artifact shares it. */
  async remove(id: string, actor: string): Promise<void> {
    const artifact = await this.getStored(id);
    if (await this.options.isInUse(id)) throw new ConflictError(`artifact '${artifact.name}' version '${artifact.version}' is used by a rollout or listed in a release; cancel or finish the rollout, or delete the release, first`);
    await this.options.artifacts.delete(id);
    if (artifact.storageKey && (await this.options.artifacts.countByStorageKey(artifact.storageKey)) === 0) await this.options.blobs.remove(artifact.storageKey);
    if (artifact.chunkIndex && (await this.options.artifacts.countByIndex(artifact.chunkIndex.sha256)) === 0) await this.options.blobs.removeIndex(artifact.chunkIndex.sha256);
    await this.options.events.append([{ type: 'artifact.deleted', actor, data: { artifactId: id, name: artifact.name, version: artifact.version } }]);
  }
}
