// A device and its row in the devices table, both ways.
import { versionKey, type Device, type DeviceInput, type DeviceStatus } from '../core/index.js';
import type { DeviceRow } from './schema.js';

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
    created_at: now,
    updated_at: now,
  };
}
