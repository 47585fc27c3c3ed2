// The CSV form of a device (DESIGN.md): a header of device field names, tags as key=value;key=value,
// metadata as a JSON string. Pure mapping both ways; parsing of the stream is in import.ts.
import type { Device, DeviceInput } from '../core/index.js';

export const CSV_COLUMNS = ['id', 'name', 'address', 'mode', 'status', 'lastSeen', 'version', 'location', 'timezone', 'tags', 'metadata', 'tenant', 'deviceType'] as const;

export function formatTags(tags: Record<string, string>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(';');
}

/** Parses "key=value;key=value"; returns an error message instead when malformed. */
export function parseTagsCell(cell: string): Record<string, string> | string {
  const tags: Record<string, string> = {};
  for (const part of cell.split(';')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) return `tags: "${part.slice(0, 60)}" is not key=value (write tags as key=value;key=value)`;
    tags[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return tags;
}

/** Turns a CSV record (header -> cell) into raw device input for validateDevice, or an error. */
export function csvRecordToInput(record: Record<string, string>): Record<string, unknown> | string {
  const input: Record<string, unknown> = {};
  for (const [key, cell] of Object.entries(record)) {
    if (cell === undefined || cell === '') continue;
    if (key === 'tags') {
      const tags = parseTagsCell(cell);
      if (typeof tags === 'string') return tags;
      input.tags = tags;
    } else if (key === 'metadata') {
      try {
        input.metadata = JSON.parse(cell);
      } catch {
        return 'metadata: is not valid JSON (write it as a JSON object, e.g. {"priority":"high"})';
      }
    } else {
      input[key] = cell;
    }
  }
  return input;
}

export function deviceToCsvRecord(device: Device | DeviceInput): string[] {
  return [
    device.id,
    device.name,
    device.address ?? '',
    device.mode,
    device.status,
    device.lastSeen ?? '',
    device.version ?? '',
    device.location ?? '',
    device.timezone,
    formatTags(device.tags),
    Object.keys(device.metadata).length ? JSON.stringify(device.metadata) : '',
    device.tenant ?? 'DEFAULT',
    device.deviceType ?? '',
  ];
}

/** The device JSON without server bookkeeping, as NDJSON export writes it. */
export function deviceToJson(device: Device): Omit<Device, 'createdAt' | 'updatedAt' | 'decommissionedAt'> {
  const { createdAt: _c, updatedAt: _u, decommissionedAt: _d, ...rest } = device;
  return rest;
}
