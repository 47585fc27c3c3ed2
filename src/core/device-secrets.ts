// Device credentials are write-only. Everything under a device's `metadata.auth` (the push
// transports' bearerToken, password, passphrase, privateKey, key and certificate files, ...) is
// accepted on writes and stored apart, encrypted; every answer, event and log shows each value as
// SECRET_SET instead, with the keys kept so an operator sees which credentials are set. Sending
// SECRET_SET back for a key keeps the stored value, so an export re-imported loses nothing.
import type { ErrorDetail } from './errors.js';

/** What a stored credential looks like from outside; written back, it keeps the stored value. */
export const SECRET_SET = '[set]';
/** Where the credentials live in a device's metadata. */
export const AUTH_FIELD = 'auth';
const KEY_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const MAX_KEYS = 32;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Problems with `metadata.auth` (absent or null is fine): an object of at most 32 non-empty strings (their size is bounded by metadata's). */
export function authProblems(metadata: Json): ErrorDetail[] {
  const auth = metadata[AUTH_FIELD];
  // Absent or null: no credentials (null clears them, like leaving the key out).
  if (auth === undefined || auth === null) return [];
  const path = `metadata.${AUTH_FIELD}`;
  if (!isObject(auth)) return [{ path, message: 'must be an object of credentials such as {"bearerToken": "..."} or {"password": "..."}' }];
  const keys = Object.keys(auth);
  if (keys.length > MAX_KEYS) return [{ path, message: `has ${keys.length} keys; at most ${MAX_KEYS}` }];
  const problems: ErrorDetail[] = [];
  for (const key of keys) {
    const value = auth[key];
    if (!KEY_PATTERN.test(key)) problems.push({ path: `${path}.${key.slice(0, 64)}`, message: 'is not a credential name (a letter, then up to 63 letters, digits, ".", "_" or "-")' });
    else if (typeof value !== 'string' || value === '') problems.push({ path: `${path}.${key}`, message: 'must be a non-empty string' });
  }
  return problems;
}

/** A device's metadata taken apart: what may be shown, the new credential values, and the keys to keep. */
export interface SplitSecrets {
  /** The metadata with every credential value replaced by SECRET_SET. */
  metadata: Json;
  /** Credentials given with their value (to be stored, replacing what was). */
  values: Record<string, string>;
  /** Credentials sent as SECRET_SET: their stored value stays. */
  kept: string[];
  /** Every credential key the device has after this write. */
  keys: string[];
}

/** Splits valid metadata (see authProblems); metadata without `auth` comes back as it is. */
export function splitSecrets(metadata: Json): SplitSecrets {
  const auth = metadata[AUTH_FIELD];
  if (!isObject(auth)) return { metadata, values: {}, kept: [], keys: [] };
  const values: Record<string, string> = {};
  const kept: string[] = [];
  const shown: Record<string, string> = {};
  for (const [key, value] of Object.entries(auth)) {
    if (value === SECRET_SET) kept.push(key);
    else values[key] = String(value);
    shown[key] = SECRET_SET;
  }
  return { metadata: { ...metadata, [AUTH_FIELD]: shown }, values, kept, keys: Object.keys(shown) };
}

/** True when metadata carries a credential value (not only SECRET_SET markers). */
export function hasSecretValues(metadata: Json): boolean {
  const auth = metadata[AUTH_FIELD];
  return isObject(auth) && Object.values(auth).some((value) => value !== SECRET_SET);
}

/**
 * A copy of anything that may hold device input (a device, a patch, an import row) with the values
 * of every `metadata.auth` in it replaced by SECRET_SET: for events, logs and error messages.
 */
export function redactSecrets<T>(value: T): T {
  if (!isObject(value)) return value;
  let out: Json = value;
  if (typeof value.address === 'string') out = { ...out, address: withoutPassword(value.address) };
  const metadata = value.metadata;
  if (isObject(metadata) && AUTH_FIELD in metadata) {
    const auth = metadata[AUTH_FIELD];
    const shown = isObject(auth) ? Object.fromEntries(Object.keys(auth).map((key) => [key, SECRET_SET])) : SECRET_SET;
    out = { ...out, metadata: { ...metadata, [AUTH_FIELD]: shown } };
  }
  return out as T;
}

/** An address without the password that earlier versions accepted in it (ssh://user:password@host). */
function withoutPassword(address: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/@]*:[^/@]*@/i.test(address)) return address;
  try {
    const url = new URL(address);
    url.password = '';
    return url.toString();
  } catch {
    return address;
  }
}
