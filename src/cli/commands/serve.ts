// `orchestrator serve`: the server with its embedded defaults (SQLite under ./data, port 8080).
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { createApp } from '../../app.js';
import { loadConfig } from '../../config.js';
import { insecureSettings } from '../../config-warnings.js';
import { VERSION } from '../../version.js';

/** On first start (no operator token yet) creates an admin token and says where it is. */
async function ensureAdminToken(app: Awaited<ReturnType<typeof createApp>>): Promise<string | null> {
  if ((await app.store.tokens.countOperators()) > 0) return null;
  const { token } = await app.tokens.create({ role: 'admin', name: 'first-admin' }, 'system');
  const file = path.join(app.config.dataDir, 'admin.token');
  fs.writeFileSync(file, token + '\n', { mode: 0o600 });
  return token;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the server: REST API, device API, engine, dashboard (SQLite under --data unless ORCHESTRATOR_DATABASE_URL is set)')
    .option('-p, --port <port>', 'port to listen on', (v) => Number.parseInt(v, 10))
    .option('--host <host>', 'address to listen on (default: loopback only, 127.0.0.1 and ::1; 0.0.0.0 for every interface, behind a TLS proxy)')
    .option('-d, --data <dir>', 'data directory: SQLite database, artifacts (default ./data)')
    .addHelpText(
      'after',
      [
        '',
        'Closed by default: loopback only (--host / ORCHESTRATOR_HOST to expose it), registry webhooks refused until',
        'ORCHESTRATOR_WEBHOOK_SECRET is set, X-Forwarded-For believed only from ORCHESTRATOR_TRUSTED_PROXIES.',
        'Every insecure opt-in in force is logged as a warning at start. See docs/security.md.',
        '',
        'Environment: ORCHESTRATOR_DATABASE_URL=postgres://... uses PostgreSQL; ORCHESTRATOR_LOG_LEVEL, ORCHESTRATOR_PORT, ORCHESTRATOR_DATA.',
        'See docs/operations.md for every setting.',
      ].join('\n'),
    )
    .action(async (options: { port?: number; host?: string; data?: string }) => {
      if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)) throw new Error('--port must be a number from 0 to 65535');
      const config = loadConfig({ port: options.port, host: options.host, dataDir: options.data });
      const app = await createApp(config);
      const firstToken = await ensureAdminToken(app);
      const url = await app.listen();
      // One write, so whoever reads the first line has the whole banner.
      const lines = [`update-orchestrator ${VERSION} listening on ${app.urls.join(' and ')}  (${app.store.handle.describe})`];
      if (config.host === undefined) lines.push('  loopback only: other machines cannot connect. To expose it: --host 0.0.0.0 (or ORCHESTRATOR_HOST), behind a TLS proxy (docs/security.md)');
      lines.push(`  dashboard ${url}/   API docs ${url}/docs   health ${url}/healthz`);
      for (const warning of insecureSettings(config)) lines.push(`  warning: ${warning.setting}: ${warning.message}`);
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
