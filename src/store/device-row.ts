// A device and its row in the devices table, both ways.
import { DEFAULT_TENANT, versionKey, type Device, type DeviceInput, type DeviceStatus } from '../core/index.js';
import type { DeviceRow } from './schema.js';

/** The columns a device's input fills, in table order: all but created_at and updated_at. */
export const INPUT_COLUMNS = ['id', 'name', 'address', 'mode', 'status', 'last_seen', 'version', 'version_key', 'location', 'timezone', 'tags', 'metadata', 'tenant', 'device_type'] as const satisfies readonly (keyof DeviceRow)[];
/** Every column of a row, in table order. */
export const ROW_COLUMNS = [...INPUT_COLUMNS, 'created_at', 'updated_at'] as const;
/** `SET` of an upsert that meets an existing id: every column but id and created_at from `excluded`. */
export const UPSERT_SET = [...INPUT_COLUMNS.filter((c) => c !== 'id'), 'updated_at'].map((c) => `${c} = excluded.${c}`).join(', ');

export function toDevice(row: DeviceRow): Device {
  return {
    id: row.id,
    name: row.name,
    address: row.address,
    mode: row.mode as Device['mode'],
    status: row.status as DeviceStatus,
    lastSeen: row.last_seen === null ? null : new Date(row.last_seen).toISOString(),
    version: row.version,
    location: row.location,
    timezone: row.timezone,
    tags: JSON.parse(row.tags) as Device['tags'],
    metadata: JSON.parse(row.metadata) as Device['metadata'],
    tenant: row.tenant,
    deviceType: row.device_type ?? null,
    decommissionedAt: row.decommissioned_at == null ? null : new Date(Number(row.decommissioned_at)).toISOString(),
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

/** The row a device is stored as; `now` is its creation and update time. */
export function toRow(device: DeviceInput, now: number): DeviceRow {
  return {
    id: device.id,
    name: device.name,
    address: device.address,
    mode: device.mode,
    status: device.status,
    last_seen: device.lastSeen === null ? null : Date.parse(device.lastSeen),
    version: device.version,
    version_key: versionKey(device.version),
    location: device.location,
    timezone: device.timezone,
    tags: JSON.stringify(device.tags),
    metadata: JSON.stringify(device.metadata),
    tenant: device.tenant ?? DEFAULT_TENANT,
    device_type: device.deviceType ?? null,
    created_at: now,
    updated_at: now,
  };
}
