// Mender device authentication, pure parts: the auth request body and its X-MEN-Signature
// (RSA PKCS#1 v1.5/SHA-256, ECDSA/SHA-256 with a DER signature, or ed25519 over the raw body,
// as Mender's deviceauth verifies them), device ids from identities, and HS256 JWTs.
import { createHash, createHmac, createPublicKey, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { AuthError, refuseJsonProblem, ValidationError } from '../../core/index.js';

/** The JSON body of POST /api/devices/v1/authentication/auth_requests. */
export interface AuthRequest {
  identity: Record<string, unknown>;
  /** The identity exactly as sent (a JSON string), kept for display. */
  idData: string;
  pubkey: string;
  tenantToken: string;
}

/** Decodes and validates the auth request body (bytes as received: the signature covers them). */
export function parseAuthRequest(body: Buffer): AuthRequest {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ValidationError('the auth request body is not JSON');
  }
  refuseJsonProblem(raw, 'body');
  const obj = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  if (typeof obj.id_data !== 'string') throw new ValidationError('id_data must be a JSON string of the device identity', [{ path: 'id_data', message: 'is required' }]);
  if (typeof obj.pubkey !== 'string') throw new ValidationError('pubkey must be a PEM public key', [{ path: 'pubkey', message: 'is required' }]);
  let identity: unknown;
  try {
    identity = JSON.parse(obj.id_data);
  } catch {
    throw new ValidationError('id_data is not a JSON object', [{ path: 'id_data', message: 'is not JSON' }]);
  }
  refuseJsonProblem(identity, 'id_data');
  if (typeof identity !== 'object' || identity === null || Array.isArray(identity) || Object.keys(identity).length === 0) {
    throw new ValidationError('id_data must be a non-empty JSON object (e.g. {"mac":"..."})', [{ path: 'id_data', message: 'is empty' }]);
  }
  return { identity: identity as Record<string, unknown>, idData: obj.id_data, pubkey: obj.pubkey, tenantToken: typeof obj.tenant_token === 'string' ? obj.tenant_token : '' };
}

export function parsePublicKey(pem: string): KeyObject {
  try {
    const key = createPublicKey({ key: pem, format: 'pem' });
    if (!['rsa', 'ec', 'ed25519'].includes(key.asymmetricKeyType ?? '')) throw new Error('type');
    return key;
  } catch {
    throw new ValidationError('pubkey is not a PEM RSA, ECDSA or ed25519 public key', [{ path: 'pubkey', message: 'cannot be parsed' }]);
  }
}

/** Normalises a PEM key so the same key always compares equal (whitespace, line breaks). */
export function canonicalPublicKey(pem: string): string {
  return parsePublicKey(pem).export({ type: 'spki', format: 'pem' }).toString();
}

/** True when `signature` (base64) signs `body` with `pem`. */
export function verifyAuthSignature(body: Buffer, signature: string, pem: string): boolean {
  const key = parsePublicKey(pem);
  const sig = Buffer.from(signature, 'base64');
  if (sig.length === 0) return false;
  try {
    return key.asymmetricKeyType === 'ed25519' ? verify(null, body, key, sig) : verify('sha256', body, key, sig);
  } catch {
    return false;
  }
}

const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * Our device id for a Mender identity: its `device_id` attribute when it is a valid id (so a
 * registered device can be claimed), else `mender-` and 16 hex digits of the identity's hash.
 */
export function deviceIdFor(identity: Record<string, unknown>): string {
  const claimed = identity.device_id;
  if (typeof claimed === 'string' && DEVICE_ID.test(claimed)) return claimed;
  const canonical = JSON.stringify(Object.fromEntries(Object.entries(identity).sort(([a], [b]) => a.localeCompare(b))));
  return `mender-${createHash('sha256').update(canonical).digest('hex').slice(0, 16)}`;
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** The claims of a device JWT. */
export interface DeviceClaims {
  sub: string;
  iat: number;
  exp: number;
  iss: string;
  'mender.device': true;
  /** The auth set the token was issued for (revoked when it is rejected). */
  'orchestrator.auth_set': string;
}

export function signJwt(claims: DeviceClaims, secret: string): string {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify(claims));
  const mac = createHmac('sha256', secret).update(`${head}.${body}`).digest();
  return `${head}.${body}.${b64url(mac)}`;
}

/** Verifies an HS256 JWT we issued; throws AuthError when it is malformed, forged or expired. */
export function verifyJwt(token: string, secret: string, nowMs: number): DeviceClaims {
  const parts = token.split('.');
  if (parts.length !== 3) throw new AuthError('the device token is not a JWT; authenticate again (auth_requests)');
  const [head, body, mac] = parts as [string, string, string];
  const expected = createHmac('sha256', secret).update(`${head}.${body}`).digest();
  const given = Buffer.from(mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new AuthError('the device token signature does not verify; authenticate again');
  let claims: DeviceClaims;
  try {
    const header = JSON.parse(Buffer.from(head, 'base64url').toString('utf8')) as { alg?: string };
    if (header.alg !== 'HS256') throw new Error('alg');
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as DeviceClaims;
  } catch {
    throw new AuthError('the device token is malformed; authenticate again');
  }
  if (typeof claims.sub !== 'string' || typeof claims.exp !== 'number' || claims['mender.device'] !== true) throw new AuthError('the token is not a device token');
  if (claims.exp * 1000 <= nowMs) throw new AuthError('the device token expired; authenticate again');
  return claims;
}
