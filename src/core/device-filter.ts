// The device filter shared by the registry list, rollouts (their target set) and policies.
// Parsing is strict: a filter that cannot mean anything is a 400, not an empty list.
import { DEVICE_MODES, DEVICE_STATUSES, DEVICE_TYPE_PATTERN, TENANT_PATTERN, type Device, type DeviceMode, type DeviceStatus } from './device.js';
import { ValidationError, type ErrorDetail } from './errors.js';
import { matchesVersion, parseVersionFilter, type VersionMatch } from './version.js';

/** The filter as callers write it: the query-string keys of `GET /api/v1/devices`. */
export interface DeviceFilterInput {
  status?: string | string[];
  mode?: string | string[];
  location?: string | string[];
  version?: string;
  /** "key=value" or "key:value", repeatable; all must match. */
  tag?: string | string[];
  /** Substring of id or name, case-insensitive. */
  q?: string;
  lastSeenBefore?: string;
  lastSeenAfter?: string;
  /** Explicit device ids. */
  ids?: string[];
  /** hawkBit tenant(s). */
  tenant?: string | string[];
  /** Device type(s), exact. */
  deviceType?: string | string[];
  /** "true": only decommissioned devices; unset or "false": only devices in service. */
  decommissioned?: string;
  /** A saved group, by name or id: its members (static) or whoever its filter matches now (dynamic). */
  group?: string;
}

/** A saved group as a filter uses it: static membership, or the dynamic group's parsed filter (core/group.ts). */
export type ResolvedGroup = { id: string; tenant: string; kind: 'static' } | { id: string; tenant: string; kind: 'dynamic'; filter: DeviceFilter };

/** A parsed, validated filter. Every present key must match (AND); lists inside a key are OR. */
export interface DeviceFilter {
  status?: DeviceStatus[];
  mode?: DeviceMode[];
  location?: string[];
  version?: VersionMatch;
  tags?: { key: string; value: string }[];
  q?: string;
  lastSeenBefore?: number;
  lastSeenAfter?: number;
  ids?: string[];
  tenant?: string[];
  deviceType?: string[];
  /** Decommissioned devices instead of those in service (which every filter means otherwise). */
  decommissioned?: boolean;
  /**
   * Only devices an operator has accepted (enrolled). Not a query key: rollouts add it, so a
   * device that enrolled itself and waits as pending (or was rejected) is never updated.
   */
  enrolledOnly?: boolean;
  /**
   * A saved group by name or id. The store resolves it (`resolved`) each time the filter is used,
   * so a dynamic group's members are whoever matches its filter at that moment.
   */
  group?: { ref: string; resolved?: ResolvedGroup };
}

export const FILTER_KEYS = ['status', 'mode', 'location', 'version', 'tag', 'q', 'lastSeenBefore', 'lastSeenAfter', 'ids', 'tenant', 'deviceType', 'decommissioned', 'group'] as const;

const list = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(',')).map((v) => v.trim()).filter((v) => v !== '');

function parseInstant(raw: string, path: string, errors: ErrorDetail[]): number | undefined {
  const ms = Date.parse(raw);
  if (!Number.isFinite(ms)) {
    errors.push({ path, message: `must be an ISO-8601 date-time such as 2026-01-31T02:00:00Z (got ${JSON.stringify(raw).slice(0, 80)})` });
    return undefined;
  }
  return ms;
}

/**
 * One tag filter: "key=value" (as CSV, `devices add` and the tables print tags) or "key:value".
 * Tag keys hold neither character, so the first "=" or ":" ends the key; the value may hold both
 * ("url=http://x"). Null when there is no key before the separator.
 */
export function parseTagFilter(text: string): { key: string; value: string } | null {
  const at = text.search(/[=:]/);
  if (at <= 0) return null;
  return { key: text.slice(0, at), value: text.slice(at + 1) };
}

