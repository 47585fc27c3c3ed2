// The device as the registry keeps it, and the pure rules that decide whether an input is one.
import { authProblems } from './device-secrets.js';
import { ValidationError, type ErrorDetail } from './errors.js';
import { jsonProblem } from './storable.js';
import { isValidTimeZone } from './timezone.js';

export const DEVICE_MODES = ['pull', 'http', 'ssh'] as const;
export type DeviceMode = (typeof DEVICE_MODES)[number];

export const DEVICE_STATUSES = ['online', 'offline', 'unknown'] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

export type Tags = Record<string, string>;
export type JsonObject = { [key: string]: unknown };

/** A device as the registry stores it and the API shows it (DESIGN.md "Device JSON"). */
export interface Device {
  id: string;
  name: string;
  address: string | null;
  mode: DeviceMode;
  status: DeviceStatus;
  /** ISO-8601 instant of the last heartbeat, or null if never seen. */
  lastSeen: string | null;
  version: string | null;
  location: string | null;
  /** IANA time zone, used to evaluate maintenance windows in the device's local time. */
  timezone: string;
  tags: Tags;
  metadata: JsonObject;
  /** The hawkBit tenant the device belongs to ('DEFAULT' unless set): its DDI URL and gateway token. */
  tenant: string;
  /**
   * The device's hardware type (e.g. `rpi4`, `pos-terminal-v2`), which releases match their
   * artifacts against: Mender's inventory `device_type`, a hawkBit controller attribute, the
   * agent's `--device-type`, or set by an operator. Null when nobody has told us.
   */
  deviceType: string | null;
  /** ISO-8601 instant it was decommissioned (every credential revoked, history kept), else null. */
  decommissionedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** What a caller may set on a device; everything but `id` is optional and defaulted. */
export type DeviceInput = Omit<Device, 'createdAt' | 'updatedAt' | 'decommissionedAt' | 'tenant' | 'deviceType'> & { tenant?: string; deviceType?: string | null };

/** A device type: letters, digits and `_ . - + : /`, up to 64 (what Mender and SWUpdate use for hardware names). */
export const DEVICE_TYPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.+:/-]{0,63}$/;
export const DEVICE_TYPE_MESSAGE = 'must be 1-64 letters, digits, "_", ".", "-", "+", ":" or "/", starting with a letter or digit (the hardware type, e.g. rpi4)';

/** A device type as a protocol reported it, or null when it is not one (ignored rather than stored). */
export function normalizeDeviceType(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  const text = raw.trim();
  return DEVICE_TYPE_PATTERN.test(text) ? text : null;
}

/** The tenant of a device no one put in another. */
export const DEFAULT_TENANT = 'DEFAULT';

/** The longest version a device record holds (what it reports, or the artifact it installed). */
export const DEVICE_VERSION_MAX = 64;
/** A tenant name: what the hawkBit DDI URL's first segment may hold. */
export const TENANT_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;
const TAG_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,63}$/;
const MAX_TAGS = 64;
const MAX_METADATA_BYTES = 16 * 1024;

// Control characters have no place in names, tags or locations (they break logs and CSV).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f]/;
// eslint-disable-next-line no-control-regex
const TAG_VALUE_FORBIDDEN = /[;\u0000-\u001f]/;

function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(raw: unknown, field: string, max: number, errors: ErrorDetail[]): string | null {
  if (raw === undefined || raw === null || raw === '') return null;
  if (typeof raw !== 'string') {
    errors.push({ path: field, message: `must be a string, got ${typeof raw}` });
    return null;
  }
  if (raw.length > max) errors.push({ path: field, message: `must be at most ${max} characters (got ${raw.length})` });
  if (CONTROL.test(raw)) errors.push({ path: field, message: 'must not contain control characters' });
  return raw;
}

