// Test support: an HTTP proxy on 127.0.0.1 in front of a server that can cut artifact downloads
// after N bytes (a dropped connection), corrupt one byte of one, or slow them down, and records
// the Range of each download.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CutProxy {
  url: string;
  /** Range header of every artifact download (null when absent). */
  ranges: (string | null)[];
  /** Cut the next download after this many body bytes (once). */
  cutNextAfter(bytes: number): void;
  /** Flip one byte, `fromEnd` bytes before the end of the body, of the next download whose Range header `when` accepts (once). */
  corruptNext(when: (range: string | null) => boolean, fromEnd: number): void;
  /** Delay between 16 KiB chunks of downloads, ms (0 = none). */
  throttleMs: number;
  close(): Promise<void>;
}

export async function startCutProxy(upstream: string): Promise<CutProxy> {
  let cutAfter: number | null = null;
  let corrupt: { when: (range: string | null) => boolean; fromEnd: number } | null = null;
  const ranges: (string | null)[] = [];
  const target = new URL(upstream);
  const proxy: CutProxy = {
    url: '',
    ranges,
    throttleMs: 0,
    cutNextAfter(bytes) {
      cutAfter = bytes;
    },
    corruptNext(when, fromEnd) {
      corrupt = { when, fromEnd };
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  const server = http.createServer((req, res) => {
    const isDownload = /^\/api\/v1\/device\/artifacts\/[^/?]+(\?|$)/.test(req.url ?? '');
    if (isDownload) ranges.push((req.headers.range as string | undefined) ?? null);
    const cut = isDownload ? cutAfter : null;
    if (isDownload) cutAfter = null;
    const range = (req.headers.range as string | undefined) ?? null;
    const damage = isDownload && corrupt?.when(range) ? corrupt : null;
    if (damage) corrupt = null;
    const up = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      let sent = 0;
      const flipAt = damage ? Number(upRes.headers['content-length']) - damage.fromEnd : -1;
      upRes.on('data', (chunk: Buffer) => {
        if (flipAt >= sent && flipAt < sent + chunk.length) {
          chunk = Buffer.from(chunk);
          chunk[flipAt - sent] = chunk[flipAt - sent]! ^ 0xff;
        }
        if (cut !== null && sent + chunk.length >= cut) {
          res.write(chunk.subarray(0, cut - sent));
          sent = cut;
          upRes.destroy();
          res.socket?.destroy();
          return;
        }
        sent += chunk.length;
        const more = res.write(chunk);
        if (isDownload && proxy.throttleMs > 0) {
          upRes.pause();
          setTimeout(() => upRes.resume(), proxy.throttleMs);
        } else if (!more) {
          upRes.pause();
          res.once('drain', () => upRes.resume());
        }
      });
      upRes.on('end', () => res.end());
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
