// An in-test HTTP push receiver that counts installs per device (X-Device-Id): the first complete,
// hash-verified delivery installs (200), repeats answer 208 "already installed" as DESIGN.md says.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CountingReceiver {
  url: string;
  /** Successful installs per device id (1 each when delivery is exactly-once). */
  installs: Map<string, number>;
  /** The sha256 of what each device installed. */
  installed: Map<string, string>;
  /** Devices refused for good (422) until taken out of this set (permanent failures, retries). */
  refused: Set<string>;
  close(): Promise<void>;
}

/** `delayMs` holds each answer back, like a device that takes a moment to install. */
export async function startCountingReceiver(options: { delayMs?: number } = {}): Promise<CountingReceiver> {
  const installs = new Map<string, number>();
  const installed = new Map<string, string>();
  const refused = new Set<string>();
  const server = http.createServer((req, res) => {
    const device = String(req.headers['x-device-id'] ?? '');
    const expected = String(req.headers['x-artifact-sha256'] ?? '');
    const hash = createHash('sha256');
    req.on('data', (chunk: Buffer) => hash.update(chunk));
    req.on('error', () => res.destroy());
    req.on('end', () => setTimeout(answer, options.delayMs ?? 0));
    const answer = () => {
      if (refused.has(device)) {
        res.writeHead(422).end('this device refuses the update');
        return;
      }
      if (!device || (expected && hash.digest('hex') !== expected)) {
        res.writeHead(400).end('bad delivery');
        return;
      }
      if (installs.has(device)) {
        res.writeHead(208).end('already installed');
        return;
      }
      installs.set(device, 1);
      installed.set(device, expected);
      res.writeHead(200).end('installed');
    };
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    installs,
    installed,
    refused,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
