// Fuzz request plans for one route: path parameters, query, headers and body drawn from hostile,
// wrong and nearly valid values. A plan names live things (existing ids, tokens) by role, and is
// turned into bytes at send time so that it stays meaningful while the store changes.
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import type { JsonSchema, Operation, Route } from './routes.js';
import { nearlyValid, validValue } from './schema-arbitrary.js';
import { hostileQueryValue, hostileSegment, hostileString, registryPayload, wrongValue } from './values.js';

/** Who the request claims to be. */
export type AuthChoice = 'admin' | 'operator' | 'viewer' | 'device' | 'other-device' | 'revoked' | 'none' | 'garbage' | 'basic' | 'empty-bearer';

export type BodySpec =
  | { kind: 'none' }
  | { kind: 'json'; value: unknown }
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; hex: string }
  /** `prefix + fill * size + suffix`: large bodies stay small in a printed counterexample. */
  | { kind: 'large'; prefix: string; size: number; suffix: string };

/** One request, before live values are filled in. */
export interface RequestPlan {
  method: string;
  /** Per path parameter: an index into the live ids of that resource, or an encoded segment. */
  params: ({ existing: number } | { raw: string })[];
  query: string;
  auth: AuthChoice;
  contentType: string | null;
  headers: Record<string, string>;
  body: BodySpec;
  /** Webhook signature over the final body: a valid HMAC, garbage, or none. */
  signature: 'valid' | 'garbage' | 'none';
  /** Appended to the path (a trailing slash, a second slash): router edge cases. */
  pathSuffix: string;
}

/** What a plan needs at send time. */
export interface LiveContext {
  idsFor(route: Route, paramIndex: number): string[];
  /** Live ids of a table (for `$live:<table>` placeholders in bodies). */
  idsOf(table: string): string[];
  token(choice: AuthChoice): string | null;
  webhookSecret: string;
}

export interface MaterializedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
}

export interface PlanContext {
  route: Route;
  operation: Operation | undefined;
  resolve: (ref: string) => JsonSchema | undefined;
  bodyLimit: number;
}

const paramNames = (route: Route) => [...route.path.matchAll(/:(\w+)|\*/g)].map((m) => m[1] ?? '*');

const MALFORMED_JSON = ['{', '{"a":', '[1,2', '{"a":1,}', "{'a':1}", 'nul', '\u0000', '{"a":1}{"b":2}', '{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"polluted":true}}}', '{"a":1e309}', '"\\ud800"', '{"name":"\\udfff\\ud800"}', '1', '"text"', 'null', '[]', '{"a":"\\u0000"}', '\ufeff{}', '{"a":' + '1'.repeat(500) + '}'];

function deepNesting(): fc.Arbitrary<BodySpec> {
  return fc.tuple(fc.constantFrom('[', '{"a":'), fc.integer({ min: 100, max: 20_000 })).map(([open, n]) => {
    const close = open === '[' ? ']' : '}';
    return { kind: 'text' as const, text: open.repeat(n) + close.repeat(n) };
  });
}

function bodies(ctx: PlanContext, deep: boolean): fc.Arbitrary<BodySpec> {
  const schema = ctx.operation?.body;
  const json = (arb: fc.Arbitrary<unknown>) => arb.map((value) => ({ kind: 'json' as const, value }));
  const near = json(nearlyValid(schema ?? { type: 'object' }, ctx.resolve));
  // Registry webhooks document no body schema (they take raw bytes): use real payload shapes.
  if (ctx.route.path.includes('/webhooks/')) return fc.oneof({ weight: 3, arbitrary: json(registryPayload()) }, { weight: 1, arbitrary: deep ? near : bodies({ ...ctx, route: { ...ctx.route, path: '' } }, false) });
  if (deep) return fc.oneof({ weight: 2, arbitrary: json(validValue(schema ?? { type: 'object' }, ctx.resolve)) }, { weight: 3, arbitrary: near });
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant({ kind: 'none' as const }) },
    { weight: 3, arbitrary: near },
    { weight: 2, arbitrary: fc.constantFrom(...MALFORMED_JSON).map((text) => ({ kind: 'text' as const, text })) },
    { weight: 2, arbitrary: json(wrongValue()) },
    { weight: 1, arbitrary: deepNesting() },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => ({ kind: 'bytes' as const, hex: Buffer.from(b).toString('hex') })) },
    { weight: 1, arbitrary: fc.constant({ kind: 'bytes' as const, hex: Buffer.from('{"name":"\xff\xfe"}', 'latin1').toString('hex') }) },
    { weight: 1, arbitrary: fc.integer({ min: -64, max: 4096 }).map((d) => ({ kind: 'large' as const, prefix: '{"name":"', size: Math.max(0, ctx.bodyLimit + d), suffix: '"}' })) },
    { weight: 1, arbitrary: hostileString().map((s) => ({ kind: 'text' as const, text: s })) },
    { weight: 1, arbitrary: csvOrNdjson() },
  );
}

