// Operator-token revocation from the attacker's side: a stolen operator or admin token that was
// already used (so the server has it in its auth cache) is refused on the very next request after
// DELETE /api/v1/tokens/:id, over REST and WebSocket; only an admin may revoke. SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../testing/app.js';
import { postgresUnavailable } from '../testing/postgres.js';
import { hashToken } from '../store/index.js';
import { connectWs } from '../testing/ws-client.js';

for (const db of ['sqlite', 'postgres'] as const) {
  describe(`operator token revocation (${db})`, () => {
    let t: TestApp;
    let skip: string | null = null;
    beforeAll(async () => {
      skip = db === 'postgres' ? await postgresUnavailable() : null;
      if (!skip) t = await startTestApp({ db });
    });
    afterAll(async () => t?.close());

    const create = async (role: 'admin' | 'operator' | 'viewer', name: string) => {
      const answer = await t.request('POST', '/api/v1/tokens', { body: { role, name } });
      expect(answer.status).toBe(201);
      return answer.json() as { token: string; id: string };
    };

    it('refuses a revoked operator token at once, though its last request was answered from the cache', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const stolen = await create('operator', 'laptop');
      // Used twice: the second answer comes from the auth cache (10 s TTL) without a store lookup.
      for (let i = 0; i < 2; i++) expect((await t.request('GET', '/api/v1/whoami', { token: stolen.token })).json()).toEqual({ role: 'operator', name: 'laptop' });
      expect((await t.request('POST', '/api/v1/devices', { token: stolen.token, body: { id: 'before-revoke' } })).status).toBe(201);

      expect((await t.request('DELETE', `/api/v1/tokens/${stolen.id}`)).status).toBe(204);

      const after = await t.request('GET', '/api/v1/whoami', { token: stolen.token });
      expect(after.status).toBe(401);
      expect((after.json() as { error: { code: string } }).error.code).toBe('unauthorized');
      expect((await t.request('POST', '/api/v1/devices', { token: stolen.token, body: { id: 'after-revoke' } })).status).toBe(401);
      expect((await t.request('GET', '/api/v1/devices/after-revoke')).status).toBe(404);
      await expect(connectWs(t.url, { token: stolen.token })).rejects.toThrow(/401/);

      const listed = ((await t.request('GET', '/api/v1/tokens')).json() as { items: { id: string; revokedAt: string | null }[] }).items.find((x) => x.id === stolen.id);
      expect(listed?.revokedAt).toEqual(expect.any(String));
      const [event] = await t.app.store.events.list({ type: ['token.revoked'], limit: 10 });
      expect(event).toMatchObject({ type: 'token.revoked', data: { id: stolen.id } });
      // Revoking it again finds no live token.
      expect((await t.request('DELETE', `/api/v1/tokens/${stolen.id}`)).status).toBe(404);
    });

    it('ends a revoked admin token too: it can no longer create or revoke tokens', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const admin = await create('admin', 'second-admin');
      const victim = await create('viewer', 'victim');
      expect((await t.request('GET', '/api/v1/tokens', { token: admin.token })).status).toBe(200);
      expect((await t.request('DELETE', `/api/v1/tokens/${admin.id}`)).status).toBe(204);
      expect((await t.request('POST', '/api/v1/tokens', { token: admin.token, body: { role: 'admin' } })).status).toBe(401);
      expect((await t.request('DELETE', `/api/v1/tokens/${victim.id}`, { token: admin.token })).status).toBe(401);
      expect((await t.request('GET', '/api/v1/whoami', { token: victim.token })).status).toBe(200);
    });

    it('shows token events on the live feed without the secret; only admins create or revoke, and a refused attempt writes no event', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const watcher = await connectWs(t.url, { token: t.tokens.viewer });
      watcher.send({ type: 'subscribe', types: ['token.*'] });
      await watcher.waitFor((m) => m.type === 'subscribed');
      const before = await t.app.store.events.lastId();
      for (const token of [t.tokens.operator, t.tokens.viewer]) {
        expect((await t.request('POST', '/api/v1/tokens', { token, body: { role: 'admin', name: 'escalate' } })).status).toBe(403);
      }
      expect((await t.request('POST', '/api/v1/tokens', { token: null, body: { role: 'admin' } })).status).toBe(401);
      // Authentication comes before validation: a bad body from a viewer is 403, not 400.
      expect((await t.request('POST', '/api/v1/tokens', { token: t.tokens.viewer, body: { role: 'root' } })).status).toBe(403);
      expect((await t.request('DELETE', '/api/v1/tokens/no-such-token')).status).toBe(404);
      expect(await t.app.store.events.list({ type: ['token.created', 'token.revoked'], afterId: before, limit: 10 })).toEqual([]);

      const created = await create('operator', 'fed');
      const batch = await watcher.waitFor((m) => m.type === 'events' && (m.events as { type: string; data: { id?: string } }[]).some((e) => e.type === 'token.created' && e.data.id === created.id), 'token.created');
      const text = JSON.stringify(batch);
      expect(text).not.toContain(created.token);
      expect(text).not.toContain(hashToken(created.token));
      expect((await t.request('DELETE', `/api/v1/tokens/${created.id}`)).status).toBe(204);
      await watcher.waitFor((m) => m.type === 'events' && (m.events as { type: string; data: { id?: string } }[]).some((e) => e.type === 'token.revoked' && e.data.id === created.id), 'token.revoked');
      expect(watcher.messages.filter((m) => m.type === 'events').flatMap((m) => (m.events as { data: { name?: string } }[]).map((e) => e.data.name))).not.toContain('escalate');
      await watcher.close();
    });

    it('lets only an admin revoke: operators and viewers get 403, no token 401, and the token stays valid', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const target = await create('viewer', 'kept');
      for (const token of [t.tokens.operator, t.tokens.viewer]) expect((await t.request('DELETE', `/api/v1/tokens/${target.id}`, { token })).status).toBe(403);
      expect((await t.request('DELETE', `/api/v1/tokens/${target.id}`, { token: null })).status).toBe(401);
      expect((await t.request('GET', '/api/v1/whoami', { token: target.token })).status).toBe(200);
    });
  });
}
