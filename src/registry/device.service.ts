// Device registry use cases: validation, persistence, events, cached totals for list pages, and
// bulk import and export.
import type { Readable } from 'node:stream';
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
import { exportDevices } from './device-export.js';
import { importDevices, type DeviceFormat, type ImportResult } from './device-import.js';

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

/** Where and how much an import may hold (the server's configuration). */
export interface ImportSettings {
  /** Where an import's scratch files go (the system's temporary directory without one). */
  tmpDir?: string;
  /** Largest row of an import, bytes (ORCHESTRATOR_IMPORT_MAX_ROW_BYTES; 1 MiB without one). */
  maxRowBytes?: number;
}

export class DeviceService {
  private readonly totals = new Map<string, { total: number; at: number; generation: number }>();
  private generation = 0;

  constructor(
    private readonly store: Store,
    private readonly events: EventLog,
    private readonly clock: Clock,
    private readonly imports: ImportSettings = {},
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

  /**
   * Bulk upsert from CSV or NDJSON, streamed and staged (device-import.ts): nothing is written when
   * a row is bad unless `skipInvalid`, and a row longer than the limit stops it (RowTooLongError).
   * One summary event per import, not one per row.
   */
  async import(source: Readable, options: { format: DeviceFormat; skipInvalid: boolean }, actor: string): Promise<ImportResult> {
    const result = await importDevices(source, {
      format: options.format,
      skipInvalid: options.skipInvalid,
      tmpDir: this.imports.tmpDir,
      maxRowBytes: this.imports.maxRowBytes,
      stage: (dir) => this.store.devices.importStaging(dir, this.clock.now()),
      check: (device) => this.store.devices.keptProblem(device),
    });
    this.invalidate();
    // New statistics after a bulk change, or the planner may pick a poor index for list pages.
    if (result.created + result.updated > 0) await this.store.devices.analyze();
    const { rows, created, updated, skipped } = result;
    await this.events.append([{ type: 'devices.imported', actor, data: { format: options.format, rows, created, updated, skipped } }]);
    return result;
  }

  /** The devices a filter matches as CSV or NDJSON (the import format), read a page at a time. */
  export(filter: DeviceFilter, format: DeviceFormat): Readable {
    return exportDevices(this.store.devices.iterate(filter, 1000), format);
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
