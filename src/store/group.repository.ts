// Saved device groups: their rows, static membership, live member counts and the resolution of
// a filter's `group` key. Every statement is portable between SQLite and PostgreSQL.
import { sql, type Kysely, type SqlBool } from 'kysely';
import { ConflictError, FINISHED_ROLLOUT_STATUSES, idCursor, ValidationError, type DeviceFilter, type Group, type GroupKind, type GroupView } from '../core/index.js';
import { chunks, isUniqueViolation } from './device.repository.js';
import { deviceWhere } from './device-filter.sql.js';
import { findGroups, resolvedGroup, resolveGroupFilter, toGroup } from './group-filter.sql.js';
import type { Database, DeviceGroupRow } from './schema.js';
import { atomic } from './atomic.sql.js';


/** LIKE pattern of a JSON text holding `"group":"<ref>"`, with LIKE's own characters escaped. */
const refPattern = (ref: string) => `%${JSON.stringify({ group: ref }).slice(1, -1).replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export interface GroupReferences {
  rollouts: { id: string; name: string }[];
  policies: { id: string; name: string }[];
}

export class GroupRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly maxParams: number,
  ) {}

  /** Inserts a group; a ConflictError when its tenant has a group of that name. */
  async create(group: { id: string; tenant: string; name: string; kind: GroupKind; filter: Record<string, unknown> | null }, now: number): Promise<Group> {
    const row: DeviceGroupRow = { ...group, filter: group.filter === null ? null : JSON.stringify(group.filter), created_at: now, updated_at: now };
    try {
      await this.db.insertInto('device_groups').values(row).execute();
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`tenant ${group.tenant} has a group named '${group.name}'; choose another name`);
      throw error;
    }
    return toGroup(row);
  }

  async get(id: string): Promise<Group | null> {
    const row = await this.db.selectFrom('device_groups').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toGroup(row) : null;
  }

  /** The groups a reference (an id, or a name in any tenant, or in `tenant` when given) names. */
  find(ref: string, tenant?: string): Promise<Group[]> {
    return findGroups(this.db, ref, tenant);
  }

  /** One page of groups by id, each with its live member count. */
  async list(options: { tenant?: string; limit: number; after?: string | null }): Promise<{ items: GroupView[]; nextCursor: string | null }> {
    let q = this.db.selectFrom('device_groups').selectAll();
    if (options.tenant !== undefined) q = q.where('tenant', '=', options.tenant);
    if (options.after) q = q.where('id', '>', options.after);
    const rows = await q.orderBy('id').limit(options.limit + 1).execute();
    const more = rows.length > options.limit;
    const groups = (more ? rows.slice(0, options.limit) : rows).map(toGroup);
    const counts = await this.memberCounts(groups);
    const last = groups.at(-1);
    return { items: groups.map((g) => ({ ...g, members: counts.get(g.id) ?? 0 })), nextCursor: more && last ? idCursor.encode(last.id) : null };
  }

  /**
   * Live member counts of several groups in ONE query: a scalar count per group, over its
   * membership (static) or its filter (dynamic), devices in service of its tenant only.
   */
  async memberCounts(groups: Group[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (groups.length === 0) return out;
    const row = await this.db
      .selectNoFrom((eb) =>
        groups.map((group, i) =>
          eb
            .selectFrom('devices')
            .where(deviceWhere({ group: { ref: group.id, resolved: resolvedGroup(group) } }))
            .select((s) => s.fn.countAll<number>().as('n'))
            .as(`c${i}`),
        ),
      )
      .executeTakeFirstOrThrow();
    const counts = row as Record<string, unknown>;
    groups.forEach((group, i) => out.set(group.id, Number(counts[`c${i}`] ?? 0)));
    return out;
  }

  async update(id: string, change: { name?: string; filter?: Record<string, unknown> }, now: number): Promise<void> {
    const set: Partial<DeviceGroupRow> = { updated_at: now };
    if (change.name !== undefined) set.name = change.name;
    if (change.filter !== undefined) set.filter = JSON.stringify(change.filter);
    try {
      await this.db.updateTable('device_groups').set(set).where('id', '=', id).execute();
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`the group's tenant has a group named '${change.name}'; choose another name`);
      throw error;
    }
  }

  /**
   * Adds devices to a static group: only devices of its tenant (in service or not, their history
   * stays; counts leave the decommissioned out). A ValidationError naming the ids that are not
   * devices of the tenant, and nothing added, when any is not. Answers how many were new.
   */
  async addMembers(group: Group, deviceIds: string[]): Promise<number> {
    if (deviceIds.length === 0) return 0;
    return atomic(this.db, async (trx) => {
      const found = new Set<string>();
      for (const chunk of chunks(deviceIds, this.maxParams - 10)) {
        for (const r of await trx.selectFrom('devices').select('id').where('tenant', '=', group.tenant).where('id', 'in', chunk).execute()) found.add(r.id);
      }
      const missing = deviceIds.filter((id) => !found.has(id));
      if (missing.length) {
        throw new ValidationError(`${missing.length} of the devices are not devices of tenant ${group.tenant}: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', ...' : ''}`, [{ path: 'devices', message: `unknown in tenant ${group.tenant}: ${missing.slice(0, 10).join(', ')}` }]);
      }
      let added = 0;
      for (const chunk of chunks(deviceIds, Math.floor(this.maxParams / 2))) {
        const result = await trx
          .insertInto('device_group_members')
          .values(chunk.map((device_id) => ({ group_id: group.id, device_id })))
          .onConflict((oc) => oc.columns(['group_id', 'device_id']).doNothing())
          .executeTakeFirst();
        added += Number(result.numInsertedOrUpdatedRows ?? 0);
      }
      return added;
    });
  }

  /** Removes devices from a static group; answers how many were members. */
  async removeMembers(groupId: string, deviceIds: string[]): Promise<number> {
    let removed = 0;
    for (const chunk of chunks(deviceIds, this.maxParams - 10)) {
      const result = await this.db.deleteFrom('device_group_members').where('group_id', '=', groupId).where('device_id', 'in', chunk).executeTakeFirst();
      removed += Number(result.numDeletedRows);
    }
    return removed;
  }

  /** Rollouts not finished and policies whose filter names the group (by id or by name). */
  async references(group: Group): Promise<GroupReferences> {
    const names = (column: 'rollouts.filter' | 'policies.filter') => sql<SqlBool>`(${sql.ref(column)} LIKE ${refPattern(group.id)} ESCAPE '\\' OR ${sql.ref(column)} LIKE ${refPattern(group.name)} ESCAPE '\\')`;
    const rollouts = await this.db
      .selectFrom('rollouts')
      .select(['id', 'name'])
      .where('status', 'not in', [...FINISHED_ROLLOUT_STATUSES])
      .where(names('rollouts.filter'))
      .orderBy('id')
      .limit(20)
      .execute();
    const policies = await this.db.selectFrom('policies').select(['id', 'name']).where(names('policies.filter')).orderBy('id').limit(20).execute();
    return { rollouts, policies };
  }

  async delete(id: string): Promise<boolean> {
    return atomic(this.db, async (trx) => {
      await trx.deleteFrom('device_group_members').where('group_id', '=', id).execute();
      const result = await trx.deleteFrom('device_groups').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    });
  }

  /**
   * The filter with its `group` resolved from the groups as they are now (a ValidationError when it
   * names no group, or a name several tenants use without saying which); unchanged without one.
   */
  async resolve(filter: DeviceFilter): Promise<DeviceFilter> {
    return resolveGroupFilter(this.db, filter);
  }
}
