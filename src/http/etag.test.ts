// Strong ETags and If-None-Match as RFC 9110 reads them.
import { describe, expect, it } from 'vitest';
import { etagMatches, strongEtag } from './etag.js';

describe('strongEtag', () => {
  it('is a quoted, stable digest of the bytes, the same for a string and its buffer', () => {
    const tag = strongEtag('{"update":null}');
    expect(tag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(strongEtag(Buffer.from('{"update":null}'))).toBe(tag);
    expect(strongEtag('{"update":{}}')).not.toBe(tag);
  });
});

describe('etagMatches', () => {
  const tag = '"abc"';
  it('matches the tag itself, in a list, its weak form and "*"', () => {
    for (const header of ['"abc"', '"x", "abc"', ' "x" ,"abc" ', 'W/"abc"', '"x", W/"abc"', '*']) expect(etagMatches(header, tag), header).toBe(true);
  });
  it('does not match another tag, an unquoted one, a prefix or no header', () => {
    for (const header of [undefined, '', '"abcd"', 'abc', '"ab"', 'W/"x"', ',,,', '"abc']) expect(etagMatches(header, tag), String(header)).toBe(false);
  });
});
