// Strong entity tags and If-None-Match (RFC 9110 §8.8.3, §13.1.2), one definition for every
// answer that can be 304: the device API's target state and chunk index, the poll fast paths,
// hawkBit's base poll and the dashboard's files.
import { createHash } from 'node:crypto';

/** A strong ETag for these bytes: 27 base64url characters (162 bits) of their sha256, quoted. */
export function strongEtag(body: string | Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

/**
 * True when an If-None-Match header names this ETag: the header is a comma-separated list, "*"
 * matches any, and the comparison is weak (W/"x" matches "x"), as the RFC requires for it.
 */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header === etag) return true;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}
