// Cheap grouped counts over whole tables, for the metrics gauges and the dashboard's top lists,
// and the database's own health (does it answer, which migrations are applied).
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

/** The (table, column) pairs counted by group. */
export type CountedColumn = { table: 'devices'; column: 'status' | 'version' | 'location' } | { table: 'executions'; column: 'state' } | { table: 'rollouts'; column: 'status' };

export class StatsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** `SELECT column, COUNT(*) FROM table GROUP BY column`: value (null as 'none') -> count. */
  async countBy(counted: CountedColumn): Promise<Record<string, number>> {
    const result = await sql<{ k: string | null; n: number | string }>`SELECT ${sql.ref(counted.column)} AS k, COUNT(*) AS n FROM ${sql.table(counted.table)} GROUP BY ${sql.ref(counted.column)}`.execute(this.db);
    return Object.fromEntries(result.rows.map((r) => [r.k ?? 'none', Number(r.n)]));
  }

  /** The `limit` most common values of a device column, most common first. */
  async topDeviceValues(column: 'status' | 'version' | 'location', limit: number): Promise<{ value: string | null; count: number }[]> {
    const result = await sql<{ v: string | null; n: number | string }>`SELECT ${sql.ref(column)} AS v, COUNT(*) AS n FROM devices GROUP BY ${sql.ref(column)} ORDER BY COUNT(*) DESC LIMIT ${limit}`.execute(this.db);
    return result.rows.map((r) => ({ value: r.v, count: Number(r.n) }));
  }

  /** How many events of these exact types each device has in a rollout (devices with none are left out). */
  async eventsPerDevice(rolloutId: string, types: string[]): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('events')
      .select(['device_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('rollout_id', '=', rolloutId)
      .where('type', 'in', types)
      .where('device_id', 'is not', null)
      .groupBy('device_id')
      .execute();
    return new Map(rows.map((r) => [r.device_id!, Number(r.n)]));
  }

  /** The versions of the applied migrations; throws when the database does not answer. */
  async appliedMigrations(): Promise<Set<string>> {
    await sql`SELECT 1`.execute(this.db);
    return new Set((await this.db.selectFrom('schema_migrations').select('version').execute()).map((r) => r.version));
  }
}
