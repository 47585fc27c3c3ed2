// `npm run bench -- registry [--devices N] [--db sqlite,postgres]`: generates N devices as CSV,
// imports them through the HTTP import endpoint, then times 200 filtered page queries (page of
// 100, mixed filters, following cursors) through the HTTP API, then bulk-tags the members of a
// dynamic group (region=west, a fifth of the fleet) in one request. One JSON line per database.
// Pages are fetched with undici's request(), the lightest client at hand: WHATWG fetch added about
// 1.7 ms of client work per request on the 2-core machine the figures come from.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { createApp } from '../app.js';
import { loadConfig } from '../config.js';
import { createTestDatabase, postgresUnavailable } from '../testing/postgres.js';

const REGIONS = ['west', 'east', 'central', 'south', 'north'];
const ZONES = ['America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles', 'America/Phoenix'];
// Co-prime moduli below keep every attribute independent, so combined filters match something.
const VERSIONS = ['1.8.0', '1.9.3', '2.0.0', '2.1.0', '2.4.1', '2.5.0', '3.0.0-rc.1'];

function arg(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
}

async function generateCsv(file: string, devices: number): Promise<void> {
  const out = fs.createWriteStream(file);
  out.write('id,name,address,mode,status,lastSeen,version,location,timezone,tags,metadata\n');
  let chunk = '';
  for (let i = 0; i < devices; i++) {
    const status = ['online', 'online', 'offline', 'unknown'][i % 4];
    const seen = new Date(Date.UTC(2026, 9, 1) + (i % 1000) * 3_600_000).toISOString();
    chunk += `dev-${String(i).padStart(7, '0')},Store ${i % 5003} terminal ${i % 9},,pull,${status},${seen},${VERSIONS[i % VERSIONS.length]},store-${i % 5003},${ZONES[i % 5]},region=${REGIONS[i % 5]};tier=${i % 11 === 0 ? 'gold' : 'std'},\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      chunk = '';
    }
  }
  out.write(chunk);
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
}

const FILTERS = [
  'status=online',
  'status=online&tag=region:west',
  'tag=region:east&version=%3C2.0.0',
  'version=%3E%3D2.0.0%20%3C3',
  'location=store-42',
  'status=offline&tag=tier:gold',
  'q=terminal%203',
  'lastSeenAfter=2026-10-20T00:00:00Z&status=online',
  'tag=region:central&tag=tier:gold&status=online',
  'version=2.4.1&status=unknown',
];

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function runOne(db: 'sqlite' | 'postgres', devices: number, csvFile: string): Promise<Record<string, unknown>> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-bench-registry-'));
  const pg = db === 'postgres' ? await createTestDatabase('uo_bench') : null;
  // The generated devices were last seen weeks ago; keep the offline sweep (measured elsewhere)
  // from rewriting half of them during the measurement.
  const config = loadConfig({ dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent', offlineAfterMissedPolls: 1e9 }, { ...process.env, ORCHESTRATOR_DATABASE_URL: pg?.url ?? '' });
  const app = await createApp(config, { logger: false });
  try {
    const { token } = await app.store.tokens.create({ kind: 'operator', role: 'admin', name: 'bench' }, Date.now());
    const url = await app.listen();
    const headers = { authorization: `Bearer ${token}` };
    const size = fs.statSync(csvFile).size;
    const t0 = performance.now();
    const response = await fetch(`${url}/api/v1/devices/import?format=csv`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'text/csv', 'content-length': String(size) },
      body: fs.createReadStream(csvFile) as unknown as BodyInit,
      duplex: 'half',
    } as RequestInit);
    const result = (await response.json()) as { created: number };
    const importSeconds = (performance.now() - t0) / 1000;
    if (result.created !== devices) throw new Error(`import created ${result.created} of ${devices}: ${JSON.stringify(result).slice(0, 300)}`);

    const getPage = async (query: string) => {
      const r = await request(`${url}/api/v1/devices?${query}`, { headers });
      return { status: r.statusCode, body: (await r.body.json()) as { nextCursor: string | null; items: unknown[] } };
    };
    // A few pages of a filter not measured below, so the request path is compiled by the JIT as
    // in a server that has been running, not interpreted during the first measured pages.
    for (let i = 0; i < 20; i++) await getPage('location=store-7&limit=100');

    // 200 page queries: 10 filters x (first page + following cursors), page size 100.
    const latencies: number[] = [];
    const cold: number[] = [];
    let errors = 0;
    for (let round = 0; latencies.length < 200; round++) {
      const filter = FILTERS[round % FILTERS.length]!;
      let cursor: string | null = null;
      for (let page = 0; page < 4 && latencies.length < 200; page++) {
        const start = performance.now();
        const { status, body } = await getPage(`${filter}&limit=100${cursor ? `&cursor=${cursor}` : ''}`);
        latencies.push(performance.now() - start);
        if (process.env.BENCH_TRACE) console.error(filter, page, (performance.now() - start).toFixed(1));
        // The first page of a filter also counts its total (then cached); report those apart too.
        if (round < FILTERS.length && page === 0) cold.push(performance.now() - start);
        if (status !== 200) errors++;
        cursor = body.nextCursor;
        if (!cursor) break;
      }
    }
    // A bulk action: tag every device of a dynamic group, one request, one transaction.
    const post = async (urlPath: string, body: unknown) => {
      const r = await request(`${url}${urlPath}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const json = (await r.body.json()) as Record<string, unknown>;
      if (r.statusCode >= 300) throw new Error(`POST ${urlPath}: ${r.statusCode} ${JSON.stringify(json).slice(0, 300)}`);
      return json;
    };
    const group = await post('/api/v1/groups', { name: 'bench-west', kind: 'dynamic', filter: { tag: 'region=west' } });
    const b0 = performance.now();
    const bulk = await post('/api/v1/devices/bulk', { action: 'tag', group: 'bench-west', tags: { wave: 'bench' } });
    const bulkSeconds = (performance.now() - b0) / 1000;
    if (bulk.count !== group.members) throw new Error(`bulk tag touched ${String(bulk.count)} of the group's ${String(group.members)} devices`);
    return {
      bench: 'registry',
      db,
      devices,
      import_s: Number(importSeconds.toFixed(1)),
      import_rows_per_s: Math.round(devices / importSeconds),
      page_p50_ms: Number(percentile(latencies, 50).toFixed(2)),
      page_p95_ms: Number(percentile(latencies, 95).toFixed(2)),
      page_max_ms: Number(Math.max(...latencies).toFixed(2)),
      first_page_with_count_p50_ms: Number(percentile(cold, 50).toFixed(2)),
      queries: latencies.length,
      bulk_tag_devices: bulk.count,
      bulk_tag_s: Number(bulkSeconds.toFixed(2)),
      bulk_tag_devices_per_s: Math.round(Number(bulk.count) / bulkSeconds),
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      errors,
    };
  } finally {
    await app.close();
    await pg?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function run(args: string[]): Promise<void> {
  const devices = Number(arg(args, 'devices', '1000000'));
  const dbs = arg(args, 'db', 'sqlite,postgres').split(',') as ('sqlite' | 'postgres')[];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-bench-csv-'));
  const csvFile = path.join(dir, 'devices.csv');
  try {
    await generateCsv(csvFile, devices);
    for (const db of dbs) {
      if (db === 'postgres') {
        const reason = await postgresUnavailable().catch((e: Error) => e.message);
        if (reason) {
          console.log(JSON.stringify({ bench: 'registry', db, skipped: reason }));
          continue;
        }
      }
      console.log(JSON.stringify(await runOne(db, devices, csvFile)));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
