// Keyset cursors: the opaque nextCursor a list answers and takes back unchanged, the base64url of
// the last row's sort key. One codec, three formats: the last id (devices, a rollout's executions,
// events' numeric ids), the last (created-at, id) of a newest-first list (rollouts, artifacts, a
// device's history), and a device list's total carried with its last id, so paging through a
// million devices counts them once. A cursor this server did not issue is refused (400).
import { ValidationError } from './errors.js';

export interface CursorFormat<K> {
  encode(key: K): string;
  /** The key; null without a cursor; ValidationError for one this server did not issue. */
  decode(cursor: string | null | undefined): K | null;
}

/** The time-ordered key: newest-first lists continue below (createdAt, id). */
export interface TimeKey {
  createdAt: number;
  id: string;
}

const invalidCursor = () => new ValidationError('invalid cursor: pass the nextCursor of the previous page unchanged', [{ path: 'cursor', message: 'is not a cursor this server issued' }]);

function cursorFormat<K>(write: (key: K) => string, read: (text: string) => K | null): CursorFormat<K> {
  return {
    encode: (key) => Buffer.from(write(key), 'utf8').toString('base64url'),
    decode(cursor) {
      if (cursor === undefined || cursor === null || cursor === '') return null;
      if (!/^[A-Za-z0-9_-]{1,400}$/.test(cursor)) throw invalidCursor();
      const text = Buffer.from(cursor, 'base64url').toString('utf8');
      const key = text === '' ? null : read(text);
      if (key === null) throw invalidCursor();
      return key;
    },
  };
}

/** The last id of the page. */
export const idCursor = cursorFormat<string>(
  (id) => id,
  (text) => text,
);

/** The last id of a page of events: a positive integer. */
export const eventCursor = cursorFormat<number>(
  (id) => String(id),
  (text) => (/^\d{1,15}$/.test(text) && Number(text) >= 1 ? Number(text) : null),
);

/** "<created-at ms>:<id>" of the last row of a newest-first page. */
export const timeCursor = cursorFormat<TimeKey>(
  ({ createdAt, id }) => `${createdAt}:${id}`,
  (text) => {
    const colon = text.indexOf(':');
    const at = text.slice(0, colon);
    const id = text.slice(colon + 1);
    return colon > 0 && /^\d{1,15}$/.test(at) && id !== '' ? { createdAt: Number(at), id } : null;
  },
);

/** "<total>|<last id>" (ids never contain "|"); a plain id continues without a carried total. */
export const totalCursor = cursorFormat<{ total: number | null; id: string }>(
  ({ total, id }) => (total === null ? id : `${total}|${id}`),
  (text) => {
    const bar = text.indexOf('|');
    if (bar < 0) return { total: null, id: text };
    const id = text.slice(bar + 1);
    return bar > 0 && /^\d{1,12}$/.test(text.slice(0, bar)) && id !== '' ? { total: Number(text.slice(0, bar)), id } : null;
  },
);
