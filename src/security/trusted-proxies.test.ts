// Attack: evade the failure limits with a fresh X-Forwarded-For on every guess, or lock a valid
// client out by failing in its name. X-Forwarded-For is believed only from the peers named in
// ORCHESTRATOR_TRUSTED_PROXIES (none by default), on every route and on the WebSocket upgrade.
// The clients here are real connections from distinct loopback source addresses (127.0.0.x).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, fetch } from 'undici';
import WebSocket from 'ws';
import { loadConfig } from '../config.js';
import { appDatabases, startTestApp, type TestApp } from '../testing/app.js';
import { runCli } from '../testing/cli.js';

const LIMIT = 3;
const agents: Agent[] = [];

/** A client whose connections come from `source`. */
function client(t: TestApp, source: string) {
  const dispatcher = new Agent({ localAddress: source });
  agents.push(dispatcher);
  return async (path: string, token: string, forwardedFor?: string) => {
    const response = await fetch(t.url + path, { dispatcher, headers: { authorization: `Bearer ${token}`, ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) } });
    await response.arrayBuffer();
    return response.status;
  };
}

/** The status of a WebSocket upgrade from `source` (101 when it opened). */
function upgrade(t: TestApp, source: string, token: string, forwardedFor?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${t.url.replace(/^http/, 'ws')}/ws`, { localAddress: source, headers: { authorization: `Bearer ${token}`, ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) } });
    socket.once('open', () => {
      socket.close();
      resolve(101);
    });
    socket.once('unexpected-response', (_request, response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    socket.once('error', (error) => reject(error));
  });
}

const tries = async (n: number, call: (i: number) => Promise<number>) => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await call(i));
  return out;
};

afterAll(async () => {
  await Promise.all(agents.map((a) => a.close()));
});

for (const { db, skip } of await appDatabases()) {
  describe.skipIf(skip !== null)(`no trusted proxies: X-Forwarded-For is ignored (${db})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ db, config: { authRateLimitPerMinute: LIMIT } });
    });
    afterAll(() => t?.close());

    it('a new X-Forwarded-For on every guess does not evade the limit', async () => {
      const attacker = client(t, '127.0.0.2');
      expect(await tries(5, (i) => attacker('/api/v1/devices', `uo_op_guess${i}`, `10.9.${i}.${i}`))).toEqual([401, 401, 401, 429, 429]);
    });

    it('failing in a victim\'s name does not lock the victim out', async () => {
      const attacker = client(t, '127.0.0.3');
      const victim = client(t, '127.0.0.4');
      expect(await tries(4, (i) => attacker('/api/v1/devices', `uo_op_guess${i}`, '127.0.0.4'))).toEqual([401, 401, 401, 429]);
      expect(await victim('/api/v1/devices', t.tokens.viewer)).toBe(200);
    });

    it('the WebSocket upgrade ignores it too', async () => {
      expect(await tries(4, (i) => upgrade(t, '127.0.0.5', `guess-${i}`, `10.8.${i}.1`))).toEqual([401, 401, 401, 429]);
      expect(await upgrade(t, '127.0.0.6', t.tokens.viewer, '127.0.0.5')).toBe(101);
    });
  });

  describe.skipIf(skip !== null)(`a trusted proxy names the client (${db})`, () => {
    let t: TestApp;
    const PROXY = '127.0.0.9';
    beforeAll(async () => {
      t = await startTestApp({ db, config: { authRateLimitPerMinute: LIMIT, trustedProxies: [`${PROXY}/32`] } });
    });
    afterAll(() => t?.close());

    it('limits each client behind the proxy on its own', async () => {
      const proxy = client(t, PROXY);
      expect(await tries(4, (i) => proxy('/api/v1/devices', `uo_op_guess${i}`, '198.51.100.7'))).toEqual([401, 401, 401, 429]);
      expect(await proxy('/api/v1/devices', t.tokens.viewer, '198.51.100.8')).toBe(200);
      // A client cannot prepend a spoofed hop: the proxy's own entry (the last) is the client.
      expect(await proxy('/api/v1/devices', t.tokens.viewer, '198.51.100.8, 198.51.100.7')).toBe(429);
    });

    it('believes no other peer', async () => {
      const direct = client(t, '127.0.0.10');
      expect(await tries(4, (i) => direct('/api/v1/devices', `uo_op_guess${i}`, '198.51.100.20'))).toEqual([401, 401, 401, 429]);
      expect(await client(t, PROXY)('/api/v1/devices', t.tokens.viewer, '198.51.100.20')).toBe(200);
    });

    it('names the client on the WebSocket upgrade the same way', async () => {
      expect(await tries(4, (i) => upgrade(t, PROXY, `guess-${i}`, '198.51.100.30'))).toEqual([401, 401, 401, 429]);
      expect(await upgrade(t, PROXY, t.tokens.viewer, '198.51.100.31')).toBe(101);
    });
  });
}

describe('ORCHESTRATOR_TRUSTED_PROXIES is checked at start', () => {
  it('refuses an entry that is not an address or CIDR, naming the setting', async () => {
    expect(() => loadConfig({}, { ORCHESTRATOR_TRUSTED_PROXIES: '10.0.0.0/8, proxy.internal' })).toThrow(/ORCHESTRATOR_TRUSTED_PROXIES: 'proxy.internal' is not an IP address or CIDR/);
    const started = await runCli(['serve', '--port', '0', '--data', '/nonexistent/never-created'], { ORCHESTRATOR_TRUSTED_PROXIES: '10.0.0.0/99' });
    expect(started.code).not.toBe(0);
    expect(started.stderr).toMatch(/ORCHESTRATOR_TRUSTED_PROXIES: '10.0.0.0\/99' has a prefix length outside 0-32/);
  });
});
