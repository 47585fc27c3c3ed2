import { describe, expect, test } from 'vitest';
import { jsonProblem, MAX_JSON_DEPTH, storableText } from './storable.js';

const nested = (depth: number, inner = '') => JSON.parse(`${'['.repeat(depth)}${inner}${']'.repeat(depth)}`) as unknown;

describe('jsonProblem', () => {
  test('names the first string or key holding U+0000', () => {
    expect(jsonProblem('a\0b', 'body')).toEqual({ path: 'body', message: expect.stringMatching(/NUL/) });
    expect(jsonProblem({ a: ['x', { b: 'y\0' }] }, 'body')?.path).toBe('body.a.1.b');
    expect(jsonProblem({ ok: 1, ['k\0']: 'v' }, 'metadata')?.path).toBe('metadata.k\0');
  });

  test('refuses nesting deeper than the limit, even far deeper than the call stack', () => {
    expect(jsonProblem(nested(MAX_JSON_DEPTH), 'body')).toBeNull();
    expect(jsonProblem(nested(MAX_JSON_DEPTH + 1), 'body')).toEqual({ path: `body${'.0'.repeat(MAX_JSON_DEPTH)}`, message: `nests deeper than ${MAX_JSON_DEPTH} levels` });
    expect(jsonProblem(nested(100_000, '"a"'), 'body')?.message).toMatch(/deeper/);
  });

  test('is null for clean JSON values and for what is not JSON (bytes, streams)', () => {
    expect(jsonProblem({ a: [1, true, null, 'text \\u0000 as six characters'] }, 'body')).toBeNull();
    expect(jsonProblem(Buffer.from('a\0b'), 'body')).toBeNull();
    expect(jsonProblem(undefined, 'body')).toBeNull();
  });
});

describe('storableText', () => {
  test('replaces control characters but tab and newline, and cuts to the limit', () => {
    expect(storableText('disk\0full\x1b[2J\r\tok\n', 100)).toBe('disk\uFFFDfull\uFFFD[2J\uFFFD\tok\n');
    expect(storableText('abcdef', 4)).toBe('abcd');
  });

  test('never leaves half of a surrogate pair at the cut', () => {
    expect(storableText('ab😀', 3)).toBe('ab');
    expect(storableText('ab😀', 4)).toBe('ab😀');
  });
});
