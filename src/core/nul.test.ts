import { describe, expect, test } from 'vitest';
import { nulPath } from './nul.js';

describe('nulPath', () => {
  test('names the first string or key holding U+0000', () => {
    expect(nulPath('a\0b', 'body')).toBe('body');
    expect(nulPath({ a: ['x', { b: 'y\0' }] }, 'body')).toBe('body.a.1.b');
    expect(nulPath({ ok: 1, ['k\0']: 'v' }, 'metadata')).toBe('metadata.k\0');
  });

  test('is null for clean JSON values and for what is not JSON (bytes, streams)', () => {
    expect(nulPath({ a: [1, true, null, 'text \\u0000 as six characters'] }, 'body')).toBeNull();
    expect(nulPath(Buffer.from('a\0b'), 'body')).toBeNull();
    expect(nulPath(undefined, 'body')).toBeNull();
  });
});
