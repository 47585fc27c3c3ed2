// The event log's paging and filters from the attacker's side: the log holds every device's and
// operator's history, so it answers only operator tokens (a device token, even its own device's
// filter, is refused), authentication comes before any check of the query, and forged cursors,
// pattern characters in a type filter and oversized filters are 400s that leak nothing, never 5xx.
// SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../testing/app.js';
import { postgresUnavailable } from '../testing/postgres.js';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

for (const db of ['sqlite', 'postgres'] as const) {
  describe(`event log paging and filters under attack (${db})`, () => {
    let t: TestApp;
    let skip: string | null = null;
    let deviceToken = '';

    beforeAll(async () => {
      skip = db === 'postgres' ? await postgresUnavailable() : null;
      if (skip) return;
      t = await startTestApp({ db });
      expect((await t.request('POST', '/api/v1/devices', { body: { id: 'pos-1', mode: 'pull' } })).status).toBe(201);
      deviceToken = ((await t.request('POST', '/api/v1/devices/pos-1/token')).json() as { token: string }).token;
      await t.app.events.append([
        { type: 'token.created', actor: 'token:root', data: { id: 't-1', role: 'admin', name: 'root' } },
        { type: 'execution.failed', rolloutId: 'r-1', deviceId: 'pos-2', data: { error: 'secret-ish detail of another device' } },
      ]);
    });
    afterAll(async () => t?.close());

    it('asks for a token before it decodes a cursor or a type filter, and refuses device tokens', async (ctx) => {
      if (skip) return ctx.skip(skip);
      // The checks of the route's own code (cursor, cursor with afterId, the type list) run after
      // authentication; an anonymous caller learns nothing about what it would refuse.
      for (const query of ['', '?cursor=%25%25%25', `?cursor=${b64('1')}&afterId=1`, `?type=${Array.from({ length: 21 }, (_, i) => `t${i}`).join(',')}`]) {
        const anonymous = await t.request('GET', `/api/v1/events${query}`, { token: null });
        expect(anonymous.status, query).toBe(401);
        expect(anonymous.text).not.toContain('cursor');
        const device = await t.request('GET', `/api/v1/events${query}`, { token: deviceToken });
        expect(device.status, query).toBe(403);
      }
      // Not even filtered to itself: the log is the operators' audit trail.
      expect((await t.request('GET', '/api/v1/events?deviceId=pos-1', { token: deviceToken })).status).toBe(403);
      expect((await t.request('GET', '/api/v1/events?limit=1', { token: t.tokens.viewer })).status).toBe(200);
    });

    it('refuses forged cursors with a 400 and no database error', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const forged = ['not base64!', b64("1' OR '1'='1"), b64('-5'), b64('0'), b64('99999999999999999999'), b64('1e9'), b64('0x10'), b64(' 7'), 'A'.repeat(65), b64('\u0000')];
      for (const cursor of forged) {
        const answer = await t.request('GET', `/api/v1/events?cursor=${encodeURIComponent(cursor)}`, { token: t.tokens.viewer });
        expect(answer.status, cursor).toBe(400);
        const error = (answer.json() as { error: { code: string; message: string } }).error;
        expect(error.code).toBe('validation_failed');
        expect(error.message).not.toMatch(/sql|syntax|bigint|integer out of range|SQLITE/i);
      }
      // A well-formed cursor past every event is simply an empty page.
      const far = await t.request('GET', `/api/v1/events?cursor=${b64('999999999999999')}`, { token: t.tokens.viewer });
      expect(far.status).toBe(200);
      expect((far.json() as { items: unknown[] }).items.length).toBeGreaterThan(0);
    });

    it('takes % and _ in a type filter as characters, so a pattern matches no other type', async (ctx) => {
      if (skip) return ctx.skip(skip);
      for (const type of ['%', '%*', '_%', '____________*', 'token%', 'execution._ailed']) {
        const answer = await t.request('GET', `/api/v1/events?type=${encodeURIComponent(type)}`, { token: t.tokens.viewer });
        expect(answer.status, type).toBe(200);
        expect((answer.json() as { items: unknown[] }).items, type).toEqual([]);
      }
    });

    it('bounds the filters: too many types, too long a type or id, too large a page', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const tooMany = Array.from({ length: 21 }, (_, i) => `type=t${i}`).join('&');
      for (const query of [tooMany, `type=${Array.from({ length: 21 }, (_, i) => `t${i}`).join(',')}`, `type=${'x'.repeat(129)}`, `deviceId=${'d'.repeat(129)}`, `rolloutId=${'r'.repeat(129)}`, 'limit=1001', 'limit=0', `since=${'9'.repeat(70)}`]) {
        const answer = await t.request('GET', `/api/v1/events?${query}`, { token: t.tokens.viewer });
        expect(answer.status, query.slice(0, 40)).toBe(400);
      }
    });
  });
}
