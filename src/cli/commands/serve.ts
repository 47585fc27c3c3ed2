// `orchestrator serve`: the server with its embedded defaults (SQLite under ./data, port 8080).
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { createApp } from '../../app.js';
import { loadConfig } from '../../config.js';
import { VERSION } from '../../version.js';

/** On first start (no operator token yet) creates an admin token and says where it is. */
async function ensureAdminToken(app: Awaited<ReturnType<typeof createApp>>): Promise<string | null> {
  if ((await app.store.tokens.countOperators()) > 0) return null;
  const { token } = await app.store.tokens.create({ kind: 'operator', role: 'admin', name: 'first-admin' }, app.clock.now());
  const file = path.join(app.config.dataDir, 'admin.token');
  fs.writeFileSync(file, token + '\n', { mode: 0o600 });
  return token;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the server: REST API, device API, engine, dashboard (SQLite under --data unless ORCHESTRATOR_DATABASE_URL is set)')
    .option('-p, --port <port>', 'port to listen on', (v) => Number.parseInt(v, 10))
    .option('--host <host>', 'address to bind (default 0.0.0.0)')
    .option('-d, --data <dir>', 'data directory: SQLite database, artifacts (default ./data)')
    .addHelpText('after', '\nEnvironment: ORCHESTRATOR_DATABASE_URL=postgres://... uses PostgreSQL; ORCHESTRATOR_LOG_LEVEL, ORCHESTRATOR_PORT, ORCHESTRATOR_DATA.\nSee docs/operations.md for every setting.')
    .action(async (options: { port?: number; host?: string; data?: string }) => {
      if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)) throw new Error('--port must be a number from 0 to 65535');
      const config = loadConfig({ port: options.port, host: options.host, dataDir: options.data });
      const app = await createApp(config);
      const firstToken = await ensureAdminToken(app);
      const url = await app.listen();
      // One write, so whoever reads the first line has the whole banner.
      const lines = [`update-orchestrator ${VERSION} listening on ${url}  (${app.store.handle.describe})`, `  dashboard ${url}/   API docs ${url}/docs   health ${url}/healthz`];
      const tokenFile = path.join(config.dataDir, 'admin.token');
      if (firstToken) lines.push('', `First start: created an admin token (saved to ${tokenFile}, shown only now):`, '', `  ${firstToken}`, '', `Use it:  export ORCHESTRATOR_TOKEN=$(cat ${tokenFile})`);
      else lines.push(`  token: use an existing one, or create one: orchestrator tokens create --role admin --data ${config.dataDir}`);
      process.stdout.write(lines.join('\n') + '\n');
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        app.logger.info({ signal }, 'shutting down');
        const force = setTimeout(() => process.exit(1), 10_000);
        force.unref();
        await app.close();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
    });
}
