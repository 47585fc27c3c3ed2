// The keyset cursors' one codec: every format round-trips, is opaque base64url, and refuses
// what this server did not issue with the same 400.
import { describe, expect, it } from 'vitest';
import { eventCursor, idCursor, timeCursor, totalCursor } from './cursor.js';
import { ValidationError } from './errors.js';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

describe('keyset cursors', () => {
  it('round-trips each format through an opaque base64url string', () => {
    for (const id of ['dev-1', 'ünïcode:with|marks', 'a'.repeat(128)]) {
      const cursor = idCursor.encode(id);
      expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(idCursor.decode(cursor)).toBe(id);
    }
    expect(eventCursor.decode(eventCursor.encode(123_456))).toBe(123_456);
    const key = { createdAt: Date.parse('2026-03-01T10:00:00Z'), id: 'r:with:colons' };
    expect(timeCursor.decode(timeCursor.encode(key))).toEqual(key);
    expect(totalCursor.decode(totalCursor.encode({ total: 1_000_000, id: 'pos-000042' }))).toEqual({ total: 1_000_000, id: 'pos-000042' });
    expect(totalCursor.decode(idCursor.encode('pos-000042'))).toEqual({ total: null, id: 'pos-000042' });
  });

  it('reads no cursor as the first page', () => {
    for (const format of [idCursor, eventCursor, timeCursor, totalCursor]) {
      expect(format.decode(undefined)).toBeNull();
      expect(format.decode(null)).toBeNull();
      expect(format.decode('')).toBeNull();
    }
  });

  it('refuses a cursor this server did not issue, the same way for every format', () => {
    const refused: [{ decode(c: string): unknown }, string][] = [
      [idCursor, 'not base64!'],
      [idCursor, 'a'.repeat(401)],
      [eventCursor, b64('0')],
      [eventCursor, b64('12abc')],
      [eventCursor, b64('1'.repeat(16))],
      [timeCursor, b64('no-colon')],
      [timeCursor, b64(':id')],
      [timeCursor, b64('12:')],
      [timeCursor, b64('1e3:id')],
      [totalCursor, b64('12|')],
      [totalCursor, b64('x|id')],
    ];
    for (const [format, cursor] of refused) {
      let error: unknown;
      try {
        format.decode(cursor);
      } catch (e) {
        error = e;
      }
      expect(error, cursor).toBeInstanceOf(ValidationError);
      expect(error).toMatchObject({ message: 'invalid cursor: pass the nextCursor of the previous page unchanged', details: [{ path: 'cursor', message: 'is not a cursor this server issued' }] });
    }
  });
});
