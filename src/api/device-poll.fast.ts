// The device poll's fast path: GET /api/v1/device/:id/state by the device's own token with an
// If-None-Match of its cached target answers 304 here, with the checks and headers of the route in
// device-api.routes.ts (token from the authenticator's cache, device scope, the failed-auth
// limiter's block of the client's address, presence, the poll counter) and nothing the unchanged answer does not need: no routing,
// hooks, reply object, promise or log line. Anything else falls through to that route.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../core/index.js';
import type { PresenceService, TargetCache } from '../pull/index.js';
import { parseBearer, type Authenticator } from './auth.js';
import { clientAddress, type TrustProxy } from './client-address.js';
import { etagMatches } from '../http/index.js';
import { plainGet, type FastRoute } from './fast-routes.js';
import { authFamilyOf, type AuthFailureLimiter } from './rate-limits.js';

export const POLL_ROUTE = '/api/v1/device/:id/state';
const PREFIX = '/api/v1/device/';
const SUFFIX = '/state';
/** The route's schema bound on the id (and the device id rule's). */
const MAX_ID = 128;

export interface DevicePollFastDeps {
  auth: Pick<Authenticator, 'cached'>;
  targets: Pick<TargetCache, 'etagOf'>;
  presence: Pick<PresenceService, 'seenNow'>;
  /** The framework's failed-authentication limiter: a blocked address is the framework's to answer (429). */
  limiter: Pick<AuthFailureLimiter, 'blocked'> | null;
  trust: TrustProxy;
  requestId: (req: IncomingMessage) => string;
  /** Counts a poll answered 304 (the framework path counts its own answers). */
  notModified: () => void;
  clock: Clock;
}

export function devicePollFastRoute(deps: DevicePollFastDeps): FastRoute {
  const { limiter } = deps;
  const family = authFamilyOf(POLL_ROUTE);
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (!plainGet(req, PREFIX)) return false;
    const url = req.url!;
    const ifNoneMatch = req.headers['if-none-match'];
    if (ifNoneMatch === undefined || url.length > PREFIX.length + MAX_ID + SUFFIX.length || !url.endsWith(SUFFIX)) return false;
    const token = parseBearer(req.headers.authorization);
    if (token === null) return false;
    const now = deps.clock.now();
    // A known-bad or unknown token, an operator: the route answers (and counts) it.
    const principal = deps.auth.cached(token, now);
    if (!principal || principal.kind !== 'device') return false;
    // The path must name exactly this device (its id has no '/' or '%', so no escape or extra
    // segment can match); another device's id goes to the route, which answers 403.
    const id = principal.deviceId;
    if (url.length !== PREFIX.length + id.length + SUFFIX.length || !url.startsWith(id, PREFIX.length)) return false;
    if (limiter && limiter.blocked(family, clientAddress(req, deps.trust)) !== null) return false;
    const etag = deps.targets.etagOf(id);
    if (etag === undefined || !etagMatches(ifNoneMatch, etag)) return false;
    deps.presence.seenNow(id);
    deps.notModified();
    res.writeHead(304, ['etag', etag, 'cache-control', 'no-cache', 'x-request-id', requestIdOf(req, deps.requestId)]);
    res.end();
    return true;
  };
}

/** The id the framework would give: the client's X-Request-Id, else a new one. */
export function requestIdOf(req: IncomingMessage, next: (req: IncomingMessage) => string): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && given !== '' ? given : next(req);
}
