// `orchestrator enrollment-keys`: fleet keys devices enroll with (create|list|revoke), admin only.
import type { Command } from 'commander';
import type { EnrollmentKeyRecord } from '../../store/index.js';
import { ApiClient, CliError } from '../client.js';
import { printJson, printTable } from '../output.js';
import { remoteOptions } from './devices.js';

interface Remote {
  server?: string;
  token?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerEnrollmentKeys(program: Command): void {
  const keys = program.command('enrollment-keys').description('keys devices use to enroll themselves (orchestrator agent --enrollment-key K)');

  remoteOptions(keys.command('create'))
    .description('create an enrollment key; its secret is printed once')
    .requiredOption('-n, --name <name>', 'a name to recognise it by')
    .option('--auto-accept', 'devices enrolling with it are accepted at once (otherwise they wait as pending)')
    .option('--max-uses <n>', 'how many devices may enroll with it', (v) => Number.parseInt(v, 10))
    .option('--expires-in <seconds>', 'lifetime in seconds', (v) => Number.parseInt(v, 10))
    .option('--location <location>', 'location given to enrolled devices')
    .option('--timezone <tz>', 'time zone given to enrolled devices')
    .option('--tag <key=value>', 'tag given to enrolled devices, repeatable', collect)
    .action(async (o: Remote & { name: string; autoAccept?: boolean; maxUses?: number; expiresIn?: number; location?: string; timezone?: string; tag?: string[] }) => {
      for (const [flag, value] of [['--max-uses', o.maxUses], ['--expires-in', o.expiresIn]] as const) {
        if (value !== undefined && (!Number.isInteger(value) || value < 1)) throw new CliError(`${flag} must be a positive whole number`, 2);
      }
      const tags: Record<string, string> = {};
      for (const t of o.tag ?? []) {
        const at = t.indexOf('=');
        if (at <= 0) throw new CliError(`--tag must be key=value (got '${t}')`, 2);
        tags[t.slice(0, at)] = t.slice(at + 1);
      }
      const defaults = { ...(o.location ? { location: o.location } : {}), ...(o.timezone ? { timezone: o.timezone } : {}), ...(o.tag ? { tags } : {}) };
      const created = await new ApiClient(o).request<EnrollmentKeyRecord & { key: string }>('POST', '/api/v1/enrollment-keys', {
        body: { name: o.name, autoAccept: o.autoAccept ?? false, defaults, maxUses: o.maxUses ?? null, expiresInSeconds: o.expiresIn ?? null },
      });
      if (o.json) printJson(created);
      else process.stdout.write(`${created.key}\n(id ${created.id}, ${created.autoAccept ? 'auto-accept' : 'devices wait for acceptance'}; shown only now)\n`);
    });

  remoteOptions(keys.command('list'))
    .description('list enrollment keys (never their secrets)')
    .action(async (o: Remote) => {
      const { items } = await new ApiClient(o).request<{ items: EnrollmentKeyRecord[] }>('GET', '/api/v1/enrollment-keys');
      if (o.json) printJson({ items });
      else printTable(items as unknown as Record<string, unknown>[], [{ key: 'id' }, { key: 'name' }, { key: 'autoAccept', header: 'AUTO' }, { key: 'uses' }, { key: 'maxUses', header: 'MAX' }, { key: 'expiresAt', header: 'EXPIRES' }, { key: 'revokedAt', header: 'REVOKED' }]);
    });

  remoteOptions(keys.command('revoke <id>'))
    .description('revoke an enrollment key')
    .action(async (id: string, o: Remote) => {
      await new ApiClient(o).request('DELETE', `/api/v1/enrollment-keys/${encodeURIComponent(id)}`);
      if (o.json) printJson({ revoked: id });
      else process.stdout.write(`revoked ${id}\n`);
    });
}
