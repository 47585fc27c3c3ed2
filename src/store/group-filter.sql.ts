// A filter's `group` key, resolved from the groups as they are at the moment the filter is used:
// the device list, counts, exports, rollout targets and continuous joins all call this first.
import type { Kysely } from 'kysely';
import { parseDeviceFilter, ValidationError, type DeviceFilter, type Group, type GroupKind, type ResolvedGroup } from '../core/index.js';
import type { Database, DeviceGroupRow } from './schema.js';

export function toGroup(row: DeviceGroupRow): Group {
  return {
    id: row.id,
    tenant: row.tenant,
    name: row.name,
    kind: row.kind as GroupKind,
    filter: row.filter === null ? null : (JSON.parse(row.filter) as Record<string, unknown>),
    createdAt: new Date(Number(row.created_at)).toISOString(),
    updatedAt: new Date(Number(row.updated_at)).toISOString(),
  };
}

/** A group as a filter uses it. */
export function resolvedGroup(group: Group): ResolvedGroup {
  return group.kind === 'static' ? { id: group.id, tenant: group.tenant, kind: 'static' } : { id: group.id, tenant: group.tenant, kind: 'dynamic', filter: parseDeviceFilter(group.filter ?? {}) };
}

/** The groups a reference names: the one of that id, or those of that name (in `tenant` when given). */
export async function findGroups(db: Kysely<Database>, ref: string, tenant?: string): Promise<Group[]> {
  let q = db.selectFrom('device_groups').selectAll().where((eb) => eb.or([eb('id', '=', ref), eb('name', '=', ref)]));
  if (tenant !== undefined) q = q.where((eb) => eb.or([eb('id', '=', ref), eb('tenant', '=', tenant)]));
  return (await q.orderBy('id').execute()).map(toGroup);
}

/**
 * The filter with its `group` resolved (a ValidationError when it names no group, or a name
 * several tenants use without a tenant in the filter to say which); unchanged without one.
 */
export async function resolveGroupFilter(db: Kysely<Database>, filter: DeviceFilter): Promise<DeviceFilter> {
  if (!filter.group || filter.group.resolved) return filter;
  const ref = filter.group.ref;
  const tenant = filter.tenant?.length === 1 ? filter.tenant[0] : undefined;
  const found = await findGroups(db, ref, tenant);
  const group = found.find((g) => g.id === ref) ?? (found.length === 1 ? found[0] : undefined);
  if (!group) {
    if (found.length > 1) throw new ValidationError(`group name '${ref}' is used in tenants ${found.map((g) => g.tenant).join(', ')}: give its id, or a tenant in the filter`, [{ path: 'group', message: 'is ambiguous' }]);
    throw new ValidationError(`there is no group '${ref}' (give a group name or id; list them with GET /api/v1/groups)`, [{ path: 'group', message: 'no such group' }]);
  }
  return { ...filter, group: { ref, resolved: resolvedGroup(group) } };
}
