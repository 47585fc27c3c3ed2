// Query parameters shared by list routes: comma-separated or repeated values checked against an
// allowed set. Cursors are core's (cursor.ts).
import { ValidationError } from '../core/index.js';

/** `?state=a,b&state=c` as ['a', 'b', 'c']. */
export const listParam = (value: string | string[] | undefined): string[] => (value === undefined ? [] : (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')).filter(Boolean));

/** Refuses values outside `allowed`, naming the field and the allowed values. */
export function oneOf<T extends string>(values: string[], allowed: readonly T[], field: string): T[] {
  for (const v of values) if (!(allowed as readonly string[]).includes(v)) throw new ValidationError(`${field} must be one of ${allowed.join(', ')} (got '${v}')`, [{ path: field, message: 'unknown value' }]);
  return values as T[];
}
