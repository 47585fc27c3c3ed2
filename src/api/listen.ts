// Binding the HTTP server. An explicit host (--host, ORCHESTRATOR_HOST) is bound as given; without
// one the server listens on loopback only: 127.0.0.1, and ::1 on a second listener sharing the
// same handlers when the machine has IPv6 loopback (Fastify's own "localhost" binding follows
// /etc/hosts, which often lists 127.0.0.1 alone).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import type { FastifyInstance } from 'fastify';

/** What the server listens on. */
export interface Binding {
  /** URLs to reach it, the first for links and the banner ("http://127.0.0.1:8080"). */
  urls: string[];
  /** True when only loopback addresses are bound. */
  loopbackOnly: boolean;
  /** Problems that did not stop the start (::1 could not be bound). */
  notes: string[];
  /** Closes the extra listeners (the Fastify server closes by itself). */
  close(): Promise<void>;
}

/** True when a loopback interface carries ::1. */
export function hasIpv6Loopback(): boolean {
  return Object.values(os.networkInterfaces()).some((addresses) => addresses?.some((a) => a.internal && a.family === 'IPv6' && a.address === '::1'));
}

/** True for a host name or address that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^::ffff:127\./.test(h);
}

const urlFor = (address: string, port: number) => `http://${address.includes(':') ? `[${address}]` : address}:${port}`;

/** Listens on `host`, or on loopback when it is undefined. */
export async function bindServer(server: FastifyInstance, host: string | undefined, port: number): Promise<Binding> {
  if (host !== undefined) {
    await server.listen({ host, port });
    const actual = (server.server.address() as AddressInfo).port;
    // A wildcard address is reached locally through loopback.
    const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
    return { urls: [urlFor(shown, actual)], loopbackOnly: isLoopbackHost(host), notes: [], close: async () => undefined };
  }
  await server.listen({ host: '127.0.0.1', port });
  const actual = (server.server.address() as AddressInfo).port;
  const urls = [urlFor('127.0.0.1', actual)];
  const notes: string[] = [];
  let extra: http.Server | null = null;
  if (hasIpv6Loopback()) {
    const main = server.server;
    const second = http.createServer();
    // The same limits as the main listener, and every request and upgrade handed to it.
    second.keepAliveTimeout = main.keepAliveTimeout;
    second.headersTimeout = main.headersTimeout;
    second.requestTimeout = main.requestTimeout;
    second.maxRequestsPerSocket = main.maxRequestsPerSocket;
    second.on('request', (request, response) => main.emit('request', request, response));
    second.on('upgrade', (request, socket, head) => main.emit('upgrade', request, socket, head));
    second.on('clientError', (error, socket) => main.emit('clientError', error, socket));
    try {
      await new Promise<void>((resolve, reject) => {
        second.once('error', reject);
        second.listen({ host: '::1', port: actual, ipv6Only: true }, () => resolve());
      });
      extra = second;
      urls.push(urlFor('::1', actual));
    } catch (error) {
      notes.push(`could not listen on [::1]:${actual} too (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); IPv4 loopback only`);
    }
  }
  return {
    urls,
    loopbackOnly: true,
    notes,
    close: () =>
      new Promise<void>((resolve) => {
        if (!extra) return resolve();
        extra.close(() => resolve());
        extra.closeAllConnections();
      }),
  };
}
