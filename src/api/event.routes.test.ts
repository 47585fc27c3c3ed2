// The event log API over real HTTP on both stores: newest-first pages by cursor that neither skip
// nor repeat an event while new ones arrive, filters by type (exact and prefix), rollout and
// device combined, and the oldest-first catch-up with afterId.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewEvent } from '../core/index.js';
import { startTestApp, type TestApp } from '../testing/app.js';

interface Page {
  items: { id: number; type: string; rolloutId: string | null; deviceId: string | null }[];
  nextCursor: string | null;
  nextAfterId: number | null;
}

for (const db of ['sqlite', 'postgres'] as const) {
  describe(`event API on ${db}`, () => {
    let t: TestApp;
    const get = async (query: string) => {
      const answer = await t.request('GET', `/api/v1/events?${query}`, { token: t.tokens.viewer });
      expect(answer.status, answer.text).toBe(200);
      return answer.json() as Page;
    };
    const append = (events: NewEvent[]) => t.app.store.events.append(events, Date.now());

    beforeAll(async () => {
      t = await startTestApp({ db });
      const seeded: NewEvent[] = [];
      for (let i = 0; i < 25; i++) seeded.push({ type: i % 2 ? 'execution.failed' : 'execution.succeeded', rolloutId: i < 20 ? 'r-1' : 'r-2', deviceId: `d-${i % 5}` });
      seeded.push({ type: 'execution_x', rolloutId: 'r-1' }, { type: 'Execution.failed', rolloutId: 'r-1' }, { type: 'rollout.paused', rolloutId: 'r-1', data: { reason: 'phase 1 missed its success threshold' } });
      await append(seeded);
    });
    afterAll(() => t?.close());

    it('pages newest first by cursor without skipping or repeating events that arrive meanwhile', async () => {
      const first = await get('rolloutId=r-1&limit=10');
      expect(first.items).toHaveLength(10);
      expect(first.items[0]!.type).toBe('rollout.paused');
      const ids = first.items.map((e) => e.id);
      expect([...ids].sort((a, b) => b - a)).toEqual(ids);
      expect(first.nextCursor).toEqual(expect.any(String));
      expect(first.nextAfterId).toBeNull();

      await append([{ type: 'execution.succeeded', rolloutId: 'r-1', deviceId: 'late' }]);
      const seen = [...ids];
      let cursor = first.nextCursor;
      while (cursor) {
        const page = await get(`rolloutId=r-1&limit=10&cursor=${cursor}`);
        seen.push(...page.items.map((e) => e.id));
        cursor = page.nextCursor;
      }
      // 20 executions and 3 other events of r-1; the late one is newer than the first page.
      expect(seen).toHaveLength(23);
      expect(new Set(seen).size).toBe(23);
      expect(Math.min(...seen)).toBeGreaterThan(0);

      const exact = await get('rolloutId=r-1&limit=24');
      expect(exact.items).toHaveLength(24);
      expect(exact.nextCursor).toBeNull();
    });

    it('filters by type, prefix, rollout and device together, with % and _ taken literally and case kept', async () => {
      const failedOfDevice = await get('type=execution.failed&deviceId=d-1&limit=100');
      expect(failedOfDevice.items.length).toBeGreaterThan(0);
      expect(failedOfDevice.items.every((e) => e.type === 'execution.failed' && e.deviceId === 'd-1')).toBe(true);

      const prefix = await get('type=execution.*&rolloutId=r-2');
      expect(prefix.items.map((e) => e.rolloutId)).toEqual(Array(5).fill('r-2'));
      expect(new Set(prefix.items.map((e) => e.type))).toEqual(new Set(['execution.succeeded', 'execution.failed']));

      const both = await get('type=rollout.&type=execution_x&rolloutId=r-1');
      expect(both.items.map((e) => e.type).sort()).toEqual(['execution_x', 'rollout.paused']);

      expect((await get('type=execution%25')).items).toEqual([]);
      expect((await get('type=execution_*')).items.map((e) => e.type)).toEqual(['execution_x']);
      expect((await get('type=execution.*&rolloutId=r-1&limit=1000')).items.some((e) => e.type === 'Execution.failed')).toBe(false);
    });

    it('catches up oldest first after an id, paged by nextAfterId', async () => {
      const all = await get('limit=1000');
      const oldest = Math.min(...all.items.map((e) => e.id));
      const page = await get(`afterId=${oldest}&limit=5`);
      expect(page.items.map((e) => e.id)).toEqual(all.items.map((e) => e.id).sort((a, b) => a - b).slice(1, 6));
      expect(page.nextAfterId).toBe(page.items.at(-1)!.id);
      expect(page.nextCursor).toBeNull();
      const rest = await get(`afterId=${page.nextAfterId}&limit=1000`);
      expect(rest.nextAfterId).toBeNull();
      expect(rest.items.length + page.items.length + 1).toBe(all.items.length);
    });

    it('refuses a cursor it did not issue, cursor with afterId and too many types, with a 400 naming the field', async () => {
      for (const [query, path] of [['cursor=not-a-cursor!', 'cursor'], [`cursor=${Buffer.from('abc').toString('base64url')}`, 'cursor'], [`cursor=${Buffer.from('0').toString('base64url')}`, 'cursor'], [`cursor=${Buffer.from('5').toString('base64url')}&afterId=1`, 'cursor'], [`type=${Array.from({ length: 21 }, (_, i) => `t${i}`).join(',')}`, 'type']] as const) {
        const answer = await t.request('GET', `/api/v1/events?${query}`, { token: t.tokens.viewer });
        expect(answer.status, query).toBe(400);
        expect((answer.json() as { error: { details: { path: string }[] } }).error.details[0]!.path).toContain(path);
      }
    });
  });
}
