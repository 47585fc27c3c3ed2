// Saved device groups: static (a list of device ids) and dynamic (a saved device filter), each of
// one tenant. A filter names a group with its `group` key; the store resolves it each time the
// filter is used (a dynamic group's members are whoever matches now).
import { DEFAULT_TENANT, TENANT_PATTERN } from './device.js';
import { parseDeviceFilter, type DeviceFilter } from './device-filter.js';

export type { ResolvedGroup } from './device-filter.js';
import { ValidationError, type ErrorDetail } from './errors.js';

export const GROUP_KINDS = ['static', 'dynamic'] as const;
export type GroupKind = (typeof GROUP_KINDS)[number];

export interface Group {
  id: string;
  tenant: string;
  name: string;
  kind: GroupKind;
  /** A dynamic group's filter (the device list's query keys); null for a static group. */
  filter: Record<string, unknown> | null;
  createdAt: string;
  updatedAt: string;
}

/** A group with its live member count: devices in service of its tenant that belong now. */
export interface GroupView extends Group {
  members: number;
}


/** 1-128 letters, digits, space, ".", "_", "-", starting with a letter or digit. */
export const GROUP_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._ -]{0,127}$/;
/** Group ids the server makes: "grp_" and 24 hex digits. */
export const GROUP_ID_PATTERN = /^grp_[0-9a-f]{24}$/;
/** Most device ids one request may add to or remove from a static group. */
export const MAX_GROUP_IDS = 10_000;
/** Filter keys a dynamic group cannot hold: groups do not nest, and a group is of one tenant and in service. */
const NOT_IN_GROUP_FILTER = ['group', 'tenant', 'decommissioned', 'ids'];

export interface GroupCreate {
  name: string;
  kind: GroupKind;
  tenant: string;
  filter: Record<string, unknown> | null;
  /** Static: the first members. */
  devices: string[];
}

export interface GroupPatch {
  name?: string;
  filter?: Record<string, unknown>;
  add: string[];
  remove: string[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks a dynamic group's filter; answers it parsed. Its problems land in `errors` under `filter.`. */
export function parseGroupFilter(raw: unknown, errors: ErrorDetail[]): DeviceFilter | null {
  if (!isObj(raw)) {
    errors.push({ path: 'filter', message: 'must be an object with the device list filter keys (status, location, version, tag, q, ...)' });
    return null;
  }
  for (const key of NOT_IN_GROUP_FILTER) if (raw[key] !== undefined) errors.push({ path: `filter.${key}`, message: key === 'group' ? 'groups do not nest: list the conditions instead' : key === 'tenant' ? "is the group's own tenant (set tenant on the group)" : key === 'ids' ? 'a list of devices is a static group' : 'a group holds devices in service' });
  try {
    return parseDeviceFilter(raw);
  } catch (error) {
    for (const d of (error as ValidationError).details ?? [{ message: (error as Error).message }]) errors.push({ path: `filter.${d.path ?? ''}`, message: d.message });
    return null;
  }
}

function deviceIds(raw: unknown, path: string, errors: ErrorDetail[]): string[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw) || !raw.every((v) => typeof v === 'string' && v.length > 0 && v.length <= 128)) {
    errors.push({ path, message: 'must be a list of device ids' });
    return [];
  }
  if (raw.length > MAX_GROUP_IDS) {
    errors.push({ path, message: `must list at most ${MAX_GROUP_IDS} ids (add more in further requests)` });
    return [];
  }
  return [...new Set(raw as string[])];
}

function name(raw: unknown, errors: ErrorDetail[]): string {
  if (typeof raw !== 'string' || !GROUP_NAME_PATTERN.test(raw)) errors.push({ path: 'name', message: 'is required: 1-128 letters, digits, space, ".", "_" or "-", starting with a letter or digit' });
  else if (GROUP_ID_PATTERN.test(raw)) errors.push({ path: 'name', message: 'must not look like a group id (grp_ and 24 hex digits)' });
  return typeof raw === 'string' ? raw : '';
}

function fail(what: string, errors: ErrorDetail[]): never {
  throw new ValidationError(`invalid ${what}: ${errors.map((e) => (e.path ? `${e.path} ${e.message}` : e.message)).join('; ')}`, errors);
}

export function validateGroupCreate(raw: unknown): GroupCreate {
  const errors: ErrorDetail[] = [];
  const input = isObj(raw) ? raw : {};
  if (!isObj(raw)) errors.push({ message: 'the group must be a JSON object' });
  for (const key of Object.keys(input)) if (!['name', 'kind', 'tenant', 'filter', 'devices'].includes(key)) errors.push({ path: key, message: 'is not a group field (name, kind, tenant, filter, devices)' });
  const groupName = name(input.name, errors);
  const kind = input.kind as GroupKind;
  if (!(GROUP_KINDS as readonly unknown[]).includes(kind)) errors.push({ path: 'kind', message: 'is required: static (a list of devices) or dynamic (a saved filter)' });
  let tenant = DEFAULT_TENANT;
  if (input.tenant !== undefined && input.tenant !== null) {
    if (typeof input.tenant === 'string' && TENANT_PATTERN.test(input.tenant)) tenant = input.tenant;
    else errors.push({ path: 'tenant', message: 'must be 1-64 letters, digits, "_", "." or "-"' });
  }
  let filter: Record<string, unknown> | null = null;
  if (kind === 'dynamic') {
    if (input.filter === undefined) errors.push({ path: 'filter', message: 'is required for a dynamic group' });
    else if (parseGroupFilter(input.filter, errors)) filter = input.filter as Record<string, unknown>;
    if (input.devices !== undefined) errors.push({ path: 'devices', message: 'a dynamic group has no list of devices: its filter says who belongs' });
  } else if (input.filter !== undefined) errors.push({ path: 'filter', message: 'a static group has no filter: list its devices' });
  const devices = kind === 'static' ? deviceIds(input.devices, 'devices', errors) : [];
  if (errors.length) fail('group', errors);
  return { name: groupName, kind, tenant, filter, devices };
}

/** A PATCH of `group`: rename, a new filter (dynamic), devices to add or remove (static). */
export function validateGroupPatch(raw: unknown, group: Group): GroupPatch {
  const errors: ErrorDetail[] = [];
  const input = isObj(raw) ? raw : {};
  if (!isObj(raw)) errors.push({ message: 'the change must be a JSON object' });
  for (const key of Object.keys(input)) if (!['name', 'filter', 'add', 'remove'].includes(key)) errors.push({ path: key, message: 'is not a group change (name, filter, add, remove)' });
  const patch: GroupPatch = { add: [], remove: [] };
  if (input.name !== undefined) patch.name = name(input.name, errors);
  if (input.filter !== undefined) {
    if (group.kind !== 'dynamic') errors.push({ path: 'filter', message: 'a static group has no filter: add or remove devices' });
    else if (parseGroupFilter(input.filter, errors)) patch.filter = input.filter as Record<string, unknown>;
  }
  for (const key of ['add', 'remove'] as const) {
    if (input[key] === undefined) continue;
    if (group.kind !== 'static') errors.push({ path: key, message: 'a dynamic group has no list of devices: change its filter' });
    else patch[key] = deviceIds(input[key], key, errors);
  }
  if (errors.length) fail('group change', errors);
  return patch;
}
