// Attack: reach a freshly started server from another machine. `orchestrator serve` without
// --host / ORCHESTRATOR_HOST listens on loopback only (127.0.0.1, and ::1 where the machine has
// IPv6 loopback): a connection to any other address of this machine is refused, while 127.0.0.1
// answers. The real command runs (dist/cli/main.js).
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasIpv6Loopback } from '../api/listen.js';
import { startServe, type ServeProcess } from '../testing/serve-process.js';

/** Connects and closes: 'open' when something accepted, else the error code (ECONNREFUSED). */
function probe(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 5000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve('open');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** This machine's addresses that other machines could use: every non-internal interface address. */
const external = Object.values(os.networkInterfaces())
  .flat()
  .filter((a): a is os.NetworkInterfaceInfo => !!a && !a.internal && !(a.family === 'IPv6' && a.address.startsWith('fe80:')))
  .map((a) => a.address);
// Without one there is nothing to be reached from outside; that is not a failure, even in CI (a
// container may have loopback only). 127.0.0.2 (also loopback, never bound) still shows the server
// did not bind a wildcard address.
const noExternal = external.length === 0 ? 'this machine has no non-loopback address to connect to (os.networkInterfaces())' : null;
if (noExternal) console.log(`loopback-bind: skipping the non-loopback probe: ${noExternal}`);

describe('serve listens on loopback by default', () => {
  let server: ServeProcess;
  let port: number;
  beforeAll(async () => {
    server = await startServe();
    port = Number(new URL(server.urls[0]!).port);
  });
  afterAll(() => server?.stop());

  it('answers on 127.0.0.1 (and [::1] when the machine has it), and the banner says how to expose it', async () => {
    expect(server.urls[0]).toBe(`http://127.0.0.1:${port}`);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    if (hasIpv6Loopback()) {
      expect(server.urls).toContain(`http://[::1]:${port}`);
      expect((await fetch(`http://[::1]:${port}/healthz`)).status).toBe(200);
    }
    expect(server.stdout()).toMatch(/loopback only: other machines cannot connect\. To expose it: --host 0\.0\.0\.0/);
  });

  it('refuses connections to 127.0.0.2: no wildcard address is bound', async () => {
    expect(await probe('127.0.0.2', port)).toBe('ECONNREFUSED');
  });

  it.skipIf(noExternal !== null).each(external)('refuses a connection to this machine\'s address %s', async (address) => {
    // The control: the address accepts connections when something listens on it.
    const control = http.createServer((_request, response) => response.end('ok'));
    await new Promise<void>((resolve) => control.listen(0, address, resolve));
    const controlPort = (control.address() as net.AddressInfo).port;
    try {
      expect(await probe(address, controlPort)).toBe('open');
    } finally {
      await new Promise<void>((resolve) => control.close(() => resolve()));
    }
    expect(await probe(address, port)).toBe('ECONNREFUSED');
  });
});

describe('serve --host binds what it is told', () => {
  it('--host 127.0.0.2 answers there and not on 127.0.0.1, and says nothing of loopback-only exposure', async () => {
    const server = await startServe(['--host', '127.0.0.2']);
    try {
      const port = Number(new URL(server.urls[0]!).port);
      expect(server.urls).toEqual([`http://127.0.0.2:${port}`]);
      expect((await fetch(`http://127.0.0.2:${port}/healthz`)).status).toBe(200);
      expect(await probe('127.0.0.1', port)).toBe('ECONNREFUSED');
      expect(server.stdout()).not.toMatch(/To expose it/);
    } finally {
      await server.stop();
    }
  });

  it('ORCHESTRATOR_HOST does the same as --host', async () => {
    const server = await startServe([], { ORCHESTRATOR_HOST: '127.0.0.3' });
    try {
      const port = Number(new URL(server.urls[0]!).port);
      expect((await fetch(`http://127.0.0.3:${port}/healthz`)).status).toBe(200);
      expect(await probe('127.0.0.1', port)).toBe('ECONNREFUSED');
    } finally {
      await server.stop();
    }
  });
});
