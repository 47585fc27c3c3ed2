// Mender auth request signatures (RSA, ECDSA, ed25519 keys, as mender-client and deviceauth use
// them) and device JWTs.
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AuthError, ValidationError } from '../../core/index.js';
import { canonicalPublicKey, deviceIdFor, parseAuthRequest, signJwt, verifyAuthSignature, verifyJwt } from './auth-crypto.js';

const keys = {
  rsa: generateKeyPairSync('rsa', { modulusLength: 2048 }),
  ecdsa: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  ed25519: generateKeyPairSync('ed25519'),
};

describe('verifyAuthSignature', () => {
  for (const [type, pair] of Object.entries(keys)) {
    it(`accepts a ${type} signature over the exact body and refuses a changed body or another key`, () => {
      const pem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const body = Buffer.from(JSON.stringify({ id_data: '{"mac":"02:00:00:00:00:01"}', pubkey: pem }));
      const signature = sign(type === 'ed25519' ? null : 'sha256', body, pair.privateKey).toString('base64');
      expect(verifyAuthSignature(body, signature, pem)).toBe(true);
      expect(verifyAuthSignature(Buffer.concat([body, Buffer.from(' ')]), signature, pem)).toBe(false);
      const other = (type === 'rsa' ? keys.ecdsa : keys.rsa).publicKey.export({ type: 'spki', format: 'pem' }).toString();
      expect(verifyAuthSignature(body, signature, other)).toBe(false);
      expect(verifyAuthSignature(body, '', pem)).toBe(false);
    });
  }

  it('refuses a key that is not PEM', () => {
    expect(() => verifyAuthSignature(Buffer.from('x'), 'AAAA', 'not a key')).toThrow(ValidationError);
  });

  it('normalises PEM whitespace', () => {
    const pem = keys.rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(canonicalPublicKey(pem.replace(/\n/g, '\r\n'))).toBe(canonicalPublicKey(pem));
  });
});

describe('parseAuthRequest', () => {
  it('reads identity, key and tenant token', () => {
    const body = Buffer.from(JSON.stringify({ id_data: '{"mac":"aa","sn":"1"}', pubkey: 'PEM', tenant_token: 't' }));
    expect(parseAuthRequest(body)).toEqual({ identity: { mac: 'aa', sn: '1' }, idData: '{"mac":"aa","sn":"1"}', pubkey: 'PEM', tenantToken: 't' });
  });
  it.each([
    ['not JSON', 'x', /not JSON/],
    ['no id_data', JSON.stringify({ pubkey: 'p' }), /id_data must be/],
    ['id_data not JSON', JSON.stringify({ id_data: '{', pubkey: 'p' }), /id_data is not a JSON object/],
    ['empty identity', JSON.stringify({ id_data: '{}', pubkey: 'p' }), /non-empty/],
    ['no pubkey', JSON.stringify({ id_data: '{"a":1}' }), /pubkey must be/],
    ['U+0000 in the identity, which PostgreSQL cannot store', JSON.stringify({ id_data: '{"mac":"a\\u0000"}', pubkey: 'p' }), /id_data\.mac must not contain a NUL/],
    ['U+0000 in the body', JSON.stringify({ id_data: '{"a":1}', pubkey: 'p\u0000' }), /body\.pubkey must not contain a NUL/],
    ['an identity nested too deep', JSON.stringify({ id_data: `{"a":${'['.repeat(100)}${']'.repeat(100)}}`, pubkey: 'p' }), /nests deeper/],
  ])('refuses %s', (_l, body, message) => {
    expect(() => parseAuthRequest(Buffer.from(body))).toThrow(message);
  });
});

describe('deviceIdFor', () => {
  it('is stable whatever the key order, and uses a valid device_id attribute', () => {
    expect(deviceIdFor({ a: '1', b: '2' })).toBe(deviceIdFor({ b: '2', a: '1' }));
    expect(deviceIdFor({ a: '1' })).toMatch(/^mender-[0-9a-f]{16}$/);
    expect(deviceIdFor({ a: '1' })).not.toBe(deviceIdFor({ a: '2' }));
    expect(deviceIdFor({ device_id: 'pos-17', mac: 'x' })).toBe('pos-17');
    expect(deviceIdFor({ device_id: '../bad' })).toMatch(/^mender-/);
  });
});

describe('JWT', () => {
  const claims = { sub: 'dev-1', iat: 1000, exp: 2000, iss: 'update-orchestrator', 'mender.device': true as const, 'orchestrator.auth_set': 's1' };
  it('round-trips and expires', () => {
    const token = signJwt(claims, 'secret');
    expect(verifyJwt(token, 'secret', 1_500_000)).toEqual(claims);
    expect(() => verifyJwt(token, 'secret', 2_000_000)).toThrow(/expired/);
  });
  it('refuses another secret, a changed payload and garbage', () => {
    const token = signJwt(claims, 'secret');
    expect(() => verifyJwt(token, 'other', 1_500_000)).toThrow(AuthError);
    const [h, , s] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'dev-2' })).toString('base64url')}.${s}`;
    expect(() => verifyJwt(forged, 'secret', 1_500_000)).toThrow(/does not verify/);
    expect(() => verifyJwt('abc', 'secret', 0)).toThrow(/not a JWT/);
  });
});
