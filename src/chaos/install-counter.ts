// The device side of a chaos or several-servers run: one HTTP server on loopback that answers the
// push protocol for many devices (address `${url}/d/<id>`), hashes every body, counts installs per
// device and notices when one device receives two deliveries at the same time.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the devices saw; read it after the run. */
export interface InstallCounter {
  url: string;
  addressOf(deviceId: string): string;
  /** Complete, hash-verified first installs per device (the "exactly once" count). */
  readonly installs: Map<string, number>;
  /** Every delivery attempt per device, including cut ones and repeats answered 208. */
  readonly attempts: Map<string, number>;
  /** Devices that had two deliveries in flight at once (must stay empty). */
  readonly overlaps: string[];
  /** Bodies whose hash did not match X-Artifact-Sha256. */
  readonly corrupt: string[];
  /** Resolves once `n` distinct devices have installed. */
  untilInstalled(n: number): Promise<void>;
  close(): Promise<void>;
}

export interface InstallCounterOptions {
  /** Milliseconds each delivery is held before the answer, so overlaps have a window to show. */
  holdMs?: number;
}

export async function startInstallCounter(options: InstallCounterOptions = {}): Promise<InstallCounter> {
  const installs = new Map<string, number>();
  const attempts = new Map<string, number>();
  const installed = new Map<string, string>();
  /** Deliveries per device being received now, with when each started. */
  const inFlight = new Map<string, Set<number>>();
  const overlaps: string[] = [];
  const corrupt: string[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];

  const settle = () => {
    for (const w of [...waiters]) {
      if (installs.size >= w.n) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };

  const server = http.createServer((req, res) => {
    const match = /^\/d\/([^/?]+)$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !match) {
      res.writeHead(404).end();
      return;
    }
    const deviceId = decodeURIComponent(match[1]!);
    const sha = String(req.headers['x-artifact-sha256'] ?? '');
    if (req.headers['x-device-id'] !== deviceId || !/^[0-9a-f]{64}$/.test(sha)) {
      res.writeHead(400).end('X-Device-Id must name the device of the URL and X-Artifact-Sha256 must be a sha256');
      return;
    }
    attempts.set(deviceId, (attempts.get(deviceId) ?? 0) + 1);
    const started = performance.now();
    const current = inFlight.get(deviceId) ?? new Set<number>();
    inFlight.set(deviceId, current);
    current.add(started);
    if (current.size > 1) {
      // A sender that gave up on its request (a reset connection it retries) may have its close
      // handled just after this arrival: judge a moment later, when both are still open or not.
      setTimeout(() => {
        if (current.has(started) && current.size > 1) overlaps.push(deviceId);
      }, 5);
    }
    const hash = createHash('sha256');
    let done = false;
    const finish = () => {
      if (!done) current.delete(started);
      done = true;
    };
    req.on('data', (chunk: Buffer) => hash.update(chunk));
    req.on('error', finish);
    req.on('close', () => {
      if (!req.complete) finish();
    });
    req.on('end', () => {
      const answer = () => {
        finish();
        if (res.destroyed) return;
        const digest = hash.digest('hex');
        if (digest !== sha) {
          corrupt.push(deviceId);
          res.writeHead(422).end('sha256 mismatch');
          return;
        }
        if (installed.get(deviceId) === sha) {
          res.writeHead(208).end('already installed');
          return;
        }
        installed.set(deviceId, sha);
        installs.set(deviceId, (installs.get(deviceId) ?? 0) + 1);
        res.writeHead(200).end('installed');
        settle();
      };
      if (options.holdMs) setTimeout(answer, options.holdMs);
      else answer();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    addressOf: (id) => `${url}/d/${encodeURIComponent(id)}`,
    installs,
    attempts,
    overlaps,
    corrupt,
    untilInstalled: (n) =>
      new Promise<void>((resolve) => {
        waiters.push({ n, resolve });
        settle();
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
