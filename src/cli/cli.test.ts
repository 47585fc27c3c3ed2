// The `orchestrator` command end to end: a real server process and the CLI as a user runs them,
// on SQLite and on PostgreSQL.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from '../testing/cli.js';
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../testing/postgres.js';

/** Starts `orchestrator serve` on a free port and resolves once it prints its URL. */
function serve(dataDir: string, env: Record<string, string>): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--host', '127.0.0.1', '--data', dataDir], { env: { ...process.env, ORCHESTRATOR_LOG_LEVEL: 'warn', ...env } });
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) resolve({ child, url: match[1]!, output: () => out });
    });
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
}

const stop = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', () => resolve()), child.kill('SIGTERM'))));

for (const db of ['sqlite', 'postgres'] as const) {
  describe(`orchestrator CLI on ${db}`, () => {
    let skip: string | null = null;
    let pg: TestDatabase | null = null;
    let dataDir: string;
    let env: Record<string, string>;
    beforeAll(async () => {
      skip = db === 'postgres' ? await postgresUnavailable() : null;
      if (skip) return;
      pg = db === 'postgres' ? await createTestDatabase() : null;
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-cli-'));
      env = { ORCHESTRATOR_DATABASE_URL: pg?.url ?? '' };
    });
    afterAll(async () => {
      await pg?.drop();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    });

    // Many CLI processes in a row: each start costs seconds on a loaded machine.
    it('creates a token with the server stopped, then imports and filters devices', { timeout: 240_000 }, async (ctx) => {
      if (skip) return ctx.skip();
      const created = await runCli(['tokens', 'create', '--role', 'admin', '--data', dataDir, '--json'], env);
      expect(created.code, created.stderr).toBe(0);
      const { token, role } = JSON.parse(created.stdout) as { token: string; role: string };
      expect(role).toBe('admin');
      expect(token).toMatch(/^uo_op_/);

      const server = await serve(dataDir, env);
      try {
        // An admin token exists already, so no first-start token is printed.
        expect(server.output()).not.toMatch(/First start/);
        const remote = { ORCHESTRATOR_URL: server.url, ORCHESTRATOR_TOKEN: token, ...env };
        const csv = path.join(dataDir, 'fleet.csv');
        const rows = ['id,name,mode,status,version,location,timezone,tags'];
        for (let i = 0; i < 300; i++) rows.push(`cli-${String(i).padStart(3, '0')},Store ${i},pull,${i % 5 ? 'online' : 'offline'},${i % 3 ? '1.9.0' : '2.1.0'},Denver,America/Denver,region=${i % 4 ? 'east' : 'west'}`);
        rows.splice(42, 0, 'cli-bad,Bad,pull,online,1.0,Denver,Not/AZone,region=west');
        fs.writeFileSync(csv, rows.join('\n') + '\n');

        const refused = await runCli(['devices', 'import', csv], remote);
        expect(refused.code).toBe(1);
        expect(refused.stderr).toMatch(/1 of 301 rows are invalid; nothing was imported/);
        expect((await runCli(['devices', 'get', 'long-1'], remote)).stderr).toMatch(/404 Not Found/);
        expect(refused.stderr).toMatch(/line 43: .*timezone/);

        // A row past the 1 MiB row limit: the server answers while the CLI is still uploading the
        // file, and the CLI shows that answer (not EPIPE); nothing is written.
        const long = path.join(dataDir, 'long.ndjson');
        fs.writeFileSync(long, '{"id":"long-1"}\n{"id":"long-2","name":"');
        for (let i = 0; i < 8; i++) fs.appendFileSync(long, Buffer.alloc(1024 * 1024, 'a'));
        const tooLong = await runCli(['devices', 'import', long, '--skip-invalid'], remote);
        expect(tooLong.code).toBe(1);
        expect(tooLong.stderr).toMatch(/400 Bad Request: the row at line 2 is longer than 1 MiB \(ORCHESTRATOR_IMPORT_MAX_ROW_BYTES\); nothing was imported/);

        const imported = await runCli(['devices', 'import', csv, '--skip-invalid', '--json'], remote);
        expect(imported.code, imported.stderr).toBe(0);
        expect(JSON.parse(imported.stdout)).toMatchObject({ rows: 301, created: 300, skipped: 1, invalid: [{ line: 43 }] });

        const listed = await runCli(['devices', 'list', '--status', 'online', '--tag', 'region:west', '--version', '<2.0.0', '--all', '--limit', '7', '--json'], remote);
        expect(listed.code, listed.stderr).toBe(0);
        const expected = Array.from({ length: 300 }, (_, i) => i).filter((i) => i % 5 !== 0 && i % 4 === 0 && i % 3 !== 0).map((i) => `cli-${String(i).padStart(3, '0')}`);
        const ids = (JSON.parse(listed.stdout) as { items: { id: string }[] }).items.map((d) => d.id);
        expect(ids).toEqual(expected);

        const east = await runCli(['devices', 'list', '--status', 'online', '--tag', 'region:east', '--version', '<2.0.0', '--all', '--limit', '7', '--json'], remote);
        const eastIds = (JSON.parse(east.stdout) as { items: { id: string }[]; total: number }).items.map((d) => d.id);
        const eastExpected = Array.from({ length: 300 }, (_, i) => i).filter((i) => i % 5 !== 0 && i % 4 !== 0 && i % 3 !== 0).map((i) => `cli-${String(i).padStart(3, '0')}`);
        expect(eastIds).toEqual(eastExpected);

        // key=value as the tables print tags, and 2.1 as the range 2.1.x.
        const westOn21 = await runCli(['devices', 'list', '--tag', 'region=west', '--version', '2.1', '--all', '--json'], remote);
        expect(westOn21.code, westOn21.stderr).toBe(0);
        const westOn21Ids = (JSON.parse(westOn21.stdout) as { items: { id: string }[] }).items.map((d) => d.id);
        expect(westOn21Ids).toEqual(Array.from({ length: 300 }, (_, i) => i).filter((i) => i % 12 === 0).map((i) => `cli-${String(i).padStart(3, '0')}`));

        const table = await runCli(['devices', 'list', '--location', 'Denver', '--limit', '5'], remote);
        expect(table.stdout).toMatch(/^ID\s+NAME\s+STATUS/);
        expect(table.stdout).toMatch(/5 shown of 300; next page: --cursor \S+/);

        const added = await runCli(['devices', 'add', 'cli-new', '--mode', 'http', '--address', 'http://127.0.0.1:9999/update', '--tag', 'region=west', '--json'], remote);
        expect(JSON.parse(added.stdout)).toMatchObject({ id: 'cli-new', mode: 'http', tags: { region: 'west' } });
        const badAdd = await runCli(['devices', 'add', 'cli-bad2', '--mode', 'ssh'], remote);
        expect(badAdd.code).toBe(1);
        expect(badAdd.stderr).toMatch(/address/);
        expect(JSON.parse((await runCli(['devices', 'get', 'cli-new', '--json'], remote)).stdout)).toMatchObject({ address: 'http://127.0.0.1:9999/update' });
        const removed = await runCli(['devices', 'decommission', 'cli-new'], remote);
        expect(removed.stdout, removed.stderr).toMatch(/decommissioned cli-new at \d{4}-/);
        expect(JSON.parse((await runCli(['devices', 'get', 'cli-new', '--json'], remote)).stdout)).toMatchObject({ id: 'cli-new', decommissionedAt: expect.any(String) });
        expect(JSON.parse((await runCli(['devices', 'list', '--decommissioned', '--json'], remote)).stdout)).toMatchObject({ items: [{ id: 'cli-new' }], total: 1 });
        expect((await runCli(['devices', 'decommission', 'cli-nope'], remote)).stderr).toMatch(/404.*does not exist/);

        const out = path.join(dataDir, 'export.ndjson');
        const exported = await runCli(['devices', 'export', '--format', 'ndjson', '--tag', 'region:west', '--out', out], remote);
        expect(exported.code, exported.stderr).toBe(0);
        expect(fs.readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(75);

        const viewer = JSON.parse((await runCli(['tokens', 'create', '--role', 'viewer', '--json'], remote)).stdout) as { token: string };
        const denied = await runCli(['devices', 'rm', 'cli-001'], { ...remote, ORCHESTRATOR_TOKEN: viewer.token });
        expect(denied.stderr).toMatch(/403.*operator/);
        expect((await runCli(['devices', 'list'], { ...remote, ORCHESTRATOR_TOKEN: '' })).stderr).toMatch(/no token/);
      } finally {
        await stop(server.child);
      }
    });
  });
}

describe('orchestrator --help', () => {
  it('explains every command', async () => {
    const help = await runCli(['--help']);
    expect(help.stdout).toMatch(/serve/);
    expect(help.stdout).toMatch(/devices/);
    for (const command of [['serve'], ['tokens', 'create'], ['devices', 'import'], ['devices', 'list']]) {
      const out = await runCli([...command, '--help']);
      expect(out.code).toBe(0);
      expect(out.stdout).toMatch(/Usage: orchestrator/);
    }
  });
  it('prints the first admin token on first start', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-first-'));
    const server = await serve(dataDir, { ORCHESTRATOR_DATABASE_URL: '' });
    try {
      expect(server.output()).toMatch(/First start: created an admin token/);
      const token = fs.readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
      expect(server.output()).toContain(token);
      expect((fs.statSync(path.join(dataDir, 'admin.token')).mode & 0o777).toString(8)).toBe('600');
      const response = await fetch(`${server.url}/api/v1/devices`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(200);
    } finally {
      await stop(server.child);
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
