// The keyset condition of every newest-first list (rollouts, artifacts, a device's history): the
// rows after the page that ended at `key` in (created_at desc, id desc) order, on both dialects.
import { sql, type Expression, type SqlBool } from 'kysely';
import type { TimeKey } from '../core/index.js';

/** `created < key.createdAt OR (created = key.createdAt AND id < key.id)` over the named columns. */
export function olderThan(created: string, id: string, key: TimeKey): Expression<SqlBool> {
  const c = sql.ref(created);
  return sql<SqlBool>`(${c} < ${key.createdAt} or (${c} = ${key.createdAt} and ${sql.ref(id)} < ${key.id}))`;
}
