// `orchestrator groups`: saved device groups, static (a list of devices) or dynamic (a saved
// filter). Any device filter names one with group=<name or id> (devices list --group, rollouts
// create --group, devices bulk --group).
import type { Command } from 'commander';
import { ApiClient, CliError } from '../client.js';
import { printJson, printTable } from '../output.js';
import { parseFilterFlag } from './devices-bulk.js';
import { remoteOptions } from './devices.js';

interface Remote {
  server?: string;
  token?: string;
  json?: boolean;
}

interface GroupView {
  id: string;
  tenant: string;
  name: string;
  kind: 'static' | 'dynamic';
  filter: Record<string, unknown> | null;
  members: number;
}

const COLUMNS = [{ key: 'id' }, { key: 'name', width: 32 }, { key: 'kind' }, { key: 'tenant' }, { key: 'members' }, { key: 'filter', width: 60 }];
const row = (g: GroupView) => ({ ...g, filter: g.filter ? new URLSearchParams(Object.entries(g.filter).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => [k, String(x)]))).toString() : '' });

const ids = (values: string[]) => values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
const path = (ref: string) => `/api/v1/groups/${encodeURIComponent(ref)}`;

export function registerGroups(program: Command): void {
  const groups = program.command('groups').description('saved device groups: static (listed devices) or dynamic (a saved filter), usable as --group wherever a filter is');

  remoteOptions(groups.command('create <name>'))
    .description('create a group: --filter F makes it dynamic (whoever matches F now), else static (the devices given)')
    .option('--filter <filter>', 'dynamic: the device list filter, as key=value&key=value (tag=ring=beta&status=online) or a JSON object')
    .option('--device <ids...>', 'static: its first devices (ids, space- or comma-separated)')
    .option('--tenant <tenant>', 'the tenant whose devices it holds', 'DEFAULT')
    .action(async (name: string, o: Remote & { filter?: string; device?: string[]; tenant: string }) => {
      if (o.filter && o.device) throw new CliError('give --filter (a dynamic group) or --device (a static group), not both', 2);
      const body = o.filter ? { name, kind: 'dynamic', tenant: o.tenant, filter: parseFilterFlag(o.filter) } : { name, kind: 'static', tenant: o.tenant, devices: ids(o.device ?? []) };
      const group = await new ApiClient(o).request<GroupView>('POST', '/api/v1/groups', { body });
      if (o.json) printJson(group);
      else printTable([row(group)], COLUMNS);
    });

  remoteOptions(groups.command('list'))
    .description('list groups with their live member counts')
    .option('--tenant <tenant>', 'only this tenant’s groups')
    .action(async (o: Remote & { tenant?: string }) => {
      const client = new ApiClient(o);
      const items: GroupView[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.request<{ items: GroupView[]; nextCursor: string | null }>('GET', '/api/v1/groups', { query: { tenant: o.tenant, limit: 200, cursor } });
        items.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      if (o.json) printJson({ items });
      else printTable(items.map(row), COLUMNS);
    });

  remoteOptions(groups.command('get <group>'))
    .description('show one group (by name or id) with its live member count; its devices: devices list --group <group>')
    .option('--tenant <tenant>', 'the tenant, when several have a group of that name')
    .action(async (ref: string, o: Remote & { tenant?: string }) => {
      const group = await new ApiClient(o).request<GroupView>('GET', path(ref), { query: { tenant: o.tenant } });
      if (o.json) printJson(group);
      else printTable([row(group)], COLUMNS);
    });

  for (const verb of ['add', 'remove'] as const) {
    remoteOptions(groups.command(`${verb} <group> <ids...>`))
      .description(verb === 'add' ? 'add devices to a static group' : 'remove devices from a static group')
      .option('--tenant <tenant>', 'the tenant, when several have a group of that name')
      .action(async (ref: string, list: string[], o: Remote & { tenant?: string }) => {
        const group = await new ApiClient(o).request<GroupView>('PATCH', path(ref), { query: { tenant: o.tenant }, body: { [verb]: ids(list) } });
        if (o.json) printJson(group);
        else process.stdout.write(`${group.name}: ${group.members} member(s)\n`);
      });
  }

  remoteOptions(groups.command('rm <group>'))
    .description('delete a group (refused while an unfinished rollout or a policy names it); its devices stay')
    .option('--tenant <tenant>', 'the tenant, when several have a group of that name')
    .action(async (ref: string, o: Remote & { tenant?: string }) => {
      await new ApiClient(o).request('DELETE', path(ref), { query: { tenant: o.tenant } });
      if (o.json) printJson({ removed: ref });
      else process.stdout.write(`removed group ${ref}\n`);
    });
}
