// fast-check arbitraries from the JSON Schemas in /openapi.json: values that satisfy a schema
// (so requests get past validation and reach the services), and the same values with exactly one
// field made wrong (so the services' own checks are exercised, not only the schema validator).
import fc from 'fast-check';
import type { JsonSchema } from './routes.js';
import { FUZZ_WEBHOOK_SECRET, hostileString, loopbackUrl, VALID_TIMEZONES, wrongValue } from './values.js';

type Resolve = (ref: string) => JsonSchema | undefined;

const MAX_DEPTH = 4;

/** Strings some fields need to be right (the schema says only "string"): names guide the choice. */
function namedString(name: string | undefined): fc.Arbitrary<string> | undefined {
  const n = (name ?? '').toLowerCase();
  if (n === 'url' || n.endsWith('url') || n === 'address') return loopbackUrl();
  if (n === 'timezone' || n === 'tz') return fc.constantFrom(...VALID_TIMEZONES);
  // Resolved to an existing row's id at send time (request.ts), so references reach deep code.
  if (n === 'artifactid') return fc.constantFrom('$live:artifacts', '$live:artifacts', 'no-such-artifact');
  if (n === 'deviceid') return fc.constantFrom('$live:devices', 'no-such-device');
  if (n === 'id' || n.endsWith('id')) return fc.stringMatching(/^[a-z0-9][a-z0-9._:@-]{0,30}$/);
  if (n === 'version') return fc.tuple(fc.nat(20), fc.nat(20), fc.nat(99)).map(([a, b, c]) => `${a}.${b}.${c}`);
  if (n === 'image' || n === 'imageref') return fc.constantFrom('acme/app:*', 'ghcr.io/acme/app:v1.2.3', 'registry.local/fw@sha256:' + 'a'.repeat(64), 'acme/*');
  if (n === 'secret') return fc.constantFrom(FUZZ_WEBHOOK_SECRET, 'wrong-secret');
  if (n === 'window') return fc.constantFrom('02:00-04:00', '22:00-01:00');
  if (n === 'cron') return fc.constantFrom('0 2 * * *', '*/15 * * * *');
  return undefined;
}

function stringFor(schema: JsonSchema, name: string | undefined): fc.Arbitrary<string> {
  const min = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const max = typeof schema.maxLength === 'number' ? schema.maxLength : 40;
  if (typeof schema.pattern === 'string') {
    try {
      return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length >= min && s.length <= max);
    } catch {
      // A pattern JavaScript cannot compile: fall through to plain strings.
    }
  }
  if (schema.format === 'date-time') return fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
  const named = namedString(name);
  if (named) return named.filter((s) => s.length >= min && s.length <= max);
  return fc.string({ minLength: Math.max(min, 1), maxLength: Math.max(Math.min(max, 24), Math.max(min, 1)) });
}

function numberFor(schema: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  const min = typeof schema.minimum === 'number' ? schema.minimum : integer ? -1000 : -1e6;
  const max = typeof schema.maximum === 'number' ? schema.maximum : integer ? 100_000 : 1e6;
  return integer ? fc.integer({ min: Math.ceil(min), max: Math.floor(max) }) : fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
}

/** A value valid for `schema` (best effort: keywords the fuzzer does not know are ignored). */
export function validValue(schema: JsonSchema | undefined, resolve: Resolve, name?: string, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > MAX_DEPTH) return fc.constant(null);
  if (typeof schema.$ref === 'string') return validValue(resolve(schema.$ref), resolve, name, depth + 1);
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  const union = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(union) && union.length > 0) return fc.oneof(...union.map((s) => validValue(s, resolve, name, depth + 1)));
  if (Array.isArray(schema.allOf)) return mergedObject(schema.allOf as JsonSchema[], resolve, depth);
  const type = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string | undefined];
  return fc.oneof(...type.map((t) => typed(t, schema, resolve, name, depth)));
}

