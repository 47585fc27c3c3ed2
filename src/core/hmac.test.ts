// The one HMAC signing helper, checked against a signature computed independently (node's
// createHmac by hand) and against GitHub's documented example for X-Hub-Signature-256.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hmacSignature, hmacSignatureMatches } from './hmac.js';

describe('HMAC-SHA256 body signatures', () => {
  it("matches GitHub's documented X-Hub-Signature-256 example", () => {
    // docs.github.com, "Validating webhook deliveries": secret "It's a Secret to Everybody", payload "Hello, World!".
    const expected = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    expect(hmacSignature("It's a Secret to Everybody", 'Hello, World!')).toBe(expected);
    expect(hmacSignatureMatches("It's a Secret to Everybody", Buffer.from('Hello, World!'), expected)).toBe(true);
  });

  it('signs strings and bytes alike, as an independent HMAC does', () => {
    const body = '{"id":1,"type":"rollout.paused"}';
    const independent = `sha256=${createHmac('sha256', 'whsec-1').update(Buffer.from(body)).digest('hex')}`;
    expect(hmacSignature('whsec-1', body)).toBe(independent);
    expect(hmacSignature('whsec-1', Buffer.from(body))).toBe(independent);
    expect(hmacSignatureMatches('whsec-1', body, independent.toUpperCase().replace('SHA256=', 'sha256='))).toBe(true);
  });

  it('refuses another secret, other bytes and anything but sha256=<64 hex>', () => {
    const body = Buffer.from('payload');
    const good = hmacSignature('s3cret', body);
    expect(hmacSignatureMatches('s3cret', body, good)).toBe(true);
    for (const header of [undefined, '', good.slice(7), `sha1=${good.slice(7)}`, `${good}00`, good.slice(0, -1), `sha256=${'z'.repeat(64)}`, ` ${good}`]) {
      expect(hmacSignatureMatches('s3cret', body, header), String(header)).toBe(false);
    }
    expect(hmacSignatureMatches('other', body, good)).toBe(false);
    expect(hmacSignatureMatches('s3cret', Buffer.from('payload!'), good)).toBe(false);
  });
});
