// Who is on the other end of a request: the client's address (what rate limits count by) and the
// protocol it used, from the socket or from the X-Forwarded-* headers of trusted proxies. Fastify's
// request.ip and request.protocol and the fast poll path (fast-routes.ts) all follow these rules.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import proxyAddr from '@fastify/proxy-addr';
import type { CidrList } from '../core/index.js';

/** Whether the proxy at `address`, `hop` hops from us (0: the socket's peer), may be believed. */
export type TrustProxy = (address: string, hop: number) => boolean;

/** Trusts the proxies of ORCHESTRATOR_TRUSTED_PROXIES (an empty list: none, X-Forwarded-* ignored). */
export function trustOf(proxies: CidrList): TrustProxy {
  return proxies.empty ? () => false : (address: string) => proxies.match(address) !== null;
}

/** The client's address: the furthest X-Forwarded-For entry reached through trusted proxies only. */
export function clientAddress(req: IncomingMessage, trust: TrustProxy): string {
  // Without the header proxy-addr answers the socket's peer; skip its parsing on the hot path.
  if (req.headers['x-forwarded-for'] === undefined) return req.socket.remoteAddress ?? '';
  const all = proxyAddr.all(req, trust);
  return all[all.length - 1] ?? '';
}

/** 'https' or 'http': X-Forwarded-Proto (its last entry) when the socket's peer is trusted. */
export function clientProtocol(req: IncomingMessage, trust: TrustProxy): string {
  const forwarded = req.headers['x-forwarded-proto'];
  if (typeof forwarded === 'string' && forwarded !== '' && trust(req.socket.remoteAddress ?? '', 0)) {
    const last = forwarded.lastIndexOf(',');
    return (last < 0 ? forwarded : forwarded.slice(last + 1)).trim();
  }
  return (req.socket as TLSSocket).encrypted ? 'https' : 'http';
}

/** Request ids as Fastify's default makes them (`req-<n in base 36>`), shared with the fast path. */
export function requestIds(): (req: IncomingMessage) => string {
  let next = 0;
  return () => {
    next = (next + 1) & 0x7fffffff;
    return `req-${next.toString(36)}`;
  };
}
