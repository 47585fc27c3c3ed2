// What no store should be handed, whatever its schema says: U+0000, which PostgreSQL's text and
// jsonb refuse, and nesting so deep that recursive code (JSON.stringify, validators) overflows
// the call stack. Input from operators is refused (jsonProblem); text a device sends back (an
// error body, a verify command's stderr) is made storable (storableText).
import { ValidationError } from './errors.js';

export const MAX_JSON_DEPTH = 64;

export interface JsonProblem {
  path: string;
  message: string;
}

/**
 * The first problem in a parsed JSON value, with its dotted path from `path`: U+0000 in a string
 * or key, or nesting deeper than MAX_JSON_DEPTH; null when there is none. Iterative, so that a
 * value nested thousands of levels deep is answered, not a stack overflow.
 */
export function jsonProblem(value: unknown, path: string): JsonProblem | null {
  const pending: [unknown, string, number][] = [[value, path, 0]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, at, depth] = next;
    if (typeof item === 'string') {
      if (item.includes('\0')) return { path: at, message: NUL_MESSAGE };
    } else if (isJsonContainer(item)) {
      if (depth >= MAX_JSON_DEPTH) return { path: at, message: `nests deeper than ${MAX_JSON_DEPTH} levels` };
      const entries = Object.entries(item);
      // Pushed in reverse so that the first field is looked at first.
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        if (key.includes('\0')) return { path: `${at}.${key}`, message: NUL_MESSAGE };
        pending.push([child, `${at}.${key}`, depth + 1]);
      }
    }
  }
  return null;
}

/** Throws a ValidationError (a 400 at the API) naming the first problem in `value`. */
export function refuseJsonProblem(value: unknown, path: string): void {
  const problem = jsonProblem(value, path);
  if (problem) throw new ValidationError(`invalid request: ${problem.path} ${problem.message}`, [problem]);
}

const NUL_MESSAGE = 'must not contain a NUL character (U+0000)';

/** Arrays and plain objects: what parsed JSON is made of (not a Buffer or a stream). */
function isJsonContainer(value: unknown): value is object {
  if (Array.isArray(value)) return true;
  if (value === null || typeof value !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

/**
 * Text from a device, made safe to store and to print: control characters other than tab and
 * newline (U+0000, which PostgreSQL refuses; ESC, which drives terminals) become U+FFFD, and the
 * text is cut to `max` characters without splitting a surrogate pair.
 */
export function storableText(text: string, max: number): string {
  let cut = text.length > max ? text.slice(0, max) : text;
  if (cut.length === max && /[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return cut.replace(CONTROL, '\uFFFD');
}