function typed(type: string | undefined, schema: JsonSchema, resolve: Resolve, name: string | undefined, depth: number): fc.Arbitrary<unknown> {
  switch (type) {
    case 'string':
      return stringFor(schema, name);
    case 'integer':
      return numberFor(schema, true);
    case 'number':
      return numberFor(schema, false);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const max = typeof schema.maxItems === 'number' ? Math.min(schema.maxItems, 3) : 3;
      const min = typeof schema.minItems === 'number' ? Math.min(schema.minItems, max) : 0;
      return fc.array(validValue(schema.items as JsonSchema | undefined, resolve, name, depth + 1), { minLength: min, maxLength: max });
    }
    case 'object':
      return objectFor(schema, resolve, depth);
    default:
      return schema.properties ? objectFor(schema, resolve, depth) : fc.jsonValue({ maxDepth: 2 });
  }
}

function objectFor(schema: JsonSchema, resolve: Resolve, depth: number): fc.Arbitrary<unknown> {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const keys = Object.keys(properties);
  if (keys.length === 0) {
    const extra = schema.additionalProperties;
    const value = typeof extra === 'object' && extra ? validValue(extra as JsonSchema, resolve, undefined, depth + 1) : fc.jsonValue({ maxDepth: 1 });
    return fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_-]{0,11}$/), value, { maxKeys: 3 });
  }
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const record = Object.fromEntries(keys.map((k) => [k, validValue(properties[k], resolve, k, depth + 1)]));
  return fc.record(record, { requiredKeys: keys.filter((k) => required.has(k)) });
}

function mergedObject(parts: JsonSchema[], resolve: Resolve, depth: number): fc.Arbitrary<unknown> {
  const resolved = parts.map((p) => (typeof p.$ref === 'string' ? (resolve(p.$ref) ?? {}) : p));
  const properties = Object.assign({}, ...resolved.map((p) => p.properties ?? {})) as Record<string, JsonSchema>;
  const required = resolved.flatMap((p) => (p.required as string[] | undefined) ?? []);
  return objectFor({ type: 'object', properties, required }, resolve, depth);
}

/** Paths (key lists) of every field of a JSON value, the value itself included as []. */
function fieldPaths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...fieldPaths(v, [...prefix, i])));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...fieldPaths(v, [...prefix, k]));
  return out;
}

type Mutation = { kind: 'replace'; value: unknown } | { kind: 'delete' } | { kind: 'add'; key: string; value: unknown };

function applyMutation(value: unknown, path: (string | number)[], mutation: Mutation): unknown {
  if (path.length === 0) {
    if (mutation.kind === 'replace') return mutation.value;
    if (mutation.kind === 'add' && value && typeof value === 'object' && !Array.isArray(value)) return { ...value, [mutation.key]: mutation.value };
    return mutation.kind === 'delete' ? undefined : value;
  }
  const [head, ...rest] = path;
  const copy = (Array.isArray(value) ? [...(value as unknown[])] : { ...(value as object) }) as Record<string | number, unknown>;
  if (rest.length === 0 && mutation.kind === 'delete') {
    delete copy[head!];
    return copy;
  }
  copy[head!] = applyMutation(copy[head!], rest, mutation);
  return copy;
}

/** A valid value with one field (or the whole) made wrong: wrong type, hostile, missing, or an extra key. */
export function nearlyValid(schema: JsonSchema | undefined, resolve: Resolve): fc.Arbitrary<unknown> {
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    { weight: 4, arbitrary: wrongValue().map((value) => ({ kind: 'replace' as const, value })) },
    { weight: 2, arbitrary: hostileString().map((value) => ({ kind: 'replace' as const, value })) },
    { weight: 2, arbitrary: fc.constant({ kind: 'delete' as const }) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('__proto__', 'constructor', 'prototype', 'unknownField', 'id', ''), wrongValue()).map(([key, value]) => ({ kind: 'add' as const, key, value })) },
  );
  return fc.tuple(validValue(schema, resolve), fc.nat(), mutation).map(([value, pick, m]) => {
    const paths = fieldPaths(value);
    return applyMutation(value, paths[pick % paths.length]!, m);
  });
}
