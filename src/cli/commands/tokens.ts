// `orchestrator tokens`: create, list and revoke operator tokens, through the API or, with --data,
// directly in the database while the server is stopped.
import type { Command } from 'commander';
import { NotFoundError, ROLES, systemClock, type Role } from '../../core/index.js';
import { loadConfig, sqliteFileFor } from '../../config.js';
import { EventLog, openStore, type Store, type TokenRecord } from '../../store/index.js';
import { TokenService } from '../../tokens/index.js';
import { ApiClient, CliError } from '../client.js';
import { printJson, printTable } from '../output.js';

interface Common {
  server?: string;
  token?: string;
  data?: string;
  json?: boolean;
}

async function withStore<T>(dataDir: string, fn: (store: Awaited<ReturnType<typeof openStore>>) => Promise<T>): Promise<T> {
  const config = loadConfig({ dataDir });
  const store = await openStore({ url: config.databaseUrl, sqliteFile: sqliteFileFor(config) });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** The token service over a store opened here (no server runs: no live listener, no auth cache). */
function offline(store: Store): TokenService {
  return new TokenService({ store, events: new EventLog(store.events, systemClock), clock: systemClock });
}

export function registerTokens(program: Command): void {
  const tokens = program.command('tokens').description('operator tokens (roles: admin, operator, viewer)');
  const common = (cmd: Command) =>
    cmd
      .option('--server <url>', 'server URL (env ORCHESTRATOR_URL)')
      .option('--token <token>', 'admin token (env ORCHESTRATOR_TOKEN)')
      .option('-d, --data <dir>', 'work on the database in this data directory directly (server may be stopped); uses ORCHESTRATOR_DATABASE_URL when set')
      .option('--json', 'print JSON');

  common(tokens.command('create'))
    .description('create an operator token; its secret is printed once')
    .requiredOption('-r, --role <role>', `one of ${ROLES.join(', ')}`)
    .option('-n, --name <name>', 'a name to recognise it by')
    .action(async (options: Common & { role: string; name?: string }) => {
      if (!(ROLES as readonly string[]).includes(options.role)) throw new CliError(`--role must be one of ${ROLES.join(', ')} (got '${options.role}')`, 2);
      const role = options.role as Role;
      const name = options.name ?? `${role}-token`;
      const created = options.data
        ? await withStore(options.data, (store) => offline(store).create({ role, name }, 'cli'))
        : await new ApiClient(options).request<{ token: string; role: string; id: string; name: string }>('POST', '/api/v1/tokens', { body: { role, name } });
      if (options.json) printJson({ token: created.token, role: created.role, id: created.id, name: created.name });
      else process.stdout.write(`${created.token}\n(role ${created.role}, id ${created.id}; shown only now, store it safely)\n`);
    });

  common(tokens.command('list'))
    .description('list tokens (never their secrets)')
    .action(async (options: Common) => {
      const items = options.data
        ? await withStore(options.data, (store) => store.tokens.list())
        : (await new ApiClient(options).request<{ items: TokenRecord[] }>('GET', '/api/v1/tokens')).items;
      if (options.json) printJson({ items });
      else printTable(items as unknown as Record<string, unknown>[], [{ key: 'id' }, { key: 'kind' }, { key: 'role' }, { key: 'name' }, { key: 'deviceId', header: 'DEVICE' }, { key: 'createdAt', header: 'CREATED' }, { key: 'revokedAt', header: 'REVOKED' }]);
    });

  common(tokens.command('revoke <id>'))
    .description('revoke a token by id')
    .action(async (id: string, options: Common) => {
      if (options.data) {
        await withStore(options.data, (store) => offline(store).revoke(id, 'cli')).catch((error: unknown) => {
          throw error instanceof NotFoundError ? new CliError(`no live token with id '${id}'`) : error;
        });
      } else await new ApiClient(options).request('DELETE', `/api/v1/tokens/${encodeURIComponent(id)}`);
      if (options.json) printJson({ revoked: id });
      else process.stdout.write(`revoked ${id}\n`);
    });
}
