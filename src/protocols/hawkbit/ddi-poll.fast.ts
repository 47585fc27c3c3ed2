// The hawkBit DDI base poll's fast path: GET /{tenant}/controller/v1/{controllerId} by the
// controller's own TargetToken with the If-None-Match of its cached base poll answers 304 here,
// with the route's checks (HawkbitService.cachedPoll: token from the authenticator's cache, this
// controller only, at the tenant the full path checked it belongs to, the base URL it cached), the failed-auth
// limiter's block of the client's address, the heartbeat and the poll counter. Anything else falls through to hawkbit.routes.ts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TrustProxy } from '../../api/client-address.js';
import { clientAddress } from '../../api/client-address.js';
import { requestIdOf } from '../../api/device-poll.fast.js';
import { plainGet, type FastRoute } from '../../api/fast-routes.js';
import { authFamilyOf, type AuthFailureLimiter } from '../../api/rate-limits.js';
import type { Clock } from '../../core/index.js';
import { etagMatches } from '../../http/index.js';
import { CONTROLLER_ID, controllerBase, DDI_POLL_ROUTE, linkOrigin, publicOrigin, TENANT } from './hawkbit.routes.js';
import type { HawkbitService } from './hawkbit.service.js';

const MIDDLE = '/controller/v1/';
const TENANT_RULE = new RegExp(TENANT.pattern);
const CONTROLLER_RULE = new RegExp(CONTROLLER_ID.pattern);

export interface DdiPollFastDeps {
  hawkbit: Pick<HawkbitService, 'cachedPoll'>;
  publicUrl: string | undefined;
  trust: TrustProxy;
  /** The framework's failed-authentication limiter: a blocked address is the framework's to answer (429). */
  limiter: Pick<AuthFailureLimiter, 'blocked'> | null;
  requestId: (req: IncomingMessage) => string;
  seen: (deviceId: string) => void;
  /** Counts a poll answered 304. */
  notModified: () => void;
  clock: Clock;
}

export function ddiPollFastRoute(deps: DdiPollFastDeps): FastRoute {
  const { limiter } = deps;
  const family = authFamilyOf(DDI_POLL_ROUTE);
  const fixedOrigin = publicOrigin(deps.publicUrl);
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (!plainGet(req, '/')) return false;
    const ifNoneMatch = req.headers['if-none-match'];
    if (ifNoneMatch === undefined) return false;
    const url = req.url!;
    const middle = url.indexOf(MIDDLE, 1);
    if (middle < 0) return false;
    const tenant = url.slice(1, middle);
    const controllerId = url.slice(middle + MIDDLE.length);
    if (tenant.length > TENANT.maxLength || controllerId.length > CONTROLLER_ID.maxLength || !TENANT_RULE.test(tenant) || !CONTROLLER_RULE.test(controllerId)) return false;
    const now = deps.clock.now();
    // Built as the route builds it: a path the router would read differently cannot equal a cached base.
    const base = controllerBase(fixedOrigin ?? linkOrigin(undefined, req, deps.trust), tenant, controllerId);
    if (!base.endsWith(url)) return false;
    const cached = deps.hawkbit.cachedPoll(tenant, controllerId, req.headers.authorization, base, now);
    if (!cached || !etagMatches(ifNoneMatch, cached.etag)) return false;
    if (limiter && limiter.blocked(family, clientAddress(req, deps.trust)) !== null) return false;
    deps.seen(controllerId);
    deps.notModified();
    res.writeHead(304, ['etag', cached.etag, 'cache-control', 'no-cache', 'x-request-id', requestIdOf(req, deps.requestId)]);
    res.end();
    return true;
  };
}
