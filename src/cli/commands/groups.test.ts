// `orchestrator groups` and `orchestrator devices bulk` as a user runs them (the built CLI)
// against a real server: groups create|list|get|add|remove|rm, the --group filter on devices
// list, and bulk actions that show their count first and refuse to run without a terminal
// unless --yes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../testing/cli.js';
import { startTestApp, type TestApp } from '../../testing/app.js';

describe('orchestrator groups / devices bulk', () => {
  let t: TestApp;
  const cli = (args: string[]) => runCli([...args, '--server', t.url, '--token', t.tokens.operator]);
  beforeAll(async () => {
    t = await startTestApp();
    for (const [id, ring] of [['cl-1', 'beta'], ['cl-2', 'beta'], ['cl-3', 'prod']]) expect((await t.request('POST', '/api/v1/devices', { body: { id, tags: { ring } } })).status).toBe(201);
  });
  afterAll(() => t.close());

  it('creates, lists, shows, changes and removes groups', async () => {
    const dynamic = await cli(['groups', 'create', 'beta', '--filter', 'tag=ring=beta', '--json']);
    expect(dynamic.code, dynamic.stderr).toBe(0);
    expect(JSON.parse(dynamic.stdout)).toMatchObject({ kind: 'dynamic', members: 2, filter: { tag: 'ring=beta' } });
    const pinned = await cli(['groups', 'create', 'pinned', '--device', 'cl-1,cl-3']);
    expect(pinned.code, pinned.stderr).toBe(0);
    expect(pinned.stdout).toMatch(/pinned\s+static\s+DEFAULT\s+2/);
    expect((await cli(['groups', 'list'])).stdout).toMatch(/beta\s+dynamic\s+DEFAULT\s+2\s+tag=ring%3Dbeta/);
    expect((await cli(['groups', 'add', 'pinned', 'cl-2'])).stdout).toContain('pinned: 3 member(s)');
    expect((await cli(['groups', 'remove', 'pinned', 'cl-1', 'cl-2'])).stdout).toContain('pinned: 1 member(s)');
    expect(JSON.parse((await cli(['groups', 'get', 'pinned', '--json'])).stdout)).toMatchObject({ members: 1 });
    expect((await cli(['devices', 'list', '--group', 'beta'])).stdout).toMatch(/cl-1[\s\S]*cl-2[\s\S]*2 shown of 2/);
    const missing = await cli(['groups', 'get', 'nope']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/nope/);
    expect((await cli(['groups', 'rm', 'pinned'])).code).toBe(0);
    expect((await cli(['groups', 'get', 'pinned'])).code).not.toBe(0);
  });

  it('bulk: a dry run shows the count, no terminal without --yes is refused, --yes runs it', async () => {
    const dry = await cli(['devices', 'bulk', 'tag', '--group', 'beta', '--tag', 'wave=1', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('tag would touch 2 device(s) of tenant DEFAULT');
    const refused = await cli(['devices', 'bulk', 'tag', '--group', 'beta', '--tag', 'wave=1']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('tag would touch 2 device(s); not asking without a terminal: pass --yes');
    expect((await t.request('GET', '/api/v1/devices/count?tag=wave=1')).json()).toEqual({ total: 0 });
    const run = await cli(['devices', 'bulk', 'tag', '--group', 'beta', '--tag', 'wave=1', '--yes']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/tag: 2 device\(s\) of tenant DEFAULT \(audit event \d+\)/);
    expect((await t.request('GET', '/api/v1/devices/count?tag=wave=1')).json()).toEqual({ total: 2 });
    const located = await cli(['devices', 'bulk', 'set-location', '--ids', 'cl-2', 'cl-3', '--location', 'Dock 9', '--yes', '--json']);
    expect(JSON.parse(located.stdout)).toMatchObject({ action: 'set-location', count: 2 });
    const typed = await cli(['devices', 'bulk', 'set-device-type', '--ids', 'cl-2', 'cl-3', '--device-type', 'rpi4', '--yes', '--json']);
    expect(JSON.parse(typed.stdout)).toMatchObject({ action: 'set-device-type', count: 2 });
    expect((await t.request('GET', '/api/v1/devices/count?deviceType=rpi4')).json()).toEqual({ total: 2 });
    expect((await cli(['devices', 'bulk', 'set-device-type', '--ids', 'cl-2'])).stderr).toContain('set-device-type needs --device-type <type> (or --clear)');
    expect((await cli(['devices', 'bulk', 'untag', '--filter', 'location=Dock 9', '--key', 'wave', '--yes'])).stdout).toContain('untag: 2 device(s)');
    const both = await cli(['devices', 'bulk', 'decommission', '--group', 'beta', '--ids', 'cl-1', '--yes']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('exactly one of --group G, --filter F or --ids');
  });
});
