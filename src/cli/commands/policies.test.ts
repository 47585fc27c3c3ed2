// `orchestrator policies` and `orchestrator subscriptions` as a user runs them (the built CLI)
// against a real server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../testing/cli.js';
import { startTestApp, type TestApp } from '../../testing/app.js';


describe('orchestrator policies / subscriptions', () => {
  let t: TestApp;
  const cli = (args: string[]) => runCli([...args, '--server', t.url, '--token', t.tokens.admin]);
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('creates, lists, tests and removes a policy', async () => {
    const created = await cli(['policies', 'create', '--name', 'west-pos', '--image', 'acme/pos-*', '--location', 'west', '--phases', '5,50,100', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const policy = JSON.parse(created.stdout) as { id: string; filter: unknown; template: { strategy: string; phases: unknown[] } };
    expect(policy.filter).toEqual({ location: 'west' });
    expect(policy.template).toMatchObject({ strategy: 'progressive', phases: [{ percent: 5 }, { percent: 50 }, { percent: 100 }] });
    const bad = await cli(['policies', 'create', '--name', 'bad', '--image', 'x', '--phases', '5,50']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/phases/);
    expect((await cli(['policies', 'list'])).stdout).toMatch(/west-pos\s+acme\/pos-\*/);
    const tested = JSON.parse((await cli(['policies', 'test', 'acme/pos-app:2.0', '--json'])).stdout) as { matches: { name: string }[] };
    expect(tested.matches.map((m) => m.name)).toEqual(['west-pos']);
    expect((await cli(['policies', 'test', 'acme/other:2.0'])).stdout).toMatch(/no policy matches/);
    expect((await cli(['policies', 'rm', 'west-pos'])).code).toBe(0);
    expect((await cli(['policies', 'list', '--json'])).stdout).toContain('"items": []');
  });

  it('creates, lists and removes a subscription without ever printing its secret', async () => {
    const created = await cli(['subscriptions', 'create', '--url', 'http://127.0.0.1:9/hook', '--secret', 'super-secret-1', '--format', 'slack', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const sub = JSON.parse(created.stdout) as { id: string; hasSecret: boolean };
    expect(sub.hasSecret).toBe(true);
    const listed = await cli(['subscriptions', 'list']);
    expect(listed.stdout).toContain('http://127.0.0.1:9/hook');
    expect(listed.stdout).not.toContain('super-secret-1');
    expect((await cli(['subscriptions', 'rm', sub.id])).code).toBe(0);
  });
});
