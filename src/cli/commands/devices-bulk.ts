// `orchestrator devices bulk <action>`: one action on a selection (--group, --filter or --ids),
// within one tenant. It first asks the server how many devices the action would touch (a dry
// run), then asks for confirmation on a terminal; --yes skips the question, and without a
// terminal --yes is required.
import readline from 'node:readline/promises';
import type { Command } from 'commander';
import { ApiClient, CliError } from '../client.js';
import { printJson } from '../output.js';

/**
 * A filter given on the command line: a JSON object ('{"tag":"ring=beta"}') or the device list's
 * query string ('tag=ring=beta&status=online'; a repeated key is a list).
 */
export function parseFilterFlag(text: string): Record<string, unknown> {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      const value = JSON.parse(trimmed) as unknown;
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // reported below
    }
    throw new CliError(`--filter must be a JSON object or key=value&key=value (got '${text}')`, 2);
  }
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(trimmed)) {
    const had = out[key];
    out[key] = had === undefined ? value : [...(Array.isArray(had) ? had : [had]), value];
  }
  if (Object.keys(out).length === 0) throw new CliError(`--filter must name at least one key, like tag=ring=beta (got '${text}')`, 2);
  return out;
}

interface BulkResult {
  action: string;
  tenant: string;
  count: number;
  dryRun: boolean;
  eventId: number | null;
}

type Flags = { server?: string; token?: string; json?: boolean; group?: string; filter?: string; ids?: string[]; tenant?: string; tag?: string[]; key?: string[]; location?: string; deviceType?: string; clear?: boolean; yes?: boolean; dryRun?: boolean };

const ACTIONS = ['tag', 'untag', 'set-location', 'set-device-type', 'decommission'];
const collect = (value: string, previous: string[] = []) => [...previous, value];

function change(action: string, o: Flags): Record<string, unknown> {
  switch (action) {
    case 'tag': {
      if (!o.tag?.length) throw new CliError('tag needs --tag key=value (repeatable)', 2);
      const tags: Record<string, string> = {};
      for (const t of o.tag) {
        const at = t.indexOf('=');
        if (at <= 0) throw new CliError(`--tag must be key=value (got '${t}')`, 2);
        tags[t.slice(0, at)] = t.slice(at + 1);
      }
      return { tags };
    }
    case 'untag':
      if (!o.key?.length) throw new CliError('untag needs --key <tag key> (repeatable)', 2);
      return { keys: o.key };
    case 'set-location':
      if (o.location === undefined && !o.clear) throw new CliError('set-location needs --location <text> (or --clear)', 2);
      return { location: o.clear ? null : o.location };
    case 'set-device-type':
      if (o.deviceType === undefined && !o.clear) throw new CliError('set-device-type needs --device-type <type> (or --clear)', 2);
      return { deviceType: o.clear ? null : o.deviceType };
    case 'decommission':
      return {};
    default:
      throw new CliError(`unknown bulk action '${action}': one of ${ACTIONS.join(', ')}`, 2);
  }
}

function selection(o: Flags): Record<string, unknown> {
  const given = [o.group !== undefined, o.filter !== undefined, o.ids !== undefined].filter(Boolean).length;
  if (given !== 1) throw new CliError('select the devices with exactly one of --group G, --filter F or --ids a,b,c', 2);
  if (o.group !== undefined) return { group: o.group };
  if (o.filter !== undefined) return { filter: parseFilterFlag(o.filter) };
  return { ids: o.ids!.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean) };
}

async function confirm(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export function registerDevicesBulk(devices: Command, remoteOptions: (cmd: Command) => Command): void {
  remoteOptions(devices.command('bulk <action>'))
    .description(`one action on many devices: ${ACTIONS.join(', ')}. Shows how many devices it touches and asks before it runs (--yes to skip; required without a terminal)`)
    .option('--group <group>', 'select a saved group (name or id)')
    .option('--filter <filter>', 'select by device filter: key=value&key=value (tag=ring=beta&status=online) or a JSON object')
    .option('--ids <ids...>', 'select these device ids (space- or comma-separated, at most 10000)')
    .option('--tenant <tenant>', 'only devices of this tenant are touched', 'DEFAULT')
    .option('--tag <key=value>', 'tag: a tag to set, repeatable', collect)
    .option('--key <key>', 'untag: a tag key to remove, repeatable', collect)
    .option('--location <location>', 'set-location: the new location')
    .option('--device-type <type>', 'set-device-type: the new device type (e.g. rpi4)')
    .option('--clear', 'set-location, set-device-type: clear the location or the device type')
    .option('--dry-run', 'only show how many devices it would touch')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (action: string, o: Flags) => {
      const body = { action, tenant: o.tenant, ...selection(o), ...change(action, o) };
      const client = new ApiClient(o);
      const dry = await client.request<BulkResult>('POST', '/api/v1/devices/bulk', { query: { dryRun: 'true' }, body });
      if (o.dryRun) {
        if (o.json) printJson(dry);
        else process.stdout.write(`${action} would touch ${dry.count} device(s) of tenant ${dry.tenant}\n`);
        return;
      }
      if (dry.count === 0) {
        if (o.json) printJson(dry);
        else process.stdout.write(`no device matches: nothing to ${action}\n`);
        return;
      }
      if (!o.yes) {
        if (!process.stdin.isTTY) throw new CliError(`${action} would touch ${dry.count} device(s); not asking without a terminal: pass --yes to run it`, 2);
        if (!(await confirm(`${action} ${dry.count} device(s) of tenant ${dry.tenant}? [y/N] `))) throw new CliError('cancelled: nothing changed', 1);
      }
      const result = await client.request<BulkResult>('POST', '/api/v1/devices/bulk', { body });
      if (o.json) printJson(result);
      else process.stdout.write(`${action}: ${result.count} device(s) of tenant ${result.tenant} (audit event ${result.eventId})\n`);
    });
}
