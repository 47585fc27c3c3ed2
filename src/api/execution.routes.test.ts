// The execution API over real HTTP on SQLite and PostgreSQL: every device of a rollout filtered by
// state and phase and paged by cursor (totals from the rollout's counts), a device's deployment
// history, and retry of failed devices (all, one, refused when there is nothing to retry).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCountingReceiver, type CountingReceiver } from '../testing/counting-receiver.js';
import { nextEvent } from '../testing/engine.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { postgresUnavailable } from '../testing/postgres.js';

const pgSkip = await postgresUnavailable();

interface Page<T> {
  items: T[];
  nextCursor: string | null;
  total: number;
}
interface ExecutionJson {
  id: string;
  deviceId: string;
  state: string;
  phase: number;
  attempts: number;
  bytes: number;
  error: string | null;
  stateSince: string;
  note: string | null;
  installedAfterCancel: boolean;
}

describe.each([['sqlite'], ['postgres']] as const)('execution API (%s)', (db) => {
  const skip = db === 'postgres' ? pgSkip : null;
  let t: TestApp;
  let receiver: CountingReceiver;
  let rolloutId: string;
  beforeAll(async () => {
    if (skip) return;
    receiver = await startCountingReceiver();
    t = await startTestApp({ db });
    const upload = await t.request('POST', '/api/v1/artifacts?name=fw&version=4.0.0', { headers: { 'content-type': 'application/octet-stream' }, raw: 'firmware 4' });
    const artifactId = (upload.json() as { id: string }).id;
    for (let i = 0; i < 5; i++) await t.request('POST', '/api/v1/devices', { body: { id: `exec-${i}`, mode: 'http', address: `${receiver.url}/update`, status: 'online', tags: { ring: 'exec' } } });
    // Two devices refuse the update (422, a permanent failure) until the retry.
    receiver.refused.add('exec-1').add('exec-3');
    const done = nextEvent(t.app.events, (e) => e.type === 'rollout.completed');
    const created = await t.request('POST', '/api/v1/rollouts', { token: t.tokens.operator, body: { artifactId, filter: { tag: 'ring:exec' }, retry: { maxAttempts: 1 }, maxConcurrency: 1 } });
    rolloutId = (created.json() as { id: string }).id;
    await done;
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it.skipIf(skip !== null)("pages a rollout's devices by cursor, filtered by state, with totals that agree with its counts", async () => {
    const rollout = (await t.request('GET', `/api/v1/rollouts/${rolloutId}`)).json() as { counts: Record<string, number>; progress: { total: number; failed: number } };
    expect(rollout.counts).toEqual({ succeeded: 3, failed: 2 });
    const first = (await t.request('GET', `/api/v1/rollouts/${rolloutId}/devices?limit=2`)).json() as Page<ExecutionJson>;
    expect(first.items).toHaveLength(2);
    expect(first.total).toBe(5);
    const second = (await t.request('GET', `/api/v1/rollouts/${rolloutId}/devices?limit=2&cursor=${encodeURIComponent(first.nextCursor!)}`)).json() as Page<ExecutionJson>;
    const third = (await t.request('GET', `/api/v1/rollouts/${rolloutId}/devices?limit=2&cursor=${encodeURIComponent(second.nextCursor!)}`)).json() as Page<ExecutionJson>;
    expect(third.nextCursor).toBeNull();
    expect([...first.items, ...second.items, ...third.items].map((e) => e.deviceId)).toEqual(['exec-0', 'exec-1', 'exec-2', 'exec-3', 'exec-4']);
    const failed = (await t.request('GET', `/api/v1/rollouts/${rolloutId}/devices?state=failed,rolled-back`)).json() as Page<ExecutionJson>;
    expect(failed.total).toBe(rollout.progress.failed);
    expect(failed.items.map((e) => e.deviceId)).toEqual(['exec-1', 'exec-3']);
    expect(failed.items.every((e) => e.state === 'failed' && e.attempts === 1 && /422/.test(e.error ?? '') && Date.parse(e.stateSince) > 0 && e.note === null && !e.installedAfterCancel)).toBe(true);
    expect(((await t.request('GET', `/api/v1/rollouts/${rolloutId}/devices?phase=1&state=succeeded`)).json() as Page<ExecutionJson>).total).toBe(3);
    expect(((await t.request('GET', `/api/v1/rollouts/${rolloutId}/devices?phase=2`)).json() as Page<ExecutionJson>).total).toBe(0);
    expect((await t.request('GET', `/api/v1/rollouts/${rolloutId}/devices?state=broken`)).status).toBe(400);
    expect((await t.request('GET', `/api/v1/rollouts/${rolloutId}/devices?cursor=%21%21`)).status).toBe(400);
    expect((await t.request('GET', '/api/v1/rollouts/no-such/devices')).status).toBe(404);
  });

  it.skipIf(skip !== null)("answers a device's deployment history, newest first, with the artifact", async () => {
    const history = (await t.request('GET', '/api/v1/devices/exec-0/executions', { token: t.tokens.viewer })).json() as Page<ExecutionJson & { rolloutId: string; rolloutName: string; artifact: { name: string; version: string } }>;
    expect(history).toMatchObject({ total: 1, nextCursor: null, items: [{ rolloutId, deviceId: 'exec-0', artifact: { name: 'fw', version: '4.0.0' } }] });
    expect((await t.request('GET', '/api/v1/devices/no-such/executions')).status).toBe(404);
  });

  it.skipIf(skip !== null)('retries one failed device, then the rest; an ended rollout runs again and completes', async () => {
    const failed = ((await t.request('GET', `/api/v1/rollouts/${rolloutId}/devices?state=failed`)).json() as Page<ExecutionJson>).items;
    const succeeded = ((await t.request('GET', `/api/v1/rollouts/${rolloutId}/devices?state=succeeded&limit=1`)).json() as Page<ExecutionJson>).items[0]!;
    const refused = await t.request('POST', `/api/v1/rollouts/${rolloutId}/retry`, { token: t.tokens.operator, body: { deviceId: succeeded.deviceId } });
    expect(refused.status).toBe(409);
    expect(refused.text).toMatch(/only failed or rolled-back devices can be retried/);
    expect((await t.request('POST', `/api/v1/rollouts/${rolloutId}/retry`, { token: t.tokens.operator, body: { deviceId: 'not-in-it' } })).status).toBe(404);

    receiver.refused.clear();
    let done = nextEvent(t.app.events, (e) => e.rolloutId === rolloutId && e.type === 'rollout.completed');
    const one = await t.request('POST', `/api/v1/rollouts/${rolloutId}/retry`, { token: t.tokens.operator, body: { deviceId: failed[0]!.deviceId } });
    expect(one.status).toBe(200);
    expect(one.json()).toMatchObject({ retried: 1, reopened: true, rollout: { id: rolloutId, status: 'running' } });
    await done;
    const after = ((await t.request('GET', `/api/v1/rollouts/${rolloutId}/devices?state=succeeded`)).json() as Page<ExecutionJson>).items.find((e) => e.deviceId === failed[0]!.deviceId)!;
    expect(after.id).not.toBe(failed[0]!.id);
    expect(after.attempts).toBe(1);

    // No body at all is the same as {}: every failed device.
    done = nextEvent(t.app.events, (e) => e.rolloutId === rolloutId && e.type === 'rollout.completed');
    const rest = await t.request('POST', `/api/v1/rollouts/${rolloutId}/retry`, { token: t.tokens.operator });
    expect(rest.status).toBe(200);
    expect(rest.json()).toMatchObject({ retried: 1, reopened: true });
    await done;
    expect((await t.request('GET', `/api/v1/rollouts/${rolloutId}`)).json()).toMatchObject({ status: 'completed', counts: { succeeded: 5 } });
    expect((await t.request('POST', `/api/v1/rollouts/${rolloutId}/retry`, { token: t.tokens.operator, body: {} })).status).toBe(409);
    const audit = (await t.request('GET', `/api/v1/events?rolloutId=${rolloutId}&type=rollout.retried`)).json() as { items: { actor: string; data: { devices: number } }[] };
    expect(audit.items.map((e) => e.data.devices).sort()).toEqual([1, 1]);
    expect(receiver.installs.size).toBe(5);
  });
});
