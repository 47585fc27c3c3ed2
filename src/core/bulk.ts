// Bulk actions on a selection of devices: explicit ids (bounded), a device filter, or a saved
// group, always within one tenant. The selection becomes a device filter; the store applies the
// action with set-based statements over it.
import { DEFAULT_TENANT, DEVICE_TYPE_MESSAGE, DEVICE_TYPE_PATTERN, optionalString, parseTags, TAG_KEY_PATTERN, TENANT_PATTERN, type Tags } from './device.js';
import { parseDeviceFilter, type DeviceFilter } from './device-filter.js';
import { ValidationError, type ErrorDetail } from './errors.js';

export const BULK_ACTIONS = ['tag', 'untag', 'set-location', 'set-device-type', 'decommission'] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];
/** Most explicit ids one bulk request may list (a larger selection is a filter or a group). */
export const MAX_BULK_IDS = 10_000;
/** Most tags one bulk tag or untag may set or remove. */
export const MAX_BULK_TAGS = 16;

/** What the action changes. */
export type BulkChange = { action: 'tag'; tags: Tags } | { action: 'untag'; keys: string[] } | { action: 'set-location'; location: string | null } | { action: 'set-device-type'; deviceType: string | null } | { action: 'decommission' };

export interface BulkRequest {
  change: BulkChange;
  tenant: string;
  /** The selection as a device filter (ids, filter or group), bounded to the tenant. */
  filter: DeviceFilter;
  /** How it was selected, for the audit event. */
  selection: { ids: number } | { filter: Record<string, unknown> } | { group: string };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const FIELDS = ['action', 'ids', 'filter', 'group', 'tenant', 'tags', 'keys', 'location', 'deviceType'];

/** Validates a bulk request body; a ValidationError naming each problem. */
export function validateBulkRequest(raw: unknown): BulkRequest {
  const errors: ErrorDetail[] = [];
  const input = isObj(raw) ? raw : {};
  if (!isObj(raw)) errors.push({ message: 'the bulk action must be a JSON object' });
  for (const key of Object.keys(input)) if (!FIELDS.includes(key)) errors.push({ path: key, message: `is not a bulk action field (${FIELDS.join(', ')})` });
  let tenant = DEFAULT_TENANT;
  if (input.tenant !== undefined) {
    if (typeof input.tenant === 'string' && TENANT_PATTERN.test(input.tenant)) tenant = input.tenant;
    else errors.push({ path: 'tenant', message: 'must be 1-64 letters, digits, "_", "." or "-"' });
  }
  const given = (['ids', 'filter', 'group'] as const).filter((k) => input[k] !== undefined);
  if (given.length !== 1) errors.push({ path: given.length ? given.join(',') : 'ids', message: 'select the devices with exactly one of ids (a list), filter (device list keys) or group (a group name or id)' });
  let filter: DeviceFilter = {};
  let selection: BulkRequest['selection'] = { ids: 0 };
  if (given.length === 1) {
    const key = given[0]!;
    if (key === 'ids') {
      const ids = input.ids;
      if (!Array.isArray(ids) || !ids.every((v) => typeof v === 'string' && v.length > 0 && v.length <= 128)) errors.push({ path: 'ids', message: 'must be a list of device ids' });
      else if (ids.length > MAX_BULK_IDS) errors.push({ path: 'ids', message: `must list at most ${MAX_BULK_IDS} ids; select more with a filter or a group` });
      else {
        filter = { ids: [...new Set(ids as string[])] };
        selection = { ids: filter.ids!.length };
      }
    } else if (key === 'filter') {
      if (!isObj(input.filter)) errors.push({ path: 'filter', message: 'must be an object with the device list filter keys (status, location, version, tag, q, group, ...)' });
      else {
        if (input.filter.tenant !== undefined) errors.push({ path: 'filter.tenant', message: 'give the tenant as the request’s own tenant field' });
        if (input.filter.decommissioned !== undefined) errors.push({ path: 'filter.decommissioned', message: 'bulk actions change devices in service only' });
        try {
          filter = parseDeviceFilter(input.filter);
          selection = { filter: input.filter };
        } catch (error) {
          for (const d of (error as ValidationError).details ?? [{ message: (error as Error).message }]) errors.push({ path: `filter.${d.path ?? ''}`, message: d.message });
        }
      }
    } else if (typeof input.group !== 'string' || input.group.trim() === '' || input.group.length > 128) errors.push({ path: 'group', message: 'must be a group name or id' });
    else {
      filter = { group: { ref: input.group.trim() } };
      selection = { group: input.group.trim() };
    }
  }
  const change = parseChange(input, errors);
  if (errors.length || !change) throw new ValidationError(`invalid bulk action: ${errors.map((e) => (e.path ? `${e.path} ${e.message}` : e.message)).join('; ')}`, errors);
  // Whatever selected them, only devices of the tenant in service: another tenant's ids, even
  // listed, and another tenant's group, even by id, select nothing.
  return { change, tenant, filter: { ...filter, tenant: [tenant], decommissioned: false }, selection };
}

function parseChange(input: Record<string, unknown>, errors: ErrorDetail[]): BulkChange | null {
  const action = input.action as BulkAction;
  if (!(BULK_ACTIONS as readonly unknown[]).includes(action)) {
    errors.push({ path: 'action', message: `is required: one of ${BULK_ACTIONS.join(', ')}` });
    return null;
  }
  const extra = (allowed: string[]) => {
    for (const key of ['tags', 'keys', 'location', 'deviceType']) if (input[key] !== undefined && !allowed.includes(key)) errors.push({ path: key, message: `is not used by action ${action}` });
  };
  switch (action) {
    case 'tag': {
      extra(['tags']);
      const tags = parseTags(input.tags, errors);
      const n = Object.keys(tags).length;
      if (n === 0 || n > MAX_BULK_TAGS) errors.push({ path: 'tags', message: `must set 1-${MAX_BULK_TAGS} tags, like {"ring": "beta"}` });
      return { action, tags };
    }
    case 'untag': {
      extra(['keys']);
      const keys = input.keys;
      if (!Array.isArray(keys) || keys.length === 0 || keys.length > MAX_BULK_TAGS || !keys.every((k) => typeof k === 'string' && TAG_KEY_PATTERN.test(k))) {
        errors.push({ path: 'keys', message: `must list 1-${MAX_BULK_TAGS} tag keys to remove, like ["ring"]` });
        return { action, keys: [] };
      }
      return { action, keys: [...new Set(keys as string[])] };
    }
    case 'set-location': {
      extra(['location']);
      if (!('location' in input)) errors.push({ path: 'location', message: 'is required: the new location, or null to clear it' });
      return { action, location: optionalString(input.location, 'location', 256, errors) };
    }
    case 'set-device-type': {
      extra(['deviceType']);
      const raw = input.deviceType;
      if (raw === null) return { action, deviceType: null };
      if (typeof raw === 'string' && DEVICE_TYPE_PATTERN.test(raw)) return { action, deviceType: raw };
      errors.push({ path: 'deviceType', message: raw === undefined ? 'is required: the new device type, or null to clear it' : DEVICE_TYPE_MESSAGE });
      return { action, deviceType: null };
    }
    default:
      extra([]);
      return { action: 'decommission' };
  }
}
