// /metrics end to end: a real server, counters bumped the way other capabilities bump them, and
// the exposition read back with a strict text-format parser.
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../testing/app.js';
import { parsePrometheusText, sampleValue } from '../testing/prometheus-text.js';

describe('/metrics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
    for (const [id, status] of [['m1', 'online'], ['m2', 'online'], ['m3', 'offline']] as const) {
      expect((await t.request('POST', '/api/v1/devices', { body: { id, status } })).status).toBe(201);
    }
  });
  afterAll(() => t.close());

  it('is valid Prometheus text with device gauges from the database and bumped counters', async () => {
    // Deliveries are derived from execution transitions as the engine appends them.
    await t.app.events.append([{ type: 'execution.delivering', actor: 'engine', executionId: 'x1', rolloutId: 'r', deviceId: 'm1' }]);
    await t.app.events.append([{ type: 'execution.succeeded', actor: 'engine', executionId: 'x1', rolloutId: 'r', deviceId: 'm1', data: { bytes: 4096 } }]);
    await t.app.events.append([{ type: 'execution.failed', actor: 'device:m2', executionId: 'x2', rolloutId: 'r', deviceId: 'm2', data: { bytes: null } }]);
    // Two real polls by the device: the first answers the state, the second 304 by its ETag.
    const issued = await t.request('POST', '/api/v1/devices/m1/token', {});
    expect(issued.status).toBe(201);
    const deviceToken = (issued.json() as { token: string }).token;
    const first = await t.request('GET', '/api/v1/device/m1/state', { token: deviceToken });
    expect(first.status).toBe(200);
    const second = await t.request('GET', '/api/v1/device/m1/state', { token: deviceToken, headers: { 'if-none-match': first.headers.get('etag')! } });
    expect(second.status).toBe(304);
    const response = await t.request('GET', '/metrics', { token: null });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const families = parsePrometheusText(response.text);
    expect(families.get('orchestrator_devices')?.type).toBe('gauge');
    expect(sampleValue(families, 'orchestrator_devices', { status: 'online' })).toBe(2);
    expect(sampleValue(families, 'orchestrator_devices', { status: 'offline' })).toBe(1);
    expect(sampleValue(families, 'orchestrator_deliveries_total', { transport: 'push', result: 'succeeded' })).toBe(1);
    expect(sampleValue(families, 'orchestrator_deliveries_total', { transport: 'pull', result: 'failed' })).toBe(1);
    expect(sampleValue(families, 'orchestrator_delivery_duration_seconds_count', { transport: 'push' })).toBe(1);
    expect(sampleValue(families, 'orchestrator_bytes_sent_total', { transport: 'push' })).toBe(4096);
    expect(sampleValue(families, 'orchestrator_poll_requests_total', { result: 'not_modified' })).toBe(1);
    expect(sampleValue(families, 'orchestrator_poll_requests_total', { result: 'changed' })).toBe(1);
    expect(sampleValue(families, 'orchestrator_http_requests_total', { method: 'POST', route: '/api/v1/devices', status: '201' })).toBe(3);
    expect(families.get('nodejs_eventloop_lag_seconds')?.type).toBe('gauge');
    expect(sampleValue(families, 'orchestrator_events_total')).toBeGreaterThanOrEqual(3);
    // The live feed delivered those events; the engine loop has run (its lag is since its last round).
    expect(sampleValue(families, 'orchestrator_event_feed_lag_seconds_count')).toBeGreaterThanOrEqual(3);
    expect(families.get('orchestrator_engine_lag_seconds')?.type).toBe('gauge');
    expect(sampleValue(families, 'orchestrator_engine_rounds_total')).toBeGreaterThan(0);
    expect(sampleValue(families, 'orchestrator_engine_lag_seconds')).toBeLessThan(60);
    expect(sampleValue(families, 'orchestrator_engine_deliveries_in_flight')).toBe(0);
  });

  it('the parser refuses malformed exposition', () => {
    expect(() => parsePrometheusText('foo 1\n')).toThrow(/no # TYPE/);
    expect(() => parsePrometheusText('# TYPE foo gauge\nfoo{a="x} 1\n')).toThrow();
    expect(() => parsePrometheusText('# TYPE foo gauge\nfoo abc\n')).toThrow(/bad value/);
  });
});

describe('request logs', () => {
  it('writes one JSON line per refused request with its request id, and never the token', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(...chunk.toString().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)), done()) });
    const t = await startTestApp({ app: { logger: pino({ level: 'info' }, sink) } });
    try {
      const response = await t.request('GET', '/api/v1/devices/nope', { headers: { 'x-request-id': 'trace-42' } });
      expect(response.status).toBe(404);
      const line = lines.find((l) => l.msg === 'request refused');
      expect(line).toMatchObject({ reqId: 'trace-42', status: 404, route: '/api/v1/devices/:id', method: 'GET' });
      expect(JSON.stringify(lines)).not.toContain(t.tokens.admin);
    } finally {
      await t.close();
    }
  });
});
