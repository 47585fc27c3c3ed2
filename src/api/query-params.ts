// Query parameters shared by list routes: comma-separated or repeated values checked against an
// allowed set, and opaque cursors this server issued.
import { ValidationError } from '../core/index.js';
import { decodeCursor } from '../store/index.js';

/** `?state=a,b&state=c` as ['a', 'b', 'c']. */
export const listParam = (value: string | string[] | undefined): string[] => (value === undefined ? [] : (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')).filter(Boolean));

/** Refuses values outside `allowed`, naming the field and the allowed values. */
export function oneOf<T extends string>(values: string[], allowed: readonly T[], field: string): T[] {
  for (const v of values) if (!(allowed as readonly string[]).includes(v)) throw new ValidationError(`${field} must be one of ${allowed.join(', ')} (got '${v}')`, [{ path: field, message: 'unknown value' }]);
  return values as T[];
}

/** The decoded cursor, null without one; a cursor this server did not issue is a 400. */
export function cursorOf(cursor: string | undefined): string | null {
  if (!cursor) return null;
  const decoded = decodeCursor(cursor);
  if (decoded === null) throw new ValidationError('invalid cursor: pass the nextCursor of the previous page unchanged', [{ path: 'cursor', message: 'is not a cursor this server issued' }]);
  return decoded;
}

/** A (createdAt, id) keyset cursor, as newest-first lists issue them ("<ms>:<id>"). */
export function timeCursorOf(cursor: string | undefined): { createdAt: number; id: string } | null {
  const raw = cursorOf(cursor);
  if (raw === null) return null;
  const at = Number(raw.slice(0, raw.indexOf(':')));
  const id = raw.slice(raw.indexOf(':') + 1);
  if (!raw.includes(':') || !Number.isFinite(at) || !id) throw new ValidationError('invalid cursor', [{ path: 'cursor', message: 'is not a cursor this server issued' }]);
  return { createdAt: at, id };
}
