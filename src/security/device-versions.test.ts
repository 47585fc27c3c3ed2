// "This device now runs version X" from the attacker's side: a device speaks for itself only. A
// pull device's report sets its own version and nobody else's, an over-long version is refused
// at the edge (400) and changes nothing, an operator token cannot report device state, and a
// hawkBit controller's success feedback on another controller's action is 404 and records no
// version for either. SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextEvent } from '../testing/engine.js';
import { startAppWithEngine, type EngineApp } from '../testing/engine-app.js';
import { postgresUnavailable } from '../testing/postgres.js';

const pgSkip = await postgresUnavailable();

describe.each([['sqlite'], ['postgres']] as const)('device versions (%s)', (db) => {
  const skip = db === 'postgres' ? pgSkip : null;
  let e: EngineApp;
  beforeAll(async () => {
    if (!skip) e = await startAppWithEngine({ pollIntervalSeconds: 30 }, undefined, db);
  });
  afterAll(async () => e?.close());

  const version = async (id: string) => (await e.t.app.store.devices.get(id))?.version;
  async function device(id: string): Promise<string> {
    expect((await e.t.request('POST', '/api/v1/devices', { body: { id, name: id, mode: 'pull', status: 'online', version: '1.0.0', tags: { ring: id } } })).status).toBe(201);
    return ((await e.t.request('POST', `/api/v1/devices/${id}/token`, {})).json() as { token: string }).token;
  }

  it.skipIf(skip !== null)('a pull report sets its own device’s version only, bounded at the edge', async () => {
    const mine = await device('ver-mine');
    await device('ver-other');
    const report = (token: string | null, body: unknown) => e.t.request('PATCH', '/api/v1/device/state', { token, body });
    // The token says which device reports: a body that names another is refused whole.
    expect((await report(mine, { deviceId: 'ver-other', version: '6.6.6' })).status).toBe(400);
    expect(await version('ver-other')).toBe('1.0.0');
    expect(await version('ver-mine')).toBe('1.0.0');
    expect((await report(mine, { version: '6.6.6' })).status).toBe(200);
    expect(await version('ver-mine')).toBe('6.6.6');
    expect(await version('ver-other')).toBe('1.0.0');
    expect((await report(mine, { version: 'x'.repeat(65) })).status).toBe(400);
    expect((await report(mine, { version: '' })).status).toBe(400);
    expect(await version('ver-mine')).toBe('6.6.6');
    expect((await report(e.t.tokens.admin, { version: '7.0.0' })).status).toBe(403);
    expect((await report(null, { version: '7.0.0' })).status).toBe(401);
    expect((await report('uo_dev_forged', { version: '7.0.0' })).status).toBe(401);
    expect(await version('ver-mine')).toBe('6.6.6');
  });

  it.skipIf(skip !== null)('hawkBit success feedback on another controller’s action records nothing', async () => {
    const victimToken = await device('ver-victim');
    const attackerToken = await device('ver-attacker');
    const upload = await e.t.request('POST', '/api/v1/artifacts?name=fw-ver&version=4.0.0', { raw: 'firmware ver\n', headers: { 'content-type': 'application/octet-stream' } });
    const artifactId = (upload.json() as { id: string }).id;
    const queued = nextEvent(e.t.app.events, (ev) => ev.deviceId === 'ver-victim' && ev.type === 'execution.queued');
    await e.rollouts.create({ artifactId, filter: { tag: 'ring:ver-victim' } }, 'token:test');
    const executionId = (await queued).executionId!;
    const ddi = (token: string, method: string, path: string, body?: unknown) => e.t.request(method, path, { token: null, headers: { authorization: `TargetToken ${token}` }, ...(body !== undefined ? { body } : {}) });
    const poll = (await ddi(victimToken, 'GET', '/DEFAULT/controller/v1/ver-victim')).json() as { _links: { deploymentBase?: { href: string } } };
    const actionId = Number(/deploymentBase\/(\d+)/.exec(poll._links.deploymentBase!.href)![1]);
    const success = { id: actionId, status: { execution: 'closed', result: { finished: 'success' } } };
    expect((await ddi(attackerToken, 'POST', `/DEFAULT/controller/v1/ver-attacker/deploymentBase/${actionId}/feedback`, success)).status).toBe(404);
    // At the victim's URL the attacker's target token is not valid at all.
    expect((await ddi(attackerToken, 'POST', `/DEFAULT/controller/v1/ver-victim/deploymentBase/${actionId}/feedback`, success)).status).toBe(401);
    expect(await version('ver-attacker')).toBe('1.0.0');
    expect(await version('ver-victim')).toBe('1.0.0');
    expect((await e.t.app.store.executions.get(executionId))?.state).not.toBe('succeeded');
  });
});
