// Translates a parsed DeviceFilter into a Kysely WHERE clause; the SQL twin of matchesDeviceFilter.
import { sql, type ExpressionBuilder, type Expression, type SqlBool } from 'kysely';
import { versionKey, type DeviceFilter } from '../core/index.js';
import type { Database } from './schema.js';

type Eb = ExpressionBuilder<Database, 'devices'>;

/**
 * The WHERE of a filter. A `group` in it must have been resolved (resolveGroups in
 * group.repository.ts does it each time a filter is used): static members through the membership
 * table, a dynamic group's own filter nested, both only devices of the group's tenant.
 */
export function deviceWhere(filter: DeviceFilter, nested = false) {
  return (eb: Eb): Expression<SqlBool> => {
    const all: Expression<SqlBool>[] = [];
    if (filter.group) {
      const group = filter.group.resolved;
      if (!group) throw new Error(`group '${filter.group.ref}' used in SQL before it was resolved`);
      all.push(eb('devices.tenant', '=', group.tenant));
      if (group.kind === 'static')
        all.push(
          eb.exists(
            eb
              .selectFrom('device_group_members')
              .select(sql`1`.as('one'))
              .whereRef('device_group_members.device_id', '=', 'devices.id')
              .where('device_group_members.group_id', '=', group.id),
          ),
        );
      else all.push(deviceWhere(group.filter, true)(eb));
    }
    if (filter.ids) all.push(filter.ids.length ? eb('devices.id', 'in', filter.ids) : sql<SqlBool>`1 = 0`);
    if (filter.enrolledOnly) all.push(sql<SqlBool>`devices.enrollment = 'accepted'`);
    if (filter.status) all.push(eb('devices.status', 'in', filter.status));
    if (filter.mode) all.push(eb('devices.mode', 'in', filter.mode));
    if (filter.location) all.push(eb('devices.location', 'in', filter.location));
    if (filter.version) {
      const match = filter.version;
      if (match.kind === 'exact') {
        // The sortable key is indexed; the text comparison keeps "v2.4" and "2.4.0" apart.
        const key = versionKey(match.version);
        all.push(key ? eb.and([eb('devices.version_key', '=', key), eb('devices.version', '=', match.version)]) : eb('devices.version', '=', match.version));
      }
      else
        all.push(
          eb.or(
            match.anyOf.map((bounds) =>
              eb.and([eb('devices.version_key', 'is not', null), ...bounds.map(({ op, key }) => eb('devices.version_key', op, key))]),
            ),
          ),
        );
    }
    for (const { key, value } of filter.tags ?? []) {
      // Correlated EXISTS probes the (key, value, device_id) primary key once per candidate row.
      all.push(
        eb.exists(
          eb
            .selectFrom('device_tags')
            .select(sql`1`.as('one'))
            .whereRef('device_tags.device_id', '=', 'devices.id')
            .where('device_tags.key', '=', key)
            .where('device_tags.value', '=', value),
        ),
      );
    }
    if (filter.q) {
      const pattern = `%${filter.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      all.push(eb.or([sql<SqlBool>`lower(devices.id) LIKE ${pattern} ESCAPE '\\'`, sql<SqlBool>`lower(devices.name) LIKE ${pattern} ESCAPE '\\'`]));
    }
    if (filter.lastSeenBefore !== undefined) all.push(eb('devices.last_seen', '<', filter.lastSeenBefore));
    if (filter.lastSeenAfter !== undefined) all.push(eb('devices.last_seen', '>', filter.lastSeenAfter));
    if (filter.tenant) all.push(eb('devices.tenant', 'in', filter.tenant));
    if (filter.deviceType) all.push(eb('devices.device_type', 'in', filter.deviceType));
    // Every filter means the devices in service unless it asks for the decommissioned ones (a
    // group's nested filter leaves that to the filter it is part of).
    if (!nested) all.push(eb('devices.decommissioned_at', filter.decommissioned ? 'is not' : 'is', null));
    return eb.and(all);
  };
}
