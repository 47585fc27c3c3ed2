// `npm run bench -- ws [--rate 10000] [--seconds 5]`: what a browser receives from /ws while the
// server appends `rate` execution transitions per second (in batches every 10 ms, as the engine
// does): messages per second, events delivered, gap notices, and whether every id was accounted
// for (delivered or announced in a gap). One fast client and one that stops reading.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApp } from '../app.js';
import { loadConfig } from '../config.js';
import type { NewEvent } from '../core/index.js';
import { connectWs } from '../testing/ws-client.js';

function flag(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
}

export async function run(args: string[]): Promise<void> {
  const rate = flag(args, 'rate', 10_000);
  const seconds = flag(args, 'seconds', 5);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-bench-ws-'));
  const app = await createApp(loadConfig({ dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent' }, { ...process.env, ORCHESTRATOR_DATABASE_URL: '' }), { logger: false });
  try {
    const url = await app.listen();
    const { token } = await app.store.tokens.create({ kind: 'operator', role: 'viewer', name: 'bench' }, Date.now());
    const fast = await connectWs(url, { token, query: { types: 'execution.*' } });
    const slow = await connectWs(url, { token, query: { types: 'execution.*' } });
    await Promise.all([fast.waitFor((m) => m.type === 'subscribed'), slow.waitFor((m) => m.type === 'subscribed')]);
    // The slow client stops reading from its socket: the server must not buffer without bound.
    (slow.socket as unknown as { _socket: { pause(): void } })._socket.pause();

    const perTick = Math.max(1, Math.round(rate / 100));
    const started = performance.now();
    let appended = 0;
    let lastId = 0;
    while (performance.now() - started < seconds * 1000) {
      const tickStart = performance.now();
      const batch: NewEvent[] = Array.from({ length: perTick }, (_, i) => ({ type: 'execution.succeeded', rolloutId: 'bench', deviceId: `d${appended + i}` }));
      const records = await app.events.append(batch);
      appended += records.length;
      lastId = records[records.length - 1]!.id;
      const spare = 10 - (performance.now() - tickStart);
      if (spare > 0) await new Promise((r) => setTimeout(r, spare));
    }
    const elapsed = (performance.now() - started) / 1000;
    await fast.waitFor((m) => (m.type === 'events' && (m.lastEventId as number) >= lastId) || (m.type === 'gap' && (m.untilId as number) >= lastId), 'the last event');
    const messages = fast.messages.filter((m) => m.type === 'events' || m.type === 'gap');
    const delivered = fast.eventIds().length;
    const gaps = fast.messages.filter((m) => m.type === 'gap');
    const announced = gaps.reduce((n, g) => n + (g.dropped as number), 0);
    const maxBatch = Math.max(0, ...fast.messages.filter((m) => m.type === 'events').map((m) => (m.events as unknown[]).length));
    const rss = process.memoryUsage().rss / 2 ** 20;
    process.stdout.write(
      JSON.stringify({ bench: 'ws', variant: 'fast-client', events_per_s: Math.round(appended / elapsed), messages_per_s: Math.round((messages.length / elapsed) * 10) / 10, events_delivered: delivered, events_in_gaps: announced, gap_notices: gaps.length, unaccounted: appended - delivered - announced, max_events_per_message: maxBatch }) + '\n',
    );
    process.stdout.write(JSON.stringify({ bench: 'ws', variant: 'stalled-client', events_per_s: Math.round(appended / elapsed), gap_notices_counted: Number((await app.metrics.wsGaps.get()).values[0]?.value ?? 0), peak_rss_mb: Math.round(rss) }) + '\n');
    await fast.close();
    slow.socket.terminate();
  } finally {
    await app.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
