// `orchestrator releases` and `orchestrator rollouts create --release --dry-run` as a user runs
// them (the built CLI) against a real server: one command uploads a .swu, a .mender and a plain
// file and assembles the release with their declared matches and an override; list, get, the dry
// run of a mixed fleet, and rm refused while a rollout uses the release.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Release } from '../../core/index.js';
import { startTestApp, type TestApp } from '../../testing/app.js';
import { menderBundle, swuBundle } from '../../testing/bundles.js';
import { runCli } from '../../testing/cli.js';

describe('orchestrator releases', () => {
  let t: TestApp;
  let dir: string;
  const cli = (args: string[]) => runCli([...args, '--server', t.url, '--token', t.tokens.operator]);
  beforeAll(async () => {
    t = await startTestApp();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-cli-rel-'));
    fs.writeFileSync(path.join(dir, 'a.swu'), swuBundle('2.4.1', ['rev-a']));
    fs.writeFileSync(path.join(dir, 'b.mender'), menderBundle('pos-2.4.1', ['rpi4']));
    fs.writeFileSync(path.join(dir, 'c.bin'), 'pos firmware');
    for (const [id, body] of [
      ['cli-hb', { mode: 'pull', deviceType: 'rev-a' }],
      ['cli-push', { mode: 'http', address: 'http://127.0.0.1:9/update' }],
      ['cli-odd', { mode: 'ssh', address: 'ssh://u@127.0.0.1:22/x', deviceType: 'imx8' }],
    ] as const) {
      expect((await t.request('POST', '/api/v1/devices', { body: { id, ...body, tags: { site: 'cli' } } })).status).toBe(201);
    }
    // cli-hb speaks hawkBit.
    await t.app.store.devices.setProtocol('cli-hb', 'hawkbit');
  });
  afterAll(async () => {
    await t.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  let release: Release;
  it('uploads every file and assembles the release in one command, matches declared or overridden', async () => {
    const made = await cli(['releases', 'create', '--name', 'pos', '--version', '2.4.1', path.join(dir, 'a.swu'), path.join(dir, 'b.mender'), path.join(dir, 'c.bin'), '--match', 'c.bin=protocol:http', '--component', 'c.bin=fw', '--json']);
    expect(made.code, made.stderr).toBe(0);
    release = JSON.parse(made.stdout) as Release;
    expect(release).toMatchObject({ name: 'pos', version: '2.4.1' });
    expect(release.artifacts.map((a) => [a.component, a.match])).toEqual([
      ['main', { protocol: ['hawkbit'], deviceType: 'rev-a' }],
      ['main', { protocol: ['mender'], deviceType: 'rpi4' }],
      ['fw', { protocol: ['http'], deviceType: null }],
    ]);
    const names = await Promise.all(release.artifacts.map(async (a) => (await t.app.store.artifacts.get(a.artifactId))?.name));
    expect(names).toEqual(['pos-a.swu', 'pos-b.mender', 'pos-c.bin']);
  });

  it('lists and shows releases', async () => {
    const list = await cli(['releases', 'list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/pos\s+2\.4\.1\s+main,fw\s+3/);
    const got = await cli(['releases', 'get', release.id]);
    expect(got.stdout).toContain(`release pos 2.4.1: id ${release.id}`);
    expect(got.stdout).toMatch(/fw\s+\S+\s+http \/ any type/);
  });

  it('dry-runs a rollout of the release: devices per artifact and the skipped with their reason, creating nothing', async () => {
    const dry = await cli(['rollouts', 'create', '--release', release.id, '--tag', 'site=cli', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toEqual({ total: 3, byArtifact: { [release.artifacts[0]!.artifactId]: 1, [release.artifacts[2]!.artifactId]: 1 }, skipped: [{ reason: 'no artifact of release pos 2.4.1 for device type imx8 over SSH push', devices: 1 }] });
    const text = await cli(['rollouts', 'create', '--release', release.id, '--tag', 'site=cli', '--dry-run']);
    expect(text.stdout).toContain('dry run: 3 devices targeted, nothing created');
    expect(text.stdout).toContain('skipped 1: no artifact of release pos 2.4.1 for device type imx8 over SSH push');
    expect((await t.request('GET', '/api/v1/rollouts')).json()).toMatchObject({ total: 0 });
    const both = await cli(['rollouts', 'create', '--release', release.id, '--artifact', 'x']);
    expect(both.code).toBe(2);
  });

  it('sets a device type with devices add and filters by it with devices list', async () => {
    const added = await cli(['devices', 'add', 'cli-typed', '--device-type', 'rpi4', '--json']);
    expect(added.code, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ id: 'cli-typed', deviceType: 'rpi4' });
    const listed = await cli(['devices', 'list', '--device-type', 'rpi4', '--json']);
    expect((JSON.parse(listed.stdout) as { items: { id: string }[] }).items.map((d) => d.id)).toEqual(['cli-typed']);
    const bad = await cli(['devices', 'add', 'cli-bad', '--device-type', 'no spaces']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/deviceType/);
  });

  it('refuses rm while a rollout uses the release, and bad overrides with the reason', async () => {
    const rollout = await cli(['rollouts', 'create', '--release', release.id, '--tag', 'site=cli', '--start-at', '2099-01-01T00:00:00Z', '--json']);
    expect(rollout.code, rollout.stderr).toBe(0);
    const rm = await cli(['releases', 'rm', release.id]);
    expect(rm.code).not.toBe(0);
    expect(rm.stderr).toMatch(/has not finished/);
    const bad = await cli(['releases', 'create', '--name', 'pos', '--version', '9', path.join(dir, 'c.bin'), '--match', 'nope.bin=protocol:http']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no such file or artifact among the arguments/);
    const help = await runCli(['releases', 'create', '--help']);
    expect(help.stdout).toMatch(/--match REF=deviceType:rpi\*/);
  });
});
