// `orchestrator subscriptions`: outbound webhooks that receive signed events (or Slack messages).
import type { Command } from 'commander';
import { ApiClient } from '../client.js';
import { printJson, printTable } from '../output.js';
import { remoteOptions } from './devices.js';

interface Remote {
  server?: string;
  token?: string;
  json?: boolean;
}

const COLUMNS = [{ key: 'id' }, { key: 'name' }, { key: 'url', width: 50 }, { key: 'events', width: 40 }, { key: 'format' }, { key: 'hasSecret', header: 'SIGNED' }];
const row = (s: Record<string, unknown>) => ({ ...s, events: (s.events as string[]).join(',') || '(default)' });

export function registerSubscriptions(program: Command): void {
  const subs = program.command('subscriptions').description('outbound event webhooks: create, list, rm');

  remoteOptions(subs.command('create'))
    .description('POST events to a URL, signed with HMAC-SHA256 (X-Orchestrator-Signature-256) when --secret is given')
    .requiredOption('--url <url>', 'http(s) URL that receives the events')
    .option('--events <types>', 'comma-separated types or prefixes (default rollout.*; slack: rollout.paused,rollout.failed,rollout.completed)')
    .option('--secret <secret>', 'HMAC key (8-256 characters); prefer env ORCHESTRATOR_SUBSCRIPTION_SECRET')
    .option('--format <format>', 'json or slack', 'json')
    .option('--name <name>', 'a label')
    .action(async (o: Remote & { url: string; events?: string; secret?: string; format: string; name?: string }) => {
      const secret = o.secret ?? process.env.ORCHESTRATOR_SUBSCRIPTION_SECRET;
      const body = { url: o.url, format: o.format, ...(o.name ? { name: o.name } : {}), ...(secret ? { secret } : {}), ...(o.events ? { events: o.events.split(',').map((e) => e.trim()).filter(Boolean) } : {}) };
      const created = await new ApiClient(o).request<Record<string, unknown>>('POST', '/api/v1/subscriptions', { body });
      if (o.json) printJson(created);
      else printTable([row(created)], COLUMNS);
    });

  remoteOptions(subs.command('list'))
    .description('list subscriptions (secrets are never shown)')
    .action(async (o: Remote) => {
      const { items } = await new ApiClient(o).request<{ items: Record<string, unknown>[] }>('GET', '/api/v1/subscriptions');
      if (o.json) printJson({ items });
      else printTable(items.map(row), COLUMNS);
    });

  remoteOptions(subs.command('rm <id>'))
    .description('remove a subscription')
    .action(async (id: string, o: Remote) => {
      await new ApiClient(o).request('DELETE', `/api/v1/subscriptions/${encodeURIComponent(id)}`);
      if (o.json) printJson({ removed: id });
      else process.stdout.write(`removed ${id}\n`);
    });
}
