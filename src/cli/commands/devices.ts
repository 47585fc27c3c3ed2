// `orchestrator devices`: the registry from the command line.
import fs from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { Device } from '../../core/index.js';
import { ApiClient, CliError } from '../client.js';
import { printJson, printRecord, printTable } from '../output.js';
import { registerDevicesBulk } from './devices-bulk.js';

interface Remote {
  server?: string;
  token?: string;
  json?: boolean;
}

export const remoteOptions = (cmd: Command) =>
  cmd.option('--server <url>', 'server URL (env ORCHESTRATOR_URL, default http://127.0.0.1:8080)').option('--token <token>', 'bearer token (env ORCHESTRATOR_TOKEN)').option('--json', 'print JSON for scripts');

const collect = (value: string, previous: string[] = []) => [...previous, value];

const filterOptions = (cmd: Command) =>
  cmd
    .option('--status <status>', 'online, offline or unknown (comma-separated for several)')
    .option('--mode <mode>', 'pull, http or ssh')
    .option('--location <location>', 'exact location')
    .option('--version <range>', 'full version (exact), partial version (2.0 = 2.0.x) or semver range, e.g. "<2.0.0" or ">=1.2 <2"')
    .option('--tag <key=value>', 'tag filter, key=value or key:value, repeatable (all must match)', collect)
    .option('-q, --q <text>', 'substring of id or name')
    .option('--last-seen-before <iso>', 'last seen before this instant')
    .option('--last-seen-after <iso>', 'last seen after this instant')
    .option('--tenant <tenant>', 'hawkBit tenant (comma-separated for several)')
    .option('--device-type <type>', 'device type, exact (comma-separated for several)')
    .option('--decommissioned', 'decommissioned devices instead of those in service')
    .option('--group <group>', 'members of a saved group (name or id)');

type FilterFlags = { group?: string; status?: string; mode?: string; location?: string; version?: string; tag?: string[]; q?: string; lastSeenBefore?: string; lastSeenAfter?: string; tenant?: string; deviceType?: string; decommissioned?: boolean };
const filterQuery = (o: FilterFlags) => ({
  status: o.status,
  mode: o.mode,
  location: o.location,
  version: o.version,
  tag: o.tag,
  q: o.q,
  lastSeenBefore: o.lastSeenBefore,
  lastSeenAfter: o.lastSeenAfter,
  tenant: o.tenant,
  deviceType: o.deviceType,
  decommissioned: o.decommissioned ? 'true' : undefined,
  group: o.group,
});

const DEVICE_COLUMNS = [
  { key: 'id' },
  { key: 'name', width: 24 },
  { key: 'status' },
  { key: 'mode' },
  { key: 'version' },
  { key: 'deviceType', header: 'TYPE' },
  { key: 'location', width: 20 },
  { key: 'lastSeen', header: 'LAST SEEN' },
  { key: 'tags', width: 40 },
];

function parseTagFlags(values: string[] = []): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const value of values) {
    const at = value.search(/[=:]/);
    if (at <= 0) throw new CliError(`--tag must be key=value (got '${value}')`, 2);
    tags[value.slice(0, at)] = value.slice(at + 1);
  }
  return tags;
}

function formatFromFile(file: string, explicit?: string): 'csv' | 'ndjson' {
  if (explicit === 'csv' || explicit === 'ndjson') return explicit;
  if (explicit) throw new CliError(`--format must be csv or ndjson (got '${explicit}')`, 2);
  if (/\.(ndjson|jsonl)$/i.test(file)) return 'ndjson';
  if (/\.csv$/i.test(file)) return 'csv';
  throw new CliError(`cannot tell the format of '${file}' from its name: pass --format csv or --format ndjson`, 2);
}

