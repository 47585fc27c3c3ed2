// Release persistence: a release row and its artifacts (position order), newest-first keyset
// pages, and whether an artifact belongs to any release (which keeps it from being deleted).
import type { Kysely } from 'kysely';
import { ConflictError, type Release, type ReleaseArtifact, type ReleaseProtocol, type TimeKey } from '../core/index.js';
import { atomic } from './atomic.sql.js';
import { isUniqueViolation } from './device.repository.js';
import { olderThan } from './keyset.sql.js';
import type { ReleaseArtifactRow, ReleaseRow } from './release.schema.js';
import type { Database } from './schema.js';

function toReleaseArtifact(row: ReleaseArtifactRow): ReleaseArtifact {
  return {
    artifactId: row.artifact_id,
    component: row.component,
    match: { protocol: row.match_protocol === null ? null : (row.match_protocol.split(',') as ReleaseProtocol[]), deviceType: row.match_device_type },
    position: row.position,
  };
}

export class ReleaseRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Records a release and its artifacts together; a ConflictError when (name, version) is taken. */
  async create(release: Release): Promise<Release> {
    const createdAt = Date.parse(release.createdAt);
    try {
      await atomic(this.db, async (trx) => {
        await trx.insertInto('releases').values({ id: release.id, name: release.name, version: release.version, created_by: release.createdBy, created_at: createdAt }).execute();
        await trx
          .insertInto('release_artifacts')
          .values(
            release.artifacts.map((a) => ({
              release_id: release.id,
              position: a.position,
              artifact_id: a.artifactId,
              component: a.component,
              match_protocol: a.match.protocol === null ? null : a.match.protocol.join(','),
              match_device_type: a.match.deviceType,
            })),
          )
          .execute();
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`release '${release.name}' version '${release.version}' already exists; give the new one another version`);
      throw error;
    }
    return release;
  }

  async get(id: string): Promise<Release | null> {
    const row = await this.db.selectFrom('releases').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return null;
    return (await this.withArtifacts([row]))[0]!;
  }

  /** Newest first; keyset paging on (created_at, id). */
  async list(options: { limit: number; cursor?: TimeKey; name?: string }): Promise<Release[]> {
    let query = this.db.selectFrom('releases').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(options.limit);
    if (options.name) query = query.where('name', '=', options.name);
    if (options.cursor) query = query.where(olderThan('created_at', 'id', options.cursor));
    return this.withArtifacts(await query.execute());
  }

  async count(name?: string): Promise<number> {
    let query = this.db.selectFrom('releases').select((eb) => eb.fn.countAll<number>().as('n'));
    if (name) query = query.where('name', '=', name);
    return Number((await query.executeTakeFirstOrThrow()).n);
  }

  /** Deletes a release and its artifact list (the artifacts themselves stay). */
  async delete(id: string): Promise<boolean> {
    return atomic(this.db, async (trx) => {
      await trx.deleteFrom('release_artifacts').where('release_id', '=', id).execute();
      const result = await trx.deleteFrom('releases').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    });
  }

  /** Whether any release lists this artifact. */
  async containsArtifact(artifactId: string): Promise<boolean> {
    return !!(await this.db.selectFrom('release_artifacts').select('release_id').where('artifact_id', '=', artifactId).limit(1).executeTakeFirst());
  }

  private async withArtifacts(rows: ReleaseRow[]): Promise<Release[]> {
    if (rows.length === 0) return [];
    const parts = await this.db
      .selectFrom('release_artifacts')
      .selectAll()
      .where('release_id', 'in', rows.map((r) => r.id))
      .orderBy('release_id')
      .orderBy('position')
      .execute();
    const byRelease = new Map<string, ReleaseArtifact[]>();
    for (const part of parts) {
      const list = byRelease.get(part.release_id) ?? [];
      list.push(toReleaseArtifact(part));
      byRelease.set(part.release_id, list);
    }
    return rows.map((r) => ({ id: r.id, name: r.name, version: r.version, artifacts: byRelease.get(r.id) ?? [], createdBy: r.created_by, createdAt: new Date(Number(r.created_at)).toISOString() }));
  }
}
