// U+0000 is text no store can hold everywhere: PostgreSQL's text and jsonb refuse it.

/** The dotted path of the first string or key in `value` holding U+0000, or null. */
export function nulPath(value: unknown, path: string): string | null {
  if (typeof value === 'string') return value.includes('\0') ? path : null;
  if (!isJsonContainer(value)) return null;
  for (const [key, item] of Object.entries(value)) {
    const at = `${path}.${key}`;
    if (key.includes('\0')) return at;
    const found = nulPath(item, at);
    if (found !== null) return found;
  }
  return null;
}

/** Arrays and plain objects: what parsed JSON is made of (not a Buffer or a stream). */
function isJsonContainer(value: unknown): value is object {
  if (Array.isArray(value)) return true;
  if (value === null || typeof value !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export const NUL_MESSAGE = 'must not contain a NUL character (U+0000)';
