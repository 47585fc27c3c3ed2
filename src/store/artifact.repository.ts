// Artifact persistence: one row per (name, version); file artifacts point at a content-addressed
// blob (storage_key) and their chunk index (index_sha256, a file named by its digest), image
// artifacts carry a reference and no bytes.
import type { Kysely } from 'kysely';
import { ConflictError, type Artifact, type ArtifactChunkIndex, type ArtifactKind, type TimeKey } from '../core/index.js';
import { isUniqueViolation } from './device.repository.js';
import { olderThan } from './keyset.sql.js';
import type { ArtifactRow, Database } from './schema.js';

/** What the service hands the repository to record a new artifact. */
export interface NewArtifact {
  id: string;
  name: string;
  version: string;
  kind: ArtifactKind;
  sha256: string | null;
  size: number;
  contentType: string;
  signature: string | null;
  imageRef: string | null;
  storageKey: string | null;
  metadata: Record<string, unknown>;
  chunkIndex?: ArtifactChunkIndex | null;
}

/** An artifact with where its bytes live (never sent to API clients as is). */
export interface StoredArtifact extends Artifact {
  storageKey: string | null;
}

function chunkIndexOf(row: ArtifactRow): ArtifactChunkIndex | null {
  if (!row.index_sha256 || !row.index_info) return null;
  const info = JSON.parse(row.index_info) as { chunks: number; avgSize: number; bytes: number };
  return { sha256: row.index_sha256, chunks: info.chunks, avgSize: info.avgSize, bytes: info.bytes, signature: row.index_signature };
}

const indexColumns = (index: ArtifactChunkIndex | null | undefined) => ({
  index_sha256: index?.sha256 ?? null,
  index_signature: index?.signature ?? null,
  index_info: index ? JSON.stringify({ chunks: index.chunks, avgSize: index.avgSize, bytes: index.bytes }) : null,
});

export function toArtifact(row: ArtifactRow): StoredArtifact {
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    kind: row.kind as ArtifactKind,
    sha256: row.sha256,
    size: Number(row.size),
    contentType: row.content_type,
    signature: row.signature,
    imageRef: row.image_ref,
    storageKey: row.storage_key,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    chunkIndex: chunkIndexOf(row),
    createdAt: new Date(Number(row.created_at)).toISOString(),
  };
}

export class ArtifactRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Records an artifact; a ConflictError when (name, version) is taken. */
  async create(input: NewArtifact, now: number): Promise<StoredArtifact> {
    const row: ArtifactRow = {
      id: input.id,
      name: input.name,
      version: input.version,
      kind: input.kind,
      sha256: input.sha256,
      size: input.size,
      content_type: input.contentType,
      signature: input.signature,
      image_ref: input.imageRef,
      storage_key: input.storageKey,
      metadata: JSON.stringify(input.metadata),
      created_at: now,
      ...indexColumns(input.chunkIndex),
    };
    try {
      await this.db.insertInto('artifacts').values(row).execute();
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`artifact '${input.name}' version '${input.version}' already exists with other content; upload under a new version`);
      throw error;
    }
    return toArtifact(row);
  }

  async get(id: string): Promise<StoredArtifact | null> {
    const row = await this.db.selectFrom('artifacts').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toArtifact(row) : null;
  }

  async findByNameVersion(name: string, version: string): Promise<StoredArtifact | null> {
    const row = await this.db.selectFrom('artifacts').selectAll().where('name', '=', name).where('version', '=', version).executeTakeFirst();
    return row ? toArtifact(row) : null;
  }

  /** Newest first; keyset paging on (created_at, id). */
  async list(options: { name?: string; limit: number; cursor?: TimeKey }): Promise<StoredArtifact[]> {
    let query = this.db.selectFrom('artifacts').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(options.limit);
    if (options.name) query = query.where('name', '=', options.name);
    const cursor = options.cursor;
    if (cursor) query = query.where(olderThan('created_at', 'id', cursor));
    return (await query.execute()).map(toArtifact);
  }

  async count(name?: string): Promise<number> {
    let query = this.db.selectFrom('artifacts').select((eb) => eb.fn.countAll<number>().as('n'));
    if (name) query = query.where('name', '=', name);
    return Number((await query.executeTakeFirstOrThrow()).n);
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('artifacts').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /**
   * Records the chunk index of an artifact that had none (computed later for an artifact stored
   * before indexes existed); answers false when it already had one.
   */
  async setChunkIndex(id: string, index: ArtifactChunkIndex): Promise<boolean> {
    const result = await this.db.updateTable('artifacts').set(indexColumns(index)).where('id', '=', id).where('index_sha256', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Replaces an unsigned chunk index by a signed one (a re-upload with --sign); false when it was signed already. */
  async signChunkIndex(id: string, index: ArtifactChunkIndex): Promise<boolean> {
    const result = await this.db.updateTable('artifacts').set(indexColumns(index)).where('id', '=', id).where('index_signature', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** File artifacts without a chunk index, oldest first, keyset-paged after `after`, to index them. */
  async withoutChunkIndex(limit: number, after?: { createdAt: number; id: string }): Promise<StoredArtifact[]> {
    let query = this.db.selectFrom('artifacts').selectAll().where('kind', '=', 'file').where('index_sha256', 'is', null).where('storage_key', 'is not', null);
    if (after) query = query.where((eb) => eb.or([eb('created_at', '>', after.createdAt), eb.and([eb('created_at', '=', after.createdAt), eb('id', '>', after.id)])]));
    const rows = await query.orderBy('created_at').orderBy('id').limit(limit).execute();
    return rows.map(toArtifact);
  }

  /** How many artifacts use this chunk index (its file is removed when none is left). */
  async countByIndex(indexSha256: string): Promise<number> {
    const row = await this.db.selectFrom('artifacts').select((eb) => eb.fn.countAll<number>().as('n')).where('index_sha256', '=', indexSha256).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** How many artifacts share this blob (dedupe: a blob is removed only when none is left). */
  async countByStorageKey(storageKey: string): Promise<number> {
    const row = await this.db.selectFrom('artifacts').select((eb) => eb.fn.countAll<number>().as('n')).where('storage_key', '=', storageKey).executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
