// `orchestrator subscriptions`: where events go: webhooks (signed JSON, or Slack messages) and
// email recipients (through the server's SMTP settings).
import type { Command } from 'commander';
import { ApiClient, CliError } from '../client.js';
import { printJson, printTable } from '../output.js';
import { remoteOptions } from './devices.js';

interface Remote {
  server?: string;
  token?: string;
  json?: boolean;
}

const COLUMNS = [{ key: 'id' }, { key: 'name' }, { key: 'kind' }, { key: 'target', width: 60 }, { key: 'events', width: 40 }, { key: 'format' }, { key: 'hasSecret', header: 'SIGNED' }];
const row = (s: Record<string, unknown>) => ({
  ...s,
  target: s.kind === 'email' ? (s.to as string[]).join(', ') : s.url,
  format: s.kind === 'email' ? 'text' : s.format,
  events: (s.events as string[]).join(',') || '(default)',
});
const collect = (value: string, previous: string[] = []) => [...previous, ...value.split(',').map((v) => v.trim()).filter(Boolean)];

export function registerSubscriptions(program: Command): void {
  const subs = program.command('subscriptions').description('where events go: webhooks and email (create, list, rm)');

  remoteOptions(subs.command('create'))
    .description('send events to a URL (POSTed as JSON, signed with HMAC-SHA256 in X-Orchestrator-Signature-256 when --secret is given) or by email (plain text, through the server\'s SMTP settings: ORCHESTRATOR_SMTP_URL)')
    .option('--url <url>', 'webhook: http(s) URL that receives the events')
    .option('--email <address>', 'email: a recipient, repeatable or comma-separated (at most 20)', collect)
    .option('--events <types>', 'comma-separated types or prefixes (default rollout.*; slack and email: rollout.paused,rollout.failed,rollout.completed)')
    .option('--secret <secret>', 'webhook: HMAC key (8-256 characters); prefer env ORCHESTRATOR_SUBSCRIPTION_SECRET')
    .option('--format <format>', 'webhook: json or slack (default json)')
    .option('--name <name>', 'a label')
    .addHelpText('after', '\nExamples:\n  orchestrator subscriptions create --url https://hooks.example/orchestrator --events rollout.*,execution.failed --secret S\n  orchestrator subscriptions create --email ops@example.com --email oncall@example.com --events rollout.paused,rollout.failed,execution.failed')
    .action(async (o: Remote & { url?: string; email?: string[]; events?: string; secret?: string; format?: string; name?: string }) => {
      if (!o.url === !o.email) throw new CliError('give --url URL (a webhook) or --email ADDRESS (email), one of the two', 2);
      const events = o.events ? { events: o.events.split(',').map((e) => e.trim()).filter(Boolean) } : {};
      const name = o.name ? { name: o.name } : {};
      let body: Record<string, unknown>;
      if (o.email) {
        if (o.secret || o.format) throw new CliError('--secret and --format are for webhooks; email is plain text', 2);
        body = { kind: 'email', to: o.email, ...name, ...events };
      } else {
        const secret = o.secret ?? process.env.ORCHESTRATOR_SUBSCRIPTION_SECRET;
        body = { url: o.url, format: o.format ?? 'json', ...name, ...(secret ? { secret } : {}), ...events };
      }
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
