// Test support: a real app (server, store, services) on a loopback port with a fresh database,
// plus tokens for each role. Use `storeTargets` names to run the same test on both dialects.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApp, type App, type AppOptions } from '../app.js';
import { loadConfig, type Config } from '../config.js';
import { createTestDatabase, postgresUnavailable } from './postgres.js';
import { ManualTargets } from './pull.js';

export interface TestApp {
  app: App;
  url: string;
  dataDir: string;
  tokens: { admin: string; operator: string; viewer: string };
  /** fetch against the app with a role's token. */
  request(method: string, urlPath: string, options?: { token?: string | null; body?: unknown; headers?: Record<string, string>; raw?: string | Buffer }): Promise<{ status: number; headers: Headers; text: string; json: () => unknown }>;
  close(): Promise<void>;
}

export async function startTestApp(options: { db?: 'sqlite' | 'postgres'; config?: Partial<Config>; app?: AppOptions; listen?: boolean } = {}): Promise<TestApp> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-app-'));
  const pg = options.db === 'postgres' ? await createTestDatabase() : null;
  const config = loadConfig({ dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent', ...options.config }, { ...process.env, ORCHESTRATOR_DATABASE_URL: pg?.url ?? '' });
  const app = await createApp(config, { logger: false, ...options.app });
  if (options.app?.deviceSync instanceof ManualTargets) options.app.deviceSync.useStore(app.store);
  const make = async (role: 'admin' | 'operator' | 'viewer') => (await app.store.tokens.create({ kind: 'operator', role, name: `test-${role}` }, Date.now())).token;
  const tokens = { admin: await make('admin'), operator: await make('operator'), viewer: await make('viewer') };
  const url = options.listen === false ? '' : await app.listen();
  return {
    app,
    url,
    dataDir,
    tokens,
    async request(method, urlPath, o = {}) {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      const token = o.token === undefined ? tokens.admin : o.token;
      if (token) headers.authorization = `Bearer ${token}`;
      let body: string | Uint8Array<ArrayBuffer> | undefined;
      if (o.raw !== undefined) body = typeof o.raw === 'string' ? o.raw : new Uint8Array(o.raw);
      else if (o.body !== undefined) {
        body = JSON.stringify(o.body);
        headers['content-type'] ??= 'application/json';
      }
      const response = await fetch(url + urlPath, { method, headers, body });
      const text = await response.text();
      return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) as unknown };
    },
    async close() {
      await app.close();
      await pg?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The databases an app test runs on, PostgreSQL with the reason it is skipped (CI=true fails instead). */
export async function appDatabases(): Promise<{ db: 'sqlite' | 'postgres'; skip: string | null }[]> {
  return [
    { db: 'sqlite', skip: null },
    { db: 'postgres', skip: await postgresUnavailable() },
  ];
}
