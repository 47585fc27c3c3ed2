// The rollout and event API over real HTTP: validation messages, roles, and an immediate rollout
// pushed with the real HTTP transport to an in-test receiver that verifies each artifact's hash.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextEvent } from '../testing/engine.js';
import { startCountingReceiver, type CountingReceiver } from '../testing/counting-receiver.js';
import { startTestApp, type TestApp } from '../testing/app.js';

interface RolloutJson {
  id: string;
  status: string;
  statusReason: string | null;
  counts: Record<string, number>;
  progress?: { total: number; finished: number; bytes: number; phases: { phase: number; devices: number; counts: Record<string, number> }[] };
}

for (const db of ['sqlite', 'postgres'] as const) {
  describe(`rollout API on ${db}`, () => {
    let t: TestApp;
    let receiver: CountingReceiver;
    let artifactId: string;

    beforeAll(async () => {
      receiver = await startCountingReceiver();
      t = await startTestApp({ db });
      const upload = await t.request('POST', '/api/v1/artifacts?name=fw&version=3.1.0', { headers: { 'content-type': 'application/octet-stream' }, raw: 'firmware bytes 3.1.0' });
      expect(upload.status).toBe(201);
      artifactId = (upload.json() as { id: string }).id;
      for (let i = 0; i < 6; i++) {
        const created = await t.request('POST', '/api/v1/devices', { body: { id: `push-${i}`, mode: 'http', address: `${receiver.url}/update`, status: 'online', tags: { ring: i < 3 ? 'a' : 'b' } } });
        expect(created.status).toBe(201);
      }
    });
    afterAll(async () => {
      await t?.close();
      await receiver?.close();
    });

    it('refuses what cannot work, naming the field', async () => {
      const bad = async (body: Record<string, unknown>) => {
        const answer = await t.request('POST', '/api/v1/rollouts', { body: { artifactId, ...body } });
        expect(answer.status).toBe(400);
        return (answer.json() as { error: { message: string; details: { path: string }[] } }).error;
      };
      expect((await bad({ strategy: 'progressive', phases: [{ percent: 10 }, { percent: 50 }] })).details.map((d) => d.path)).toContain('phases.1');
      expect((await bad({ window: { daily: '02:00-02:00' } })).message).toMatch(/window\.daily .*never opens/);
      expect((await bad({ window: { daily: '02:00-04:00', timezone: 'Mars/Olympus' } })).details.map((d) => d.path)).toContain('window.timezone');
      expect((await bad({ artifactId: 'no-such-artifact' })).details.map((d) => d.path)).toContain('artifactId');
      expect((await bad({ filter: { status: 'sleeping' } })).details.map((d) => d.path)).toContain('filter.status');
      expect((await bad({ strategy: 'scheduled' })).message).toMatch(/startAt/);
      expect((await bad({ strategy: 'teleport' })).message).toMatch(/strategy must be one of immediate, scheduled, progressive, on-connect/);
    });

    it('lets viewers read but not create', async () => {
      const answer = await t.request('POST', '/api/v1/rollouts', { body: { artifactId }, token: t.tokens.viewer });
      expect(answer.status).toBe(403);
      expect((await t.request('GET', '/api/v1/rollouts', { token: t.tokens.viewer })).status).toBe(200);
    });

    it('pushes an immediate rollout over HTTP, with progress, executions and events', async () => {
      const done = nextEvent(t.app.events, (e) => e.type === 'rollout.completed');
      const created = await t.request('POST', '/api/v1/rollouts', { body: { name: 'ring a', artifactId, filter: { tag: 'ring:a' }, maxConcurrency: 2 }, token: t.tokens.operator });
      expect(created.status).toBe(201);
      const rollout = created.json() as RolloutJson;
      expect(rollout).toMatchObject({ status: 'running', counts: { pending: 3 } });
      await done;
      const got = (await t.request('GET', `/api/v1/rollouts/${rollout.id}`, { token: t.tokens.viewer })).json() as RolloutJson;
      expect(got).toMatchObject({ status: 'completed', counts: { succeeded: 3 } });
      expect(got.progress).toMatchObject({ total: 3, finished: 3, bytes: 3 * 'firmware bytes 3.1.0'.length, phases: [{ phase: 1, devices: 3, counts: { succeeded: 3 } }] });
      expect([...receiver.installs.keys()].sort()).toEqual(['push-0', 'push-1', 'push-2']);

      const page = (await t.request('GET', `/api/v1/rollouts/${rollout.id}/devices?limit=2&state=succeeded`)).json() as { items: { deviceId: string; state: string }[]; nextCursor: string | null; total: number };
      expect(page.items.map((e) => e.deviceId)).toEqual(['push-0', 'push-1']);
      expect(page.total).toBe(3);
      const rest = (await t.request('GET', `/api/v1/rollouts/${rollout.id}/devices?limit=2&cursor=${page.nextCursor}`)).json() as { items: { deviceId: string }[]; nextCursor: string | null };
      expect(rest).toMatchObject({ items: [{ deviceId: 'push-2' }], nextCursor: null });

      const events = (await t.request('GET', `/api/v1/events?rolloutId=${rollout.id}&type=execution.*&afterId=0&limit=100`)).json() as { items: { type: string; deviceId: string; data: { from: string; to: string } }[] };
      expect(events.items.map((e) => e.type).sort()).toEqual([...Array(3).fill('execution.delivering'), ...Array(3).fill('execution.succeeded')]);
      const device = (await t.request('GET', '/api/v1/events?deviceId=push-1&type=execution.succeeded')).json() as { items: unknown[] };
      expect(device.items).toHaveLength(1);
      expect((await t.request('GET', '/api/v1/events?since=yesterday')).status).toBe(400);
      // The registry now shows the version the devices run.
      expect(((await t.request('GET', '/api/v1/devices/push-0')).json() as { version: string }).version).toBe('3.1.0');
    });

    it('pauses, resumes and cancels a scheduled rollout; approve needs a phase that asks for it', async () => {
      const startAt = new Date(Date.now() + 3_600_000).toISOString();
      const created = (await t.request('POST', '/api/v1/rollouts', { body: { artifactId, filter: { tag: 'ring:b' }, strategy: 'scheduled', startAt } })).json() as RolloutJson;
      expect(created).toMatchObject({ status: 'scheduled', counts: {} });
      expect((await t.request('POST', `/api/v1/rollouts/${created.id}/pause`)).json()).toMatchObject({ status: 'paused' });
      expect((await t.request('POST', `/api/v1/rollouts/${created.id}/pause`, { token: t.tokens.viewer })).status).toBe(403);
      expect((await t.request('POST', `/api/v1/rollouts/${created.id}/resume`)).json()).toMatchObject({ status: 'scheduled' });
      const approve = await t.request('POST', `/api/v1/rollouts/${created.id}/approve`);
      expect(approve.status).toBe(409);
      expect((await t.request('POST', `/api/v1/rollouts/${created.id}/cancel`)).json()).toMatchObject({ status: 'cancelled' });
      expect((await t.request('POST', `/api/v1/rollouts/${created.id}/resume`)).status).toBe(409);
      expect((await t.request('GET', '/api/v1/rollouts/nope')).status).toBe(404);
      const list = (await t.request('GET', '/api/v1/rollouts?status=cancelled')).json() as { items: { id: string }[]; total: number };
      expect(list.items.map((r) => r.id)).toContain(created.id);
      const types = ((await t.request('GET', `/api/v1/events?rolloutId=${created.id}&afterId=0`)).json() as { items: { type: string }[] }).items.map((e) => e.type);
      expect(types).toEqual(['rollout.created', 'rollout.paused', 'rollout.resumed', 'rollout.cancelled']);
    });

    it('lists a page whose every rollout shows what GET of it shows, paged by cursor', async () => {
      const all = (await t.request('GET', '/api/v1/rollouts?limit=1000')).json() as { items: RolloutJson[]; total: number; nextCursor: string | null };
      expect(all.items.length).toBeGreaterThanOrEqual(2);
      expect(all.total).toBe(all.items.length);
      // The page is summarised together; each item is what the rollout's own view says.
      for (const item of all.items) {
        const one = (await t.request('GET', `/api/v1/rollouts/${item.id}`)).json() as RolloutJson;
        expect({ counts: item.counts, total: item.progress?.total, phases: item.progress?.phases }).toEqual({ counts: one.counts, total: one.progress?.total, phases: one.progress?.phases });
      }
      expect(all.items.some((r) => Object.keys(r.counts).length > 0)).toBe(true);
      const first = (await t.request('GET', '/api/v1/rollouts?limit=1')).json() as { items: RolloutJson[]; nextCursor: string };
      const second = (await t.request('GET', `/api/v1/rollouts?limit=1&cursor=${encodeURIComponent(first.nextCursor)}`)).json() as { items: RolloutJson[] };
      expect([...first.items, ...second.items].map((r) => r.id)).toEqual(all.items.slice(0, 2).map((r) => r.id));
      expect((await t.request('GET', '/api/v1/rollouts?cursor=not-a-cursor')).status).toBe(400);
    });
  });
}
