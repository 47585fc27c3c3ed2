// A round-robin HTTP load balancer on loopback in front of several servers, as an operator would
// put nginx or HAProxy in front of them: a request goes to the next live backend, and a backend
// that refuses the connection is skipped (the request is retried on the next one when it has not
// been sent yet). Backends come and go as the chaos suite kills and restarts servers.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** The balancer: its URL and the backends it currently sends to. */
export interface LoadBalancer {
  url: string;
  setBackends(urls: string[]): void;
  close(): Promise<void>;
}

export async function startLoadBalancer(initial: string[] = []): Promise<LoadBalancer> {
  let backends = initial.map((u) => new URL(u));
  let next = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, tries: number) => {
    if (backends.length === 0 || tries > backends.length) {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' }).end('{"error":{"code":"unavailable","message":"no server is up"}}');
      return;
    }
    const target = backends[next++ % backends.length]!;
    const up = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host }, agent }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
      upRes.on('error', () => res.destroy());
    });
    up.on('error', () => {
      // No answer yet (refused, or the server died with the request): try the next server. Device
      // requests are idempotent (polls, downloads, forward-only reports), so a resend is harmless.
      if (!res.headersSent) forward(req, res, body, tries + 1);
      else res.destroy();
    });
    up.end(body);
  };

  const server = http.createServer((req, res) => {
    // Bodies here are small (reports, JSON); buffering them lets a refused request go elsewhere.
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => forward(req, res, Buffer.concat(chunks), 1));
    req.on('error', () => res.destroy());
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    setBackends(urls) {
      backends = urls.map((u) => new URL(u));
    },
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
