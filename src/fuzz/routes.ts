// Route discovery for the fuzz suite: the routes the running server really has (Fastify's route
// tree), their OpenAPI operations, and the routes the source declares (grep), so that a route added
// anywhere is fuzzed or the suite fails.
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';

/** One method + path template (Fastify syntax, `:param`). */
export interface Route {
  method: string;
  path: string;
}

/** A JSON Schema object as found in /openapi.json (loosely typed: it is data). */
export type JsonSchema = Record<string, unknown>;

/** The parts of an OpenAPI operation the fuzzer uses. */
export interface Operation {
  params: { name: string; in: 'path' | 'query' | 'header'; required: boolean; schema: JsonSchema }[];
  /** JSON request body schema, when the operation documents one. */
  body: JsonSchema | undefined;
  /** Content types the operation consumes besides JSON (raw streams). */
  consumes: string[];
}

export interface OpenApi {
  paths: Record<string, Record<string, { parameters?: Operation['params']; requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * Every route of a started server as it was registered (src/api/server.ts records them), without
 * the HEAD and OPTIONS routes Fastify adds by itself; one entry per method and URL.
 */
export function serverRoutes(server: FastifyInstance): Route[] {
  const seen = new Set<string>();
  const routes: Route[] = [];
  for (const { method, url } of server.registeredRoutes) {
    const key = `${method} ${url}`;
    if (!METHODS.includes(method) || seen.has(key)) continue;
    seen.add(key);
    routes.push({ method, path: url });
  }
  return routes;
}

/** The OpenAPI operation of a route, `{id}` templates translated to Fastify's `:id`. */
export function operationOf(spec: OpenApi, route: Route): Operation | undefined {
  const key = route.path.replace(/:(\w+)/g, '{$1}');
  const op = spec.paths[key]?.[route.method.toLowerCase()];
  if (!op) return undefined;
  const content = op.requestBody?.content ?? {};
  return {
    params: op.parameters ?? [],
    body: content['application/json']?.schema,
    consumes: Object.keys(content).filter((type) => type !== 'application/json'),
  };
}

/** Routes declared in source files: `x.get('/path'`, `x.post(\`/a/${b}\``, `x.route({ url: '/path' })`. */
export function declaredRoutes(roots: string[]): { route: Route; file: string }[] {
  const found: { route: Route; file: string }[] = [];
  const call = /\.(get|post|put|patch|delete)\(\s*(['"`])(\/[^'"`]*)\2/g;
  // `x.route({ method, url: '/path' })`: the method is often a variable, so any method matches.
  const routeCall = /\.route\(\{[^}]*?url:\s*(['"`])(\/[^'"`]*)\1/gs;
  for (const file of roots.flatMap(walk)) {
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(call)) found.push({ route: { method: m[1]!.toUpperCase(), path: m[3]! }, file });
    for (const m of text.matchAll(routeCall)) found.push({ route: { method: '*', path: m[2]! }, file });
  }
  return found;
}

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return walk(full);
    return entry.name.endsWith('.ts') && !/\.(test|fuzz|fixtures)\.ts$/.test(entry.name) ? [full] : [];
  });
}

/**
 * True when a declared path (possibly with `${...}` template parts) names a served route. The
 * served path may be longer at the front: plugins registered with a prefix declare the rest.
 */
export function declaredMatches(declared: Route, served: Route): boolean {
  if (declared.method !== '*' && declared.method !== served.method) return false;
  const pattern = declared.path
    .split(/\$\{[^}]*\}/)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]+');
  return new RegExp(`${pattern}$`).test(served.path);
}
