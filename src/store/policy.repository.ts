// Policies in SQL (table `policies`, migration 0005; the images each rolled out, `policy_rollouts`,
// migration 0008). JSON columns are TEXT in both dialects.
import type { Kysely } from 'kysely';
import type { Database, PolicyRow } from './schema.js';

/** A registry webhook policy: pushes of images matching `image` start a rollout from `template`. */
export interface Policy {
  id: string;
  name: string;
  /** picomatch glob over the image reference ("acme/*", "ghcr.io/acme/app:v*"). */
  image: string;
  /** Device filter (the device list's keys). */
  filter: Record<string, unknown>;
  /** Rollout fields other than artifactId and filter: strategy, phases, errorThreshold, window, ... */
  template: Record<string, unknown>;
  enabled: boolean;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export type PolicyWrite = Pick<Policy, 'name' | 'image' | 'filter' | 'template' | 'enabled'>;

function toPolicy(row: PolicyRow): Policy {
  return {
    id: row.id,
    name: row.name,
    image: row.image_pattern,
    filter: JSON.parse(row.filter) as Record<string, unknown>,
    template: JSON.parse(row.template) as Record<string, unknown>,
    enabled: Number(row.enabled) === 1,
    createdBy: row.created_by,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    updatedAt: new Date(Number(row.updated_at)).toISOString(),
  };
}

export class PolicyRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(id: string, input: PolicyWrite, actor: string, now: number): Promise<Policy> {
    const row: PolicyRow = { id, name: input.name, image_pattern: input.image, filter: JSON.stringify(input.filter), template: JSON.stringify(input.template), enabled: input.enabled ? 1 : 0, created_by: actor, created_at: now, updated_at: now };
    await this.db.insertInto('policies').values(row).execute();
    return toPolicy(row);
  }

  async update(id: string, input: PolicyWrite, now: number): Promise<Policy | null> {
    const result = await this.db
      .updateTable('policies')
      .set({ name: input.name, image_pattern: input.image, filter: JSON.stringify(input.filter), template: JSON.stringify(input.template), enabled: input.enabled ? 1 : 0, updated_at: now })
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) ? this.get(id) : null;
  }

  async get(id: string): Promise<Policy | null> {
    const row = await this.db.selectFrom('policies').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toPolicy(row) : null;
  }

  async findByName(name: string): Promise<Policy | null> {
    const row = await this.db.selectFrom('policies').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toPolicy(row) : null;
  }

  async list(): Promise<Policy[]> {
    return (await this.db.selectFrom('policies').selectAll().orderBy('created_at').orderBy('id').execute()).map(toPolicy);
  }

  /**
   * Claims `imageKey` for the policy before its rollout is created: answers null when this call
   * claimed it, or the earlier claim (its rollout id, null while that is being created). The
   * primary key decides between concurrent pushes, on every server.
   */
  async claimImage(policyId: string, imageKey: string, now: number): Promise<{ rolloutId: string | null } | null> {
    const result = await this.db
      .insertInto('policy_rollouts')
      .values({ policy_id: policyId, image_key: imageKey, rollout_id: null, created_at: now })
      .onConflict((oc) => oc.columns(['policy_id', 'image_key']).doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0) > 0) return null;
    const row = await this.db.selectFrom('policy_rollouts').select('rollout_id').where('policy_id', '=', policyId).where('image_key', '=', imageKey).executeTakeFirst();
    return { rolloutId: row?.rollout_id ?? null };
  }

  /** Records the rollout a claim started. */
  async setImageRollout(policyId: string, imageKey: string, rolloutId: string): Promise<void> {
    await this.db.updateTable('policy_rollouts').set({ rollout_id: rolloutId }).where('policy_id', '=', policyId).where('image_key', '=', imageKey).execute();
  }

  /** Gives a claim up (its rollout could not be created), so a later push may try again. */
  async releaseImage(policyId: string, imageKey: string): Promise<void> {
    await this.db.deleteFrom('policy_rollouts').where('policy_id', '=', policyId).where('image_key', '=', imageKey).where('rollout_id', 'is', null).execute();
  }

  async remove(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('policies').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