/** Import-shaped bodies (CSV rows, NDJSON lines) with hostile cells. */
function csvOrNdjson(): fc.Arbitrary<BodySpec> {
  const cell = fc.oneof(fc.stringMatching(/^[a-z0-9-]{1,8}$/), hostileString().map((s) => s.slice(0, 200)));
  const csv = fc.array(fc.array(cell, { minLength: 1, maxLength: 6 }), { maxLength: 5 }).map((rows) => ({
    kind: 'text' as const,
    text: ['id,name,mode,address,version,location,timezone,tags,metadata', ...rows.map((r) => r.map((c) => (/[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(','))].join('\n'),
  }));
  const ndjson = fc.array(fc.oneof(wrongValue(), fc.record({ id: cell, name: cell, timezone: cell, tags: wrongValue() })), { maxLength: 5 }).map((lines) => ({
    kind: 'text' as const,
    text: lines.map((l) => JSON.stringify(l) ?? 'undefined').join('\n'),
  }));
  return fc.oneof(csv, ndjson);
}

function queryString(ctx: PlanContext, deep: boolean): fc.Arbitrary<string> {
  const params = (ctx.operation?.params ?? []).filter((p) => p.in === 'query');
  const valid = fc.record(
    Object.fromEntries(params.map((p) => [p.name, validValue(p.schema, ctx.resolve, p.name)])),
    { requiredKeys: params.filter((p) => p.required).map((p) => p.name) },
  );
  const names = params.map((p) => p.name);
  const key = names.length > 0 ? fc.oneof(fc.constantFrom(...names), fc.constantFrom('unknown', '__proto__', 'limit', 'cursor', 'tz', 'cron', 'secret', 'a[b]', '')) : fc.constantFrom('unknown', '__proto__', 'limit', 'a[b]', '');
  const extra = fc.array(fc.tuple(key, hostileQueryValue()), { maxLength: deep ? 1 : 4 });
  return fc.tuple(valid, extra, fc.boolean()).map(([values, more, keepValid]) => {
    const pairs: string[] = [];
    if (keepValid || deep) {
      for (const [k, v] of Object.entries(values)) {
        for (const item of Array.isArray(v) ? v : [v]) pairs.push(`${encodeURIComponent(k)}=${encodeURIComponent(typeof item === 'string' ? item : JSON.stringify(item))}`);
      }
    }
    for (const [k, v] of more) pairs.push(`${encodeURIComponent(k)}=${v}`);
    return pairs.length ? `?${pairs.join('&')}` : '';
  });
}

function headerSet(deep: boolean): fc.Arbitrary<Record<string, string>> {
  const optional = (name: string, values: fc.Arbitrary<string>) => fc.option(values.map((v) => [name, v] as const), { nil: undefined, freq: deep ? 6 : 2 });
  return fc
    .tuple(
      optional('range', fc.constantFrom('bytes=0-10', 'bytes=10-0', 'bytes=-0', 'bytes=-5', 'bytes=999999999999-', 'bytes=a-b', 'bytes=0-1,2-3', 'items=0-1', 'bytes=', 'bytes=0-99999999999999999999')),
      optional('if-none-match', fc.oneof(fc.constantFrom('*', '"x"', 'W/"x"', '', ',,,', '"' + 'a'.repeat(3000) + '"'), hostileString().map((s) => s.replace(/[^\x20-\x7e]/g, '?')))),
      optional('if-range', fc.constantFrom('"x"', 'Wed, 21 Oct 2015 07:28:00 GMT', 'garbage')),
      optional('x-github-event', fc.constantFrom('package', 'registry_package', 'ping', 'push', '', '../x')),
      optional('x-github-delivery', fc.stringMatching(/^[a-z0-9-]{0,40}$/)),
      optional('x-artifact-name', fc.constantFrom('fw', '../../fw', 'a b', '', 'x'.repeat(300))),
      optional('x-artifact-version', fc.constantFrom('1.0.0', 'not-semver', '', '1e309')),
      optional('x-artifact-sha256', fc.constantFrom('0'.repeat(64), 'zz', '')),
      optional('x-artifact-signature', fc.constantFrom('AAAA', '!!!', '')),
      optional('accept', fc.constantFrom('application/json', 'text/html', '*/*', 'garbage/')),
    )
    .map((entries) => Object.fromEntries(entries.filter((e) => e !== undefined)));
}

const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', 'text/csv', 'application/x-ndjson', 'application/octet-stream', 'garbage', 'application/vnd.docker.distribution.events.v1+json'];

/** Plans for one route: half aimed deep (valid ids, good tokens, nearly valid bodies), half wild. */
export function requestPlans(ctx: PlanContext): fc.Arbitrary<RequestPlan> {
  const names = paramNames(ctx.route);
  const build = (deep: boolean): fc.Arbitrary<RequestPlan> => {
    const param = deep
      ? fc.oneof({ weight: 4, arbitrary: fc.nat().map((i) => ({ existing: i })) }, { weight: 1, arbitrary: hostileSegment().map((raw) => ({ raw })) })
      : fc.oneof({ weight: 2, arbitrary: fc.nat().map((i) => ({ existing: i })) }, { weight: 3, arbitrary: hostileSegment().map((raw) => ({ raw })) });
    const auth: fc.Arbitrary<AuthChoice> = deep
      ? fc.constantFrom('admin', 'admin', 'operator', 'device')
      : fc.constantFrom('admin', 'operator', 'viewer', 'device', 'other-device', 'revoked', 'none', 'garbage', 'basic', 'empty-bearer');
    const contentTypes = [...(ctx.operation?.consumes ?? []), ...CONTENT_TYPES];
    const contentType = deep ? fc.constantFrom<string | null>('application/json', ...(ctx.operation?.consumes ?? [])) : fc.option(fc.constantFrom(...contentTypes), { nil: null, freq: 5 });
    return fc.record({
      method: deep || ctx.route.method !== 'GET' ? fc.constant(ctx.route.method) : fc.constantFrom('GET', 'GET', 'GET', 'HEAD'),
      params: fc.tuple(...names.map(() => param)),
      query: queryString(ctx, deep),
      auth,
      contentType,
      headers: headerSet(deep),
      body: ctx.route.method === 'GET' || ctx.route.method === 'DELETE' ? fc.oneof({ weight: 5, arbitrary: fc.constant<BodySpec>({ kind: 'none' }) }, { weight: 1, arbitrary: bodies(ctx, false) }) : bodies(ctx, deep),
      signature: fc.constantFrom('valid', 'garbage', 'none'),
      pathSuffix: deep ? fc.constant('') : fc.constantFrom('', '', '', '', '', '', '/', '//', '/..', '?', '#frag', '%20'),
    });
  };
  return fc.oneof(build(true), build(false));
}

function bodyBytes(body: BodySpec, live: LiveContext): Buffer | undefined {
  switch (body.kind) {
    case 'none':
      return undefined;
    case 'json': {
      let n = 0;
      const fill = (_key: string, value: unknown) => {
        if (typeof value !== 'string' || !value.startsWith('$live:')) return value;
        const ids = live.idsOf(value.slice(6));
        return ids.length ? ids[n++ % ids.length] : 'missing-id';
      };
      return Buffer.from((JSON.stringify(body.value, fill) ?? 'null').replace(/"\$raw:([-0-9e.]+)"/g, '$1'));
    }
    case 'text':
      return Buffer.from(body.text);
    case 'bytes':
      return Buffer.from(body.hex, 'hex');
    case 'large':
      return Buffer.concat([Buffer.from(body.prefix), Buffer.alloc(body.size, 'x'), Buffer.from(body.suffix)]);
  }
}

/** Fills a plan with live ids and tokens. */
export function materialize(route: Route, plan: RequestPlan, live: LiveContext): MaterializedRequest {
  let index = 0;
  const path = route.path.replace(/:(\w+)|\*/g, () => {
    const i = index++;
    const p = plan.params[i];
    if (!p) return 'x';
    if ('raw' in p) return p.raw;
    const ids = live.idsFor(route, i);
    return ids.length ? encodeURIComponent(ids[p.existing % ids.length]!) : 'missing-id';
  });
  const headers: Record<string, string> = { ...plan.headers };
  const token = live.token(plan.auth);
  if (token !== null) headers.authorization = plan.auth === 'basic' ? `Basic ${token}` : `Bearer ${token}`;
  const body = bodyBytes(plan.body, live);
  if (plan.contentType) headers['content-type'] = plan.contentType;
  if (plan.signature === 'valid') headers['x-hub-signature-256'] = `sha256=${createHmac('sha256', live.webhookSecret).update(body ?? Buffer.alloc(0)).digest('hex')}`;
  if (plan.signature === 'garbage') headers['x-hub-signature-256'] = 'sha256=00ff';
  return { method: plan.method, path: path + plan.pathSuffix + (plan.pathSuffix.includes('?') ? '' : plan.query), headers, body };
}
