// `orchestrator enrollment-keys`, `devices token|accept` and `agent --enrollment-key` as a user runs
// them (the built CLI) against a real server.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../testing/cli.js';
import { startTestApp, type TestApp } from '../../testing/app.js';
import { builtCliMissing, requirePeer } from '../../testing/peers.js';

describe.skipIf(requirePeer('the built CLI', builtCliMissing()))('orchestrator enrollment-keys / devices token / agent enrollment', () => {
  let t: TestApp;
  let dir: string;
  const cli = (args: string[], token?: string) => runCli([...args, ...(token ? ['--server', t.url, '--token', token] : [])]);
  beforeAll(async () => {
    t = await startTestApp({ config: { pollIntervalSeconds: 1 } });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-cli-agent-'));
  });
  afterAll(async () => {
    await t.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('devices token prints {"token"} with --json, and that token polls as the device', async () => {
    await t.app.devices.create({ id: 'cli-dev', mode: 'pull' }, 'test');
    const issued = await cli(['devices', 'token', 'cli-dev', '--json'], t.tokens.operator);
    expect(issued.code, issued.stderr).toBe(0);
    const { token } = JSON.parse(issued.stdout) as { token: string };
    expect(token).toMatch(/^uo_dev_/);
    expect((await t.request('GET', '/api/v1/device/cli-dev/state', { token })).status).toBe(200);
    const viewer = await cli(['devices', 'token', 'cli-dev', '--json'], t.tokens.viewer);
    expect(viewer.code).not.toBe(0);
    expect(viewer.stderr).toContain("'operator' role");
  });

  it('an agent enrolls with a key, waits pending, and is accepted from the CLI', async () => {
    const created = await cli(['enrollment-keys', 'create', '--name', 'shops', '--location', 'lisbon', '--json'], t.tokens.admin);
    expect(created.code, created.stderr).toBe(0);
    const key = JSON.parse(created.stdout) as { key: string; id: string; autoAccept: boolean };
    expect(key).toMatchObject({ autoAccept: false });
    const agentDir = path.join(dir, 'shop-1');
    const once = await cli(['agent', '--server', t.url, '--device', 'shop-1', '--dir', agentDir, '--enrollment-key', key.key, '--once']);
    expect(once.code, once.stderr).toBe(0);
    expect(once.stderr).toContain('enrolled as shop-1 (pending)');
    expect(fs.statSync(path.join(agentDir, '.agent-token')).mode & 0o777).toBe(0o600);
    expect(((await t.request('GET', '/api/v1/devices/shop-1')).json() as { location: string }).location).toBe('lisbon');
    const accepted = await cli(['devices', 'accept', 'shop-1', '--json'], t.tokens.operator);
    expect(JSON.parse(accepted.stdout)).toEqual({ deviceId: 'shop-1', enrollment: 'accepted' });
    // The saved token is used from now on; the key is not needed again.
    const again = await cli(['agent', '--server', t.url, '--device', 'shop-1', '--dir', agentDir, '--once']);
    expect(again.code, again.stderr).toBe(0);
    const listed = JSON.parse((await cli(['enrollment-keys', 'list', '--json'], t.tokens.admin)).stdout) as { items: { id: string; uses: number }[] };
    expect(listed.items.find((k) => k.id === key.id)?.uses).toBe(1);
    expect((await cli(['enrollment-keys', 'revoke', key.id], t.tokens.admin)).code).toBe(0);
    const refused = await cli(['agent', '--server', t.url, '--device', 'shop-2', '--dir', path.join(dir, 'shop-2'), '--enrollment-key', key.key, '--once']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('enrollment key is unknown, revoked, expired or used up');
  });
});