/** Checks a push address for its mode: a full http(s) URL, or ssh://user@host[:port]/dir. */
export function addressProblem(mode: DeviceMode, address: string | null): string | null {
  if (mode === 'pull') return null;
  if (!address) return `is required when mode is '${mode}'`;
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return mode === 'http' ? 'must be a full URL such as http://10.0.0.5:8080/update' : 'must look like ssh://user@host:22/remote/dir';
  }
  if (mode === 'http' && url.protocol !== 'http:' && url.protocol !== 'https:') return `must be an http:// or https:// URL for mode 'http' (got ${url.protocol})`;
  // Every viewer reads addresses; a password belongs in the write-only credentials.
  if (url.password) return `must not hold a password (every viewer reads addresses): put it in metadata.auth.password, which is write-only and stored encrypted`;
  if (mode === 'ssh') {
    if (url.protocol !== 'ssh:') return `must be an ssh:// URL for mode 'ssh' (got ${url.protocol})`;
    if (!url.username) return 'must name the user, as in ssh://user@host:22/remote/dir';
    if (!url.hostname) return 'must name the host';
  }
  return null;
}

function parseTags(raw: unknown, errors: ErrorDetail[]): Tags {
  if (raw === undefined || raw === null || raw === '') return {};
  if (!isPlainObject(raw)) {
    errors.push({ path: 'tags', message: 'must be an object of string values, like {"region": "west"}' });
    return {};
  }
  const entries = Object.entries(raw);
  if (entries.length > MAX_TAGS) errors.push({ path: 'tags', message: `must have at most ${MAX_TAGS} entries` });
  const tags: Tags = {};
  for (const [key, value] of entries) {
    if (!TAG_KEY_PATTERN.test(key)) {
      errors.push({ path: `tags.${key}`, message: 'key must be 1-64 letters, digits, "_", ".", "-" or "/", starting with a letter or digit' });
      continue;
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      errors.push({ path: `tags.${key}`, message: 'value must be a string' });
      continue;
    }
    const text = String(value);
    if (text.length > 256 || TAG_VALUE_FORBIDDEN.test(text)) {
      errors.push({ path: `tags.${key}`, message: 'value must be at most 256 characters, without ";" or control characters' });
      continue;
    }
    tags[key] = text;
  }
  return tags;
}

function parseLastSeen(raw: unknown, errors: ErrorDetail[]): string | null {
  if (raw === undefined || raw === null || raw === '') return null;
  const ms = typeof raw === 'number' ? raw : typeof raw === 'string' ? Date.parse(raw) : NaN;
  if (!Number.isFinite(ms) || ms < 0 || ms > 8.64e15) {
    errors.push({ path: 'lastSeen', message: 'must be an ISO-8601 date-time such as 2026-01-31T02:00:00Z' });
    return null;
  }
  return new Date(ms).toISOString();
}

function oneOf<T extends string>(raw: unknown, allowed: readonly T[], fallback: T, field: string, errors: ErrorDetail[]): T {
  if (raw === undefined || raw === null || raw === '') return fallback;
  if (typeof raw === 'string' && (allowed as readonly string[]).includes(raw)) return raw as T;
  errors.push({ path: field, message: `must be one of ${allowed.join(', ')} (got ${JSON.stringify(raw)})` });
  return fallback;
}

/**
 * Turns untrusted input into a device, or lists every problem with it.
 * Unknown fields are refused so a typo ("tag" for "tags") does not silently vanish.
 */