/** Parses and validates a filter; throws a ValidationError naming each bad key. */
export function parseDeviceFilter(input: DeviceFilterInput | Record<string, unknown>): DeviceFilter {
  const raw = input as Record<string, unknown>;
  const errors: ErrorDetail[] = [];
  const filter: DeviceFilter = {};
  for (const key of Object.keys(raw)) {
    if (!(FILTER_KEYS as readonly string[]).includes(key) && raw[key] !== undefined) {
      errors.push({ path: key, message: `is not a filter (known: ${FILTER_KEYS.join(', ')})` });
    }
  }
  const str = (key: string): string | string[] | undefined => {
    const value = raw[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value;
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
    errors.push({ path: key, message: 'must be a string or a list of strings' });
    return undefined;
  };
  const statuses = list(str('status'));
  for (const s of statuses) if (!(DEVICE_STATUSES as readonly string[]).includes(s)) errors.push({ path: 'status', message: `must be one of ${DEVICE_STATUSES.join(', ')} (got ${JSON.stringify(s)})` });
  if (statuses.length) filter.status = statuses as DeviceStatus[];
  const modes = list(str('mode'));
  for (const m of modes) if (!(DEVICE_MODES as readonly string[]).includes(m)) errors.push({ path: 'mode', message: `must be one of ${DEVICE_MODES.join(', ')} (got ${JSON.stringify(m)})` });
  if (modes.length) filter.mode = modes as DeviceMode[];
  const locations = list(str('location'));
  if (locations.length) filter.location = locations;
  const version = str('version');
  if (version !== undefined) {
    const text = Array.isArray(version) ? version.join(' ') : version;
    const parsed = parseVersionFilter(text);
    if (!parsed) errors.push({ path: 'version', message: `must be a version (2.4.1) or a semver range (<2.4.0, >=1.2 <2, ^1.4) (got ${JSON.stringify(text).slice(0, 80)})` });
    else filter.version = parsed;
  }
  const tagValue = str('tag');
  const tags = tagValue === undefined ? [] : Array.isArray(tagValue) ? tagValue : [tagValue];
  for (const tag of tags) {
    const parsed = parseTagFilter(tag);
    if (!parsed) errors.push({ path: 'tag', message: `must be key=value or key:value, like region=west (got ${JSON.stringify(tag).slice(0, 80)})` });
    else (filter.tags ??= []).push(parsed);
  }
  const q = str('q');
  if (typeof q === 'string' && q.trim() !== '') {
    if (q.length > 256) errors.push({ path: 'q', message: 'must be at most 256 characters' });
    else filter.q = q.trim();
  }
  const before = str('lastSeenBefore');
  if (typeof before === 'string' && before !== '') filter.lastSeenBefore = parseInstant(before, 'lastSeenBefore', errors);
  const after = str('lastSeenAfter');
  if (typeof after === 'string' && after !== '') filter.lastSeenAfter = parseInstant(after, 'lastSeenAfter', errors);
  const tenants = list(str('tenant'));
  for (const t of tenants) if (!TENANT_PATTERN.test(t)) errors.push({ path: 'tenant', message: `must be a tenant name: 1-64 letters, digits, "_", "." or "-" (got ${JSON.stringify(t).slice(0, 80)})` });
  if (tenants.length) filter.tenant = tenants;
  const deviceTypes = list(str('deviceType'));
  for (const t of deviceTypes) if (!DEVICE_TYPE_PATTERN.test(t)) errors.push({ path: 'deviceType', message: `must be a device type: 1-64 letters, digits, "_", ".", "-", "+", ":" or "/" (got ${JSON.stringify(t).slice(0, 80)})` });
  if (deviceTypes.length > 100) errors.push({ path: 'deviceType', message: 'must list at most 100 device types' });
  if (deviceTypes.length) filter.deviceType = deviceTypes;
  const decommissioned = raw.decommissioned;
  if (decommissioned !== undefined && decommissioned !== null && decommissioned !== '') {
    if (decommissioned === true || decommissioned === 'true') filter.decommissioned = true;
    else if (decommissioned !== false && decommissioned !== 'false') errors.push({ path: 'decommissioned', message: `must be true (only decommissioned devices) or false (the default: devices in service) (got ${JSON.stringify(decommissioned).slice(0, 80)})` });
  }
  const group = str('group');
  if (group !== undefined) {
    if (typeof group !== 'string' || group.trim() === '' || group.length > 128) errors.push({ path: 'group', message: 'must be one group name or id (at most 128 characters)' });
    else filter.group = { ref: group.trim() };
  }
  const ids = raw.ids;
  if (ids !== undefined) {
    if (!Array.isArray(ids) || !ids.every((v) => typeof v === 'string')) errors.push({ path: 'ids', message: 'must be a list of device ids' });
    else if (ids.length > 100_000) errors.push({ path: 'ids', message: 'must list at most 100000 ids' });
    else filter.ids = ids as string[];
  }
  if (errors.length) throw new ValidationError(`invalid device filter: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, errors);
  return filter;
}

/** The same decision the store's SQL makes, for one device in memory (continuous rollouts, policies). */
export function matchesDeviceFilter(device: Device, filter: DeviceFilter): boolean {
  if (filter.status && !filter.status.includes(device.status)) return false;
  if (filter.mode && !filter.mode.includes(device.mode)) return false;
  if (filter.location && (device.location === null || !filter.location.includes(device.location))) return false;
  if (filter.version && !matchesVersion(filter.version, device.version)) return false;
  if (filter.tags && !filter.tags.every(({ key, value }) => device.tags[key] === value)) return false;
  if (filter.q) {
    const q = filter.q.toLowerCase();
    if (!device.id.toLowerCase().includes(q) && !device.name.toLowerCase().includes(q)) return false;
  }
  const seen = device.lastSeen ? Date.parse(device.lastSeen) : null;
  if (filter.lastSeenBefore !== undefined && (seen === null || seen >= filter.lastSeenBefore)) return false;
  if (filter.lastSeenAfter !== undefined && (seen === null || seen <= filter.lastSeenAfter)) return false;
  if (filter.ids && !filter.ids.includes(device.id)) return false;
  if (filter.tenant && !filter.tenant.includes(device.tenant)) return false;
  if (filter.deviceType && (device.deviceType === null || !filter.deviceType.includes(device.deviceType))) return false;
  if (Boolean(device.decommissionedAt) !== (filter.decommissioned === true)) return false;
  if (filter.group) {
    const group = filter.group.resolved;
    // Static membership lives in the store; only its SQL can answer it.
    if (!group || group.kind !== 'dynamic') throw new Error(`group '${filter.group.ref}' must be resolved to a dynamic group to be matched in memory`);
    if (device.tenant !== group.tenant || !matchesDeviceFilter(device, { ...group.filter, decommissioned: filter.decommissioned })) return false;
  }
  return true;
}
