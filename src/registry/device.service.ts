// Device registry use cases: validation, persistence, events, and cached totals for list pages.
import {
  ConflictError,
  NotFoundError,
  mergeDevicePatch,
  redactSecrets,
  parseDeviceFilter,
  totalCursor,
  validateDevice,
  type Clock,
  type Device,
  type DeviceFilter,
} from '../core/index.js';
import type { EventLog, Store } from '../store/index.js';

export interface ListResult {
  items: Device[];
  nextCursor: string | null;
  total: number;
}

/**
 * Totals are cached per filter for a short time (writes through this service clear them at once):
 * counting a million rows on every page is waste. Heartbeats may make a status total up to this old.
 */
const TOTAL_TTL_MS = 30_000;

/** A decommissioned device stays as it was decommissioned: its history is evidence. */
function inService(device: Device | null): Device | null {
  if (device?.decommissionedAt) throw new ConflictError(`device '${device.id}' was decommissioned at ${device.decommissionedAt}; it cannot be changed (register the hardware again under a new id)`);
  return device;
}

export class DeviceService {
  private readonly totals = new Map<string, { total: number; at: number; generation: number }>();
  private generation = 0;

  constructor(
    private readonly store: Store,
    private readonly events: EventLog,
    private readonly clock: Clock,
  ) {}

  /** Call after any write to devices that did not go through this service (imports, heartbeats). */
  invalidate(): void {
    this.generation++;
  }

  async get(id: string): Promise<Device> {
    const device = await this.store.devices.get(id);
    if (!device) throw new NotFoundError('device', id);
    return device;
  }

  async create(input: unknown, actor: string): Promise<Device> {
    const valid = validateDevice(input);
    let device: Device;
    try {
      device = await this.store.devices.create(valid, this.clock.now());
    } catch (error) {
      // The id of a decommissioned device is taken for good: say so, not "use PUT".
      if (error instanceof ConflictError) inService(await this.store.devices.get(valid.id));
      throw error;
    }
    this.invalidate();
    await this.events.append([{ type: 'device.created', actor, deviceId: device.id, data: { device } }]);
    return device;
  }

  /** PUT: replaces the device, creating it when absent. */
  async replace(id: string, input: unknown, actor: string): Promise<{ device: Device; created: boolean }> {
    const next = validateDevice(input, { idFromPath: id });
    inService(await this.store.devices.get(id));
    const updated = await this.store.devices.update(next, this.clock.now());
    const result = updated ? { device: updated, created: false } : { device: await this.store.devices.create(next, this.clock.now()), created: true };
    this.invalidate();
    await this.events.append([{ type: result.created ? 'device.created' : 'device.updated', actor, deviceId: id, data: { device: result.device } }]);
    return result;
  }

  async patch(id: string, patch: unknown, actor: string): Promise<Device> {
    const current = inService(await this.get(id))!;
    const updated = await this.store.devices.update(mergeDevicePatch(current, patch), this.clock.now());
    if (!updated) throw new NotFoundError('device', id);
    this.invalidate();
    await this.events.append([{ type: 'device.updated', actor, deviceId: id, data: { changes: redactSecrets(patch as Record<string, unknown>) } }]);
    return updated;
  }

  /** One summary event per import, not one per row. */
  async logImport(result: { rows: number; created: number; updated: number; skipped: number }, format: string, actor: string): Promise<void> {
    const { rows, created, updated, skipped } = result;
    await this.events.append([{ type: 'devices.imported', actor, data: { format, rows, created, updated, skipped } }]);
  }

  parseFilter(query: Record<string, unknown>): DeviceFilter {
    return parseDeviceFilter(query);
  }

  /**
   * One page. The total is counted for the first page (or taken from the short-lived cache) and
   * carried in the cursor, so paging through a million devices counts them once, not per page.
   */
  async list(filter: DeviceFilter, options: { limit: number; cursor?: string }): Promise<ListResult> {
    const cursor = totalCursor.decode(options.cursor);
    const [page, total] = await Promise.all([this.store.devices.list(filter, { limit: options.limit, after: cursor?.id ?? null }), cursor?.total ?? this.total(filter)]);
    const last = page.items.at(-1);
    return { items: page.items, nextCursor: page.nextCursor && last ? totalCursor.encode({ total, id: last.id }) : null, total };
  }

  async total(filter: DeviceFilter): Promise<number> {
    const key = JSON.stringify(filter);
    const now = this.clock.now();
    const cached = this.totals.get(key);
    if (cached && cached.generation === this.generation && now - cached.at < TOTAL_TTL_MS) return cached.total;
    const total = await this.store.devices.count(filter);
    if (this.totals.size > 1000) this.totals.clear();
    this.totals.set(key, { total, at: now, generation: this.generation });
    return total;
  }
}
