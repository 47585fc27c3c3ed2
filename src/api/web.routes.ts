// The dashboard: static ES modules from src/web (copied to dist/web by the build), served at / with
// strict security headers (CSP without inline scripts, no framing), plus the one aggregate the
// dashboard needs that the REST API lacks: GET /api/v1/fleet/summary, GET /api/v1/devices/:id/report.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { NotFoundError, strategiesModule } from '../core/index.js';
import { etagMatches, strongEtag } from '../http/index.js';
import type { DeviceReportRepository, StatsRepository } from '../store/index.js';
import { errorResponses } from './schemas.js';

/** The dashboard's folder next to this module: src/web from src/api, dist/web from dist/api. */
export const WEB_ROOT = fileURLToPath(new URL('../web/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
}

const staticFile = (body: Buffer, type: string): StaticFile => ({ body, type, etag: strongEtag(body) });

/**
 * Reads every dashboard file once (a few dozen kilobytes); tests are excluded. strategies.js is
 * made from core's strategy table, so the dashboard shows the strategies the server has.
 */
function loadFiles(root: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  if (!fs.existsSync(root)) return files;
  files.set('strategies.js', staticFile(Buffer.from(strategiesModule()), TYPES['.js']!));
  for (const entry of fs.readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    const type = TYPES[path.extname(entry.name)];
    if (!type || entry.name.endsWith('.test.ts')) continue;
    const rel = path.relative(root, full).split(path.sep).join('/');
    files.set(rel, staticFile(fs.readFileSync(full), type));
  }
  return files;
}

function securityHeaders(reply: FastifyReply): void {
  reply.header('content-security-policy', DASHBOARD_CSP);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('x-frame-options', 'DENY');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('cross-origin-opener-policy', 'same-origin');
  reply.header('permissions-policy', 'camera=(), microphone=(), geolocation=()');
}

const Bucket = Type.Array(Type.Object({ value: Type.Union([Type.String(), Type.Null()]), count: Type.Integer() }));

export async function webRoutes(app: FastifyInstance, deps: { stats: StatsRepository; reports: DeviceReportRepository; root?: string }) {
  const files = loadFiles(deps.root ?? WEB_ROOT);
  const send = (name: string, reply: FastifyReply, ifNoneMatch: string | undefined) => {
    const file = files.get(name);
    if (!file) return reply.code(404).type('text/plain; charset=utf-8').send(`no dashboard file '${name}'${files.size ? '' : ' (the dashboard is not built: run npm run build)'}`);
    securityHeaders(reply);
    reply.header('cache-control', 'no-cache').header('etag', file.etag);
    if (etagMatches(ifNoneMatch, file.etag)) return reply.code(304).send();
    return reply.type(file.type).send(file.body);
  };

  app.get('/', { config: { auth: 'public' }, schema: { hide: true } }, async (request, reply) => send('index.html', reply, request.headers['if-none-match']));
  app.get('/favicon.ico', { config: { auth: 'public' }, schema: { hide: true } }, async (request, reply) => send('favicon.svg', reply, request.headers['if-none-match']));
  app.get('/ui/*', { config: { auth: 'public' }, schema: { hide: true } }, async (request, reply) => {
    const name = (request.params as { '*': string })['*'];
    return send(name, reply, request.headers['if-none-match']);
  });

  app.get('/api/v1/devices/:id/report', {
    config: { auth: 'viewer' },
    schema: {
      tags: ['devices'],
      summary: 'The latest report and inventory a pull device sent (404 until it reports)',
      params: Type.Object({ id: Type.String({ maxLength: 128 }) }),
      response: { 200: Type.Object({ deviceId: Type.String(), report: Type.Record(Type.String(), Type.Unknown()), inventory: Type.Record(Type.String(), Type.Unknown()), reportedAt: Type.String() }), ...errorResponses },
    },
    handler: async (request) => {
      const { id } = request.params as { id: string };
      const found = await deps.reports.get(id);
      if (!found || Object.keys(found.report).length === 0) throw new NotFoundError('report of device', id);
      return found;
    },
  });

  app.get('/api/v1/fleet/summary', {
    config: { auth: 'viewer' },
    schema: {
      tags: ['devices'],
      summary: 'Device counts by status, and the most common versions and locations (for the dashboard)',
      querystring: Type.Object({ top: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 8 })) }),
      response: { 200: Type.Object({ total: Type.Integer(), byStatus: Bucket, byVersion: Bucket, byLocation: Bucket }), ...errorResponses },
    },
    handler: async (request) => {
      const top = (request.query as { top?: number }).top ?? 8;
      const [byStatus, byVersion, byLocation] = await Promise.all([deps.stats.topDeviceValues('status', 10), deps.stats.topDeviceValues('version', top), deps.stats.topDeviceValues('location', top)]);
      return { total: byStatus.reduce((sum, b) => sum + b.count, 0), byStatus, byVersion, byLocation };
    },
  });
}
