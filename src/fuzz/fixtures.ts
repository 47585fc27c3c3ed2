// Things the fuzzer aims at: devices (pull and push), device tokens, a revoked token, a file and an
// image artifact, a scheduled rollout, a policy, a subscription and an enrollment key.
// Created through the API itself; run again before each property to restore what the last deleted.
import type { TestApp } from '../testing/app.js';

/** Tokens by the role the fuzzer plays with them. */
export interface FuzzTokens {
  admin: string;
  operator: string;
  viewer: string;
  device: string;
  otherDevice: string;
  revoked: string;
}

export const FIXTURE_DEVICES = ['fz-dev-a', 'fz-dev-b', 'fz-dev-http'];

async function ok(t: TestApp, method: string, path: string, options: Parameters<TestApp['request']>[2], accept: number[] = []): Promise<unknown> {
  const response = await t.request(method, path, options);
  if (response.status >= 300 && !accept.includes(response.status)) throw new Error(`fuzz fixture ${method} ${path} answered ${response.status}: ${response.text.slice(0, 300)}`);
  return response.text ? (response.json() as unknown) : null;
}

/** (Re)creates the fixtures; answers fresh device tokens and a revoked one. */
export async function ensureFixtures(t: TestApp, warnings: Set<string>): Promise<FuzzTokens> {
  const soft = async (what: string, run: () => Promise<unknown>) => {
    try {
      return await run();
    } catch (error) {
      warnings.add(`${what}: ${(error as Error).message}`);
      return null;
    }
  };
  // A decommissioned device keeps its id for good (its history stays, the id is never registered
  // again), so a fixture the fuzzer decommissioned comes back under the next free id.
  const live: string[] = [];
  for (const base of FIXTURE_DEVICES) {
    const push = base.endsWith('http');
    for (let n = 0; ; n++) {
      const id = n === 0 ? base : `${base}-r${n}`;
      const found = await t.request('GET', `/api/v1/devices/${id}`, {});
      if (found.status === 200 && (found.json() as { decommissionedAt: string | null }).decommissionedAt) continue;
      if (found.status === 404) await ok(t, 'POST', '/api/v1/devices', { body: { id, name: id, mode: push ? 'http' : 'pull', address: push ? 'http://127.0.0.1:9/update' : null, version: '1.0.0', location: 'store-1', timezone: 'Europe/Berlin', tags: { region: 'west' } } }, [409]);
      live.push(id);
      break;
    }
  }
  const deviceToken = async (id: string) => ((await ok(t, 'POST', `/api/v1/devices/${id}/token`, {})) as { token: string }).token;
  const created = (await ok(t, 'POST', '/api/v1/tokens', { body: { role: 'viewer', name: 'fz-revoked' } })) as { token: string; id: string };
  await ok(t, 'DELETE', `/api/v1/tokens/${encodeURIComponent(created.id)}`, {});
  await soft('file artifact', () => ok(t, 'POST', '/api/v1/artifacts?name=fz-fw&version=1.0.0', { raw: Buffer.from('fuzz artifact bytes\n'.repeat(50)), headers: { 'content-type': 'application/octet-stream' } }, [409]));
  await soft('rollout', async () => {
    const list = (await ok(t, 'GET', '/api/v1/artifacts?name=fz-fw', {})) as { items: { id: string }[] };
    const artifactId = list.items[0]?.id;
    if (!artifactId) throw new Error('no fz-fw artifact');
    const rollouts = (await ok(t, 'GET', '/api/v1/rollouts', {})) as { items: { name?: string }[] };
    // Scheduled far ahead: the engine leaves it alone, the routes have a real id to work on.
    if (!rollouts.items.some((r) => r.name === 'fz-rollout')) await ok(t, 'POST', '/api/v1/rollouts', { body: { name: 'fz-rollout', artifactId, filter: { location: 'store-1' }, strategy: 'scheduled', startAt: '2099-01-01T00:00:00Z' } });
  });
  await soft('release', async () => {
    const list = (await ok(t, 'GET', '/api/v1/artifacts?name=fz-fw', {})) as { items: { id: string }[] };
    const artifactId = list.items[0]?.id;
    if (!artifactId) throw new Error('no fz-fw artifact');
    // The routes with :id get a real release to work on.
    await ok(t, 'POST', '/api/v1/releases', { body: { name: 'fz-release', version: '1.0.0', artifacts: [{ artifactId, match: { deviceType: 'fz-*' } }] } }, [409]);
  });
  await soft('image artifact', () => ok(t, 'POST', '/api/v1/artifacts', { body: { name: 'fz-image', version: '1.0.0', imageRef: 'registry.local/fz/app:1.0.0' } }, [409]));
  /** Creates a named thing unless the list already has it (names need not be unique). */
  const named = async (list: string, name: string, body: Record<string, unknown>) => {
    const found = (await ok(t, 'GET', list, {})) as { items: { name?: string }[] };
    if (!found.items.some((item) => item.name === name)) await ok(t, 'POST', list, { body: { name, ...body } }, [409]);
  };
  await soft('policy', () => named('/api/v1/policies', 'fz-policy', { image: 'fz/*' }));
  await soft('subscription', () => named('/api/v1/subscriptions', 'fz-sub', { url: 'http://127.0.0.1:9/hook' }));
  await soft('enrollment key', () => named('/api/v1/enrollment-keys', 'fz-key', {}));
  return {
    admin: t.tokens.admin,
    operator: t.tokens.operator,
    viewer: t.tokens.viewer,
    device: await deviceToken(live[0]!),
    otherDevice: await deviceToken(live[1]!),
    revoked: created.token,
  };
}