export function parseDeviceInput(raw: unknown, options: { idFromPath?: string } = {}): { device: DeviceInput; errors: ErrorDetail[] } {
  const errors: ErrorDetail[] = [];
  const input: JsonObject = isPlainObject(raw) ? raw : {};
  if (!isPlainObject(raw)) errors.push({ message: 'the device must be a JSON object' });
  for (const key of Object.keys(input)) {
    if (!KNOWN_FIELDS.has(key)) errors.push({ path: key, message: `is not a device field (known: ${[...KNOWN_FIELDS].join(', ')})` });
  }
  const rawId = options.idFromPath ?? input.id;
  let id = '';
  if (typeof rawId !== 'string' || !ID_PATTERN.test(rawId)) {
    errors.push({ path: 'id', message: 'is required: 1-128 letters, digits, ".", "_", ":", "@" or "-", starting with a letter or digit' });
  } else {
    id = rawId;
    if (options.idFromPath !== undefined && input.id !== undefined && input.id !== rawId) {
      errors.push({ path: 'id', message: `does not match the id in the URL ('${rawId}')` });
    }
  }
  const name = optionalString(input.name, 'name', 256, errors) ?? id;
  const mode = oneOf(input.mode, DEVICE_MODES, 'pull', 'mode', errors);
  const status = oneOf(input.status, DEVICE_STATUSES, 'unknown', 'status', errors);
  const address = optionalString(input.address, 'address', 2048, errors);
  const addressError = addressProblem(mode, address);
  if (addressError) errors.push({ path: 'address', message: addressError });
  const version = optionalString(input.version, 'version', DEVICE_VERSION_MAX, errors);
  const location = optionalString(input.location, 'location', 256, errors);
  const timezone = optionalString(input.timezone, 'timezone', 64, errors) ?? 'UTC';
  if (!isValidTimeZone(timezone)) errors.push({ path: 'timezone', message: `'${timezone}' is not an IANA time zone (e.g. America/New_York, Europe/Berlin, UTC)` });
  const tags = parseTags(input.tags, errors);
  let metadata: JsonObject = {};
  if (input.metadata !== undefined && input.metadata !== null) {
    if (!isPlainObject(input.metadata)) errors.push({ path: 'metadata', message: 'must be a JSON object' });
    else {
      // Checked first: it bounds the depth that JSON.stringify walks by recursion.
      const problem = jsonProblem(input.metadata, 'metadata');
      if (problem) errors.push(problem);
      else if (JSON.stringify(input.metadata).length > MAX_METADATA_BYTES) errors.push({ path: 'metadata', message: `must be at most ${MAX_METADATA_BYTES} bytes as JSON` });
      else {
        const credentialErrors = authProblems(input.metadata);
        if (credentialErrors.length) errors.push(...credentialErrors);
        else metadata = input.metadata;
      }
    }
  }
  const lastSeen = parseLastSeen(input.lastSeen, errors);
  const tenant = parseTenant(input.tenant, errors);
  const deviceType = parseDeviceType(input.deviceType, errors);
  return { device: { id, name, address, mode, status, lastSeen, version, location, timezone, tags, metadata, tenant, deviceType }, errors };
}

function parseDeviceType(raw: unknown, errors: ErrorDetail[]): string | null {
  if (raw === undefined || raw === null || raw === '') return null;
  if (typeof raw === 'string' && DEVICE_TYPE_PATTERN.test(raw)) return raw;
  errors.push({ path: 'deviceType', message: DEVICE_TYPE_MESSAGE });
  return null;
}

function parseTenant(raw: unknown, errors: ErrorDetail[]): string {
  if (raw === undefined || raw === null || raw === '') return DEFAULT_TENANT;
  if (typeof raw === 'string' && TENANT_PATTERN.test(raw)) return raw;
  errors.push({ path: 'tenant', message: `must be 1-64 letters, digits, "_", "." or "-" (the hawkBit tenant of the device; default ${DEFAULT_TENANT})` });
  return DEFAULT_TENANT;
}

// Read-only fields a client may send back unchanged (a GET's answer as a PUT): they are ignored.
const KNOWN_FIELDS = new Set(['id', 'name', 'address', 'mode', 'status', 'lastSeen', 'version', 'location', 'timezone', 'tags', 'metadata', 'tenant', 'deviceType', 'createdAt', 'updatedAt', 'decommissionedAt']);

/** Like parseDeviceInput, but throws a ValidationError listing every problem. */
export function validateDevice(raw: unknown, options: { idFromPath?: string } = {}): DeviceInput {
  const { device, errors } = parseDeviceInput(raw, options);
  if (errors.length > 0) throw new ValidationError(`invalid device: ${errors.map((e) => (e.path ? `${e.path} ${e.message}` : e.message)).join('; ')}`, errors);
  return device;
}

/** Applies a partial update to a stored device and validates the result as a whole. */
export function mergeDevicePatch(current: Device, patch: unknown): DeviceInput {
  if (!isPlainObject(patch)) throw new ValidationError('the patch must be a JSON object');
  const { createdAt: _c, updatedAt: _u, decommissionedAt: _d, ...base } = current;
  return validateDevice({ ...base, ...patch }, { idFromPath: current.id });
}