export function registerDevices(program: Command): void {
  const devices = program.command('devices').description('the device registry: add, list, get, decommission, import, export');

  remoteOptions(devices.command('add <id>'))
    .description('register a device')
    .option('--name <name>', 'display name (default: the id)')
    .option('--mode <mode>', 'pull (agent polls), http (push by POST) or ssh (push by SFTP)', 'pull')
    .option('--address <address>', 'http(s)://host:port/path for http; ssh://user@host:22/dir for ssh')
    .option('--status <status>', 'online, offline or unknown')
    .option('--device-version <version>', 'the version the device runs now')
    .option('--location <location>', 'where it is')
    .option('--timezone <tz>', 'IANA time zone for maintenance windows', 'UTC')
    .option('--tag <key=value>', 'a tag, repeatable', collect)
    .option('--metadata <json>', 'a JSON object of extra data; push credentials go under "auth" ({"auth":{"bearerToken":"..."}}), are stored encrypted and shown as "[set]"')
    .option('--tenant <tenant>', 'hawkBit tenant: its DDI URL and the gateway token that may speak for it', 'DEFAULT')
    .option('--device-type <type>', 'hardware type releases match against, e.g. rpi4')
    .action(async (id: string, o: Remote & { name?: string; mode: string; address?: string; status?: string; deviceVersion?: string; location?: string; timezone: string; tag?: string[]; metadata?: string; tenant: string; deviceType?: string }) => {
      let metadata: unknown;
      if (o.metadata) {
        try {
          metadata = JSON.parse(o.metadata);
        } catch {
          throw new CliError('--metadata must be a JSON object, e.g. \'{"priority":"high"}\'', 2);
        }
      }
      const body = { id, name: o.name, mode: o.mode, address: o.address, status: o.status, version: o.deviceVersion, location: o.location, timezone: o.timezone, tags: parseTagFlags(o.tag), metadata, tenant: o.tenant, deviceType: o.deviceType };
      const device = await new ApiClient(o).request<Device>('POST', '/api/v1/devices', { body: JSON.parse(JSON.stringify(body)) });
      if (o.json) printJson(device);
      else printTable([device as unknown as Record<string, unknown>], DEVICE_COLUMNS);
    });

  filterOptions(remoteOptions(devices.command('list')))
    .description('list devices matching filters (combined with AND)')
    .option('--limit <n>', 'page size (1-1000)', (v) => Number.parseInt(v, 10), 100)
    .option('--cursor <cursor>', 'continue after a previous page')
    .option('--all', 'follow cursors and list every matching device')
    .action(async (o: Remote & FilterFlags & { limit: number; cursor?: string; all?: boolean }) => {
      const client = new ApiClient(o);
      const items: Device[] = [];
      let cursor = o.cursor;
      let total = 0;
      let nextCursor: string | null = null;
      do {
        const page = await client.request<{ items: Device[]; nextCursor: string | null; total: number }>('GET', '/api/v1/devices', { query: { ...filterQuery(o), limit: o.limit, cursor } });
        items.push(...page.items);
        total = page.total;
        nextCursor = page.nextCursor;
        cursor = page.nextCursor ?? undefined;
      } while (o.all && cursor);
      if (o.json) printJson({ items, nextCursor: o.all ? null : nextCursor, total });
      else {
        printTable(items as unknown as Record<string, unknown>[], DEVICE_COLUMNS);
        process.stdout.write(`\n${items.length} shown of ${total}${nextCursor && !o.all ? `; next page: --cursor ${nextCursor}` : ''}\n`);
      }
    });

  remoteOptions(devices.command('get <id>'))
    .description('show one device')
    .action(async (id: string, o: Remote) => {
      const device = await new ApiClient(o).request<Device>('GET', `/api/v1/devices/${encodeURIComponent(id)}`);
      if (o.json) printJson(device);
      else printRecord(device);
    });

  remoteOptions(devices.command('decommission <id>').alias('rm'))
    .description(
      'decommission a device: revoke at once, on every server, its device token (also its hawkBit TargetToken), its Mender auth sets and JWTs; end its unfinished executions (skipped or cancelled, so rollouts do not wait for it). Its executions, events and reports stay readable (devices list --decommissioned); the id cannot be used again',
    )
    .action(async (id: string, o: Remote) => {
      const client = new ApiClient(o);
      await client.request('DELETE', `/api/v1/devices/${encodeURIComponent(id)}`);
      const device = await client.request<Device>('GET', `/api/v1/devices/${encodeURIComponent(id)}`);
      if (o.json) printJson({ decommissioned: id, decommissionedAt: device.decommissionedAt });
      else process.stdout.write(`decommissioned ${id} at ${device.decommissionedAt}: its credentials no longer work; its history stays\n`);
    });

  remoteOptions(devices.command('import <file>'))
    .description('import (upsert) devices from a CSV or NDJSON file, streamed; nothing is written if a row is bad unless --skip-invalid, and nothing at all if a row is longer than the server\'s row limit (1 MiB unless ORCHESTRATOR_IMPORT_MAX_ROW_BYTES says otherwise)')
    .option('--format <format>', 'csv or ndjson (default: from the file name)')
    .option('--skip-invalid', 'write the good rows and list the bad ones')
    .option('--no-progress', 'no progress bar')
    .action(async (file: string, o: Remote & { format?: string; skipInvalid?: boolean; progress: boolean }) => {
      const format = formatFromFile(file, o.format);
      let size: number;
      try {
        size = fs.statSync(file).size;
      } catch {
        throw new CliError(`cannot read '${file}': no such file`, 2);
      }
      const showBar = o.progress && !o.json && process.stderr.isTTY;
      const bar = showBar ? new cliProgress.SingleBar({ format: 'uploading [{bar}] {percentage}% {value}/{total} bytes', stream: process.stderr }, cliProgress.Presets.shades_classic) : null;
      bar?.start(size, 0);
      let sent = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          sent += chunk.length;
          bar?.update(sent);
          done(null, chunk);
        },
      });
      const body = fs.createReadStream(file).pipe(counter);
      try {
        const result = await new ApiClient(o).request<{ rows: number; created: number; updated: number; skipped: number; invalid: { line: number; message: string }[] }>('POST', '/api/v1/devices/import', {
          query: { format, skipInvalid: o.skipInvalid ? 'true' : undefined },
          raw: { stream: body, contentType: format === 'csv' ? 'text/csv' : 'application/x-ndjson', length: size },
        });
        bar?.stop();
        if (o.json) printJson(result);
        else {
          process.stdout.write(`imported ${path.basename(file)}: ${result.rows} rows, ${result.created} created, ${result.updated} updated, ${result.skipped} skipped\n`);
          for (const p of result.invalid.slice(0, 50)) process.stdout.write(`  line ${p.line}: ${p.message}\n`);
          if (result.invalid.length > 50) process.stdout.write(`  ... and ${result.invalid.length - 50} more (use --json for all)\n`);
        }
      } catch (error) {
        bar?.stop();
        throw error;
      }
    });

  filterOptions(remoteOptions(devices.command('export')))
    .description('export devices (all, or those matching filters) as CSV or NDJSON')
    .option('--format <format>', 'csv or ndjson', 'csv')
    .option('-o, --out <file>', 'write to this file instead of standard output')
    .action(async (o: Remote & FilterFlags & { format: string; out?: string }) => {
      if (o.format !== 'csv' && o.format !== 'ndjson') throw new CliError(`--format must be csv or ndjson (got '${o.format}')`, 2);
      const response = await new ApiClient(o).fetch('GET', '/api/v1/devices/export', { query: { ...filterQuery(o), format: o.format } });
      if (!response.body) throw new CliError('the server sent no body');
      const source = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream);
      await pipeline(source, o.out ? fs.createWriteStream(o.out) : process.stdout);
      if (o.out) process.stderr.write(`wrote ${o.out}\n`);
    });

  registerDevicesBulk(devices, remoteOptions);

  // Device identity for pull agents (see orchestrator agent): tokens and enrollment decisions.
  remoteOptions(devices.command('token <id>'))
    .description('issue a new bearer token for a device (its previous tokens stop working); printed once')
    .action(async (id: string, o: Remote) => {
      const created = await new ApiClient(o).request<{ token: string; deviceId: string }>('POST', `/api/v1/devices/${encodeURIComponent(id)}/token`);
      if (o.json) printJson({ token: created.token, deviceId: created.deviceId });
      else process.stdout.write(`${created.token}\n(device ${created.deviceId}; shown only now: orchestrator agent --device ${created.deviceId} --token ...)\n`);
    });

  for (const action of ['accept', 'reject'] as const) {
    remoteOptions(devices.command(`${action} <id>`))
      .description(action === 'accept' ? 'accept a device that enrolled itself (it then gets updates)' : 'reject an enrolled device and revoke its tokens')
      .action(async (id: string, o: Remote) => {
        const result = await new ApiClient(o).request<{ deviceId: string; enrollment: string }>('POST', `/api/v1/devices/${encodeURIComponent(id)}/${action}`);
        if (o.json) printJson(result);
        else process.stdout.write(`${result.deviceId}: ${result.enrollment}\n`);
      });
  }
}
