// Property-based fuzzing of every HTTP route of a real app: operator, device, webhook, protocol
// adapter, health, metrics, WebSocket and documentation routes, enumerated from the running server
// (src/api/server.ts records each registered route), so a route someone adds is fuzzed without
// editing this file; a route declared in src/api or src/protocols that the server lacks fails it.
//
// Oracle, per request: no 5xx and no dropped connection; every 4xx (except HEAD and the listed
// exceptions) in the {"error":{code,message,details}} shape; and the store unchanged unless the
// request was a write that succeeded. The last is checked by reading every table before and after
// each request (the fuzz database is small), which is sound where a per-property comparison is
// not: a property mixes refused and accepted writes, and one accepted write would excuse every
// corruption in the same property. Requests run one at a time, so a change between two snapshots
// belongs to the request in between; the exceptions are writes that are not the request's own
// (the engine's background work, batched heartbeats, notification cursors, append-only logs),
// each declared with its reason in snapshot.ts. After each route's property the server must still
// answer /healthz, and the append-only tables must still hold every row they held before it.
//
// FUZZ_RUNS (requests per route, default 100) bounds the run; FUZZ_SEED makes it reproducible;
// FUZZ_DB=postgres runs it on PostgreSQL (ORCHESTRATOR_TEST_PG_URL).
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { startTestApp } from '../testing/app.js';
import { ensureFixtures } from './fixtures.js';
import { describe as describeRequest, FuzzHarness } from './harness.js';
import { materialize, requestPlans } from './request.js';
import { declaredMatches, declaredRoutes, operationOf, serverRoutes, type OpenApi, type Route } from './routes.js';
import { diff } from '../testing/snapshot.js';
import { FUZZ_WEBHOOK_SECRET } from './values.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const BODY_LIMIT = 64 * 1024;
const WEBHOOK_SECRET = FUZZ_WEBHOOK_SECRET;

/**
 * Declared routes the suite does not expect on the server, each with its reason. Empty: every
 * route in src/api and src/protocols must be served (and so fuzzed).
 */
const NOT_SERVED_ALLOWED: { method: string; path: string; why: string }[] = [];

console.log(`fuzz: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} FUZZ_DB=${process.env.FUZZ_DB === 'postgres' ? 'postgres' : 'sqlite'}`);
const DB = process.env.FUZZ_DB === 'postgres' ? 'postgres' : 'sqlite';
const t = await startTestApp({
  db: DB,
  config: { bodyLimit: BODY_LIMIT, artifactMaxBytes: 256 * 1024, webhookSecret: WEBHOOK_SECRET, webhookRateLimitPerMinute: 0, authRateLimitPerMinute: 0, deviceAuthRateLimitPerMinute: 0 },
});
const spec = (await t.request('GET', '/openapi.json')).json() as OpenApi;
const resolve = (ref: string) => spec.components?.schemas?.[ref.replace('#/components/schemas/', '')];
const routes = serverRoutes(t.app.server);
const protectedTokens = new Set((await t.app.store.tokens.list()).map((token) => token.id));
const harness = new FuzzHarness(t, WEBHOOK_SECRET, protectedTokens);
await harness.init();
const warnings = new Set<string>();

afterAll(async () => {
  const byStatus = [...harness.counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}: ${v}`).join(', ');
  console.log(`fuzz: ${harness.total} requests tried over ${routes.length} routes (seed ${SEED}); by status: ${byStatus}`);
  for (const w of warnings) console.log(`fuzz warning: ${w}`);
  harness.close();
  await t.close();
});

describe('fuzz: HTTP API', () => {
  test('every route declared in src/api and src/protocols is served, and so fuzzed', () => {
    const declared = declaredRoutes(['src/api', 'src/protocols']);
    expect(declared.length).toBeGreaterThan(10);
    const unserved = declared
      .filter(({ route }) => !routes.some((served) => declaredMatches(route, served)))
      .filter(({ route }) => !NOT_SERVED_ALLOWED.some((a) => a.method === route.method && a.path === route.path))
      .map(({ route, file }) => `${route.method} ${route.path} (${file})`);
    expect(unserved).toEqual([]);
    const documented = Object.keys(spec.paths).length;
    expect(documented).toBeGreaterThan(10);
  });

  test.each(routes.map((r): [string, Route] => [`${r.method} ${r.path}`, r]))('%s', async (_name, route) => {
    // Only a successful write can have removed a fixture or revoked a token.
    if (harness.wrote) {
      harness.tokens = await ensureFixtures(t, warnings);
      harness.wrote = false;
    }
    await harness.resync();
    const logsBefore = await harness.appendOnlySnapshot();
    const plans = requestPlans({ route, operation: operationOf(spec, route), resolve, bodyLimit: BODY_LIMIT });
    const result = await fc.check(
      fc.asyncProperty(plans, async (plan) => {
        await harness.check(route, materialize(route, plan, harness), BODY_LIMIT);
      }),
      // A request that hangs fails its run; shrinking is bounded so one failure cannot stall the suite.
      { numRuns: RUNS, seed: SEED, timeout: 30_000, interruptAfterTimeLimit: 240_000, markInterruptAsFailure: false },
    );
    if (result.failed) {
      const last = result.counterexample?.[0];
      const request = last ? describeRequest(materialize(route, last, harness)) : 'none';
      throw new Error(`${String(result.errorInstance)}\nminimized request: ${request}\n${fc.defaultReportMessage(result)}`);
    }
    const health = await harness.send({ method: 'GET', path: '/healthz', headers: {}, body: undefined });
    expect(health.status).toBe(200);
    expect(diff(logsBefore, await harness.appendOnlySnapshot())).toEqual([]);
  });
});
