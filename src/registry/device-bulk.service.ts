// Bulk actions on a selection of devices (ids, a filter or a group, within one tenant): tag,
// untag, set location, decommission. A dry run answers the count and changes nothing. A run is
// one unit of work: the selection is frozen, the change applied with set-based statements, ONE
// audit event records the action with its count, and every device's history gets its own event.
import { randomUUID } from 'node:crypto';
import { validateBulkRequest, type BulkAction, type Clock, type Execution, type NewEvent } from '../core/index.js';
import type { EventLog, Store, StoreTransaction } from '../store/index.js';

export interface BulkResult {
  action: BulkAction;
  tenant: string;
  /** Devices the action touches (dry run: would touch). */
  count: number;
  dryRun: boolean;
  /** The audit event of the run; null for a dry run. */
  eventId: number | null;
}

/** What a bulk decommission needs beyond the devices' own rows (DecommissionService). */
export interface BulkDecommission {
  endIn(tx: StoreTransaction, deviceIds: string[], open: Execution[], actor: string, now: number): Promise<{ events: NewEvent[]; ended: string[] }>;
  afterBulk(deviceIds: string[], ended: string[]): void;
}

export class DeviceBulkService {
  constructor(
    private readonly store: Store,
    private readonly events: EventLog,
    private readonly clock: Clock,
    private readonly deps: { decommission: BulkDecommission; changed: () => void },
  ) {}

  async run(input: unknown, actor: string, options: { dryRun: boolean }): Promise<BulkResult> {
    const request = validateBulkRequest(input);
    const { change, tenant } = request;
    if (options.dryRun) return { action: change.action, tenant, count: await this.store.devices.count(request.filter), dryRun: true, eventId: null };
    const runId = randomUUID();
    let decommissioned: { ids: string[]; ended: string[] } | null = null;
    const { count, records } = await this.store.transaction(async (tx) => {
      const now = this.clock.now();
      const count = await tx.deviceBulk.select(runId, request.filter);
      const { action: _a, ...what } = change;
      const [audit] = await this.events.append([{ type: `devices.bulk-${change.action}`, actor, data: { count, tenant, selection: request.selection, ...what } }], tx);
      const records = [audit!];
      if (count > 0) {
        if (change.action === 'decommission') {
          const open = await tx.deviceBulk.decommission(runId, now);
          const ids = await tx.deviceBulk.deviceIds(runId);
          await tx.deviceBulk.history(runId, { type: 'device.decommissioned', actor, data: { bulk: audit!.id } }, now);
          const ended = await this.deps.decommission.endIn(tx, ids, open, actor, now);
          records.push(...(await this.events.append(ended.events, tx)));
          decommissioned = { ids, ended: ended.ended };
        } else {
          await tx.deviceBulk.apply(runId, change, now);
          await tx.deviceBulk.history(runId, { type: 'device.updated', actor, data: { bulk: audit!.id, action: change.action, changes: what } }, now);
        }
      }
      await tx.deviceBulk.release(runId);
      return { count, records };
    });
    this.events.publish(records);
    this.deps.changed();
    const done = decommissioned as { ids: string[]; ended: string[] } | null;
    if (done) this.deps.decommission.afterBulk(done.ids, done.ended);
    return { action: change.action, tenant, count, dryRun: false, eventId: records[0]!.id };
  }
}
