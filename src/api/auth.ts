// Authentication first: each route declares who may call it in its config ({ auth: 'viewer' |
// 'operator' | 'admin' | 'device' | 'public' }), and an onRequest hook enforces it before the body
// is read, so an anonymous caller learns nothing about a route's input. Public routes that check
// credentials of their own (hawkBit and Mender tokens, registry webhook secrets, signed download
// links, enrollment keys) declare them as `credentials`: checked in preParsing (after the
// request-rate limits of onRequest, before the body is read) when they travel in headers or the
// URL, and first thing after parsing (before any validation) when in the body (src/api/server.ts).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuthError, ForbiddenError, roleAllows, type Clock, type Principal, type Role } from '../core/index.js';
import { hashToken, type TokenRepository } from '../store/index.js';
import { sendError } from './errors.js';
import { AuthFailureLimiter } from './rate-limits.js';

export type AuthLevel = Role | 'device' | 'public';

/** A public route's own credential check; it throws (AuthError for a refused credential). */
export interface RouteCredentials {
  /** Where the credential travels: headers and URL (checked before the body is read) or the body. */
  in: 'headers' | 'body';
  check(request: FastifyRequest): Promise<void>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthLevel;
    credentials?: RouteCredentials;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const CACHE_TTL_MS = 10_000;

/**
 * Resolves tokens to principals with a short in-memory cache keyed by the token's hash, so the
 * device poll path costs no database query. Revocation on this server takes effect at once.
 */
export class Authenticator {
  private readonly cache = new Map<string, { principal: Principal | null; until: number }>();
  /**
   * Cache keys of device tokens by device, so one device's entries can be dropped: the one key
   * most devices have, or the list of several (a Set per device cost a million-device fleet
   * about 150 MiB).
   */
  private readonly byDevice = new Map<string, string | string[]>();

  /**
   * `deviceTtlMs` keeps device tokens longer than the poll interval (so polls cost no query);
   * revocations of device tokens then travel to every server through `invalidateDevices`.
   * `maxEntries` bounds the cache (it starts over when full): above the fleet's size, or every
   * poll of a large fleet pays a query now and then (about 250 bytes per cached token).
   */
  constructor(
    private readonly tokens: TokenRepository,
    private readonly clock: Clock,
    private readonly options: { deviceTtlMs?: number; maxEntries?: number } = {},
  ) {}

  /**
   * The cached answer for this token without a query: the principal, null for a token known to be
   * bad, undefined when only `resolve` can tell (not cached, or cached too long ago).
   */
  cached(token: string, now = this.clock.now()): Principal | null | undefined {
    const hit = this.cache.get(hashToken(token));
    return hit && hit.until > now ? hit.principal : undefined;
  }

  async resolve(token: string): Promise<Principal | null> {
    const now = this.clock.now();
    const hit = this.cached(token, now);
    if (hit !== undefined) return hit;
    const key = hashToken(token);
    const record = await this.tokens.findActive(token, now);
    let principal: Principal | null = null;
    if (record?.kind === 'operator' && record.role) principal = { kind: 'operator', tokenId: record.id, role: record.role, name: record.name };
    else if (record?.kind === 'device' && record.deviceId) principal = { kind: 'device', tokenId: record.id, deviceId: record.deviceId };
    if (this.cache.size >= (this.options.maxEntries ?? 200_000)) this.invalidate();
    const ttl = principal?.kind === 'device' ? (this.options.deviceTtlMs ?? CACHE_TTL_MS) : CACHE_TTL_MS;
    this.cache.set(key, { principal, until: now + ttl });
    if (principal?.kind === 'device') {
      const keys = this.byDevice.get(principal.deviceId);
      if (keys === undefined) this.byDevice.set(principal.deviceId, key);
      else if (typeof keys === 'string') {
        if (keys !== key) this.byDevice.set(principal.deviceId, [keys, key]);
      } else if (!keys.includes(key)) keys.push(key);
    }
    return principal;
  }

  /** Forgets cached tokens (after a revocation). */
  invalidate(): void {
    this.cache.clear();
    this.byDevice.clear();
  }

  /** Forgets the cached tokens of these devices (their tokens were revoked or replaced). */
  invalidateDevices(deviceIds: string[]): void {
    for (const id of deviceIds) {
      const keys = this.byDevice.get(id);
      for (const key of typeof keys === 'string' ? [keys] : (keys ?? [])) this.cache.delete(key);
      this.byDevice.delete(id);
    }
  }
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function parseBearer(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match ? match[1]! : null;
}

export function bearerToken(request: FastifyRequest): string | null {
  return parseBearer(request.headers.authorization);
}

/** The onRequest hook: a blocked address gets 429, then the route's credentials are checked. */
export function authHook(auth: Authenticator, limiter: AuthFailureLimiter | null) {
  return async function authenticate(request: FastifyRequest, reply: FastifyReply) {
    const config = request.routeOptions.config;
    const family = config?.authFamily;
    if (limiter && family) {
      const wait = limiter.blocked(family, request.ip);
      if (wait !== null) {
        reply.header('retry-after', String(Math.ceil(wait / 1000)));
        return sendError(reply, 429, 'rate_limited', AuthFailureLimiter.message(request.ip, wait));
      }
    }
    // Routes that declare nothing need admin, except the API documentation's own assets.
    const level: AuthLevel = config?.auth ?? (request.routeOptions.url?.startsWith('/docs') ? 'public' : 'admin');
    request.principal = null;
    if (level === 'public') return;
    const token = bearerToken(request);
    if (!token) throw new AuthError();
    const principal = await auth.resolve(token);
    if (!principal) throw new AuthError('the bearer token is unknown, revoked or expired');
    request.principal = principal;
    if (level === 'device') {
      // Device routes check that the device acts only for itself (requireDevice); operators may read.
      return;
    }
    if (principal.kind !== 'operator') throw new ForbiddenError('a device token cannot call the operator API');
    if (!roleAllows(principal.role, level)) throw new ForbiddenError(`this needs the '${level}' role; your token has '${principal.role}'`);
  };
}

/** The acting principal as an event actor string. */
export function actorOf(request: FastifyRequest): string {
  const p = request.principal;
  if (!p) return 'anonymous';
  return p.kind === 'operator' ? `token:${p.name}` : `device:${p.deviceId}`;
}

/** For device routes: the caller must be that device (or an operator with at least `operatorRole`). */
export function requireDevice(request: FastifyRequest, deviceId: string, operatorRole: Role = 'viewer'): void {
  const p = request.principal;
  if (!p) throw new AuthError();
  if (p.kind === 'device') {
    if (p.deviceId !== deviceId) throw new ForbiddenError(`this token belongs to device '${p.deviceId}', not '${deviceId}'`);
    return;
  }
  if (!roleAllows(p.role, operatorRole)) throw new ForbiddenError(`this needs the '${operatorRole}' role`);
}
