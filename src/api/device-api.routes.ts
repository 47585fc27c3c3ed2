// The device API for pull agents: target state with strong ETags (304 from memory on the hot
// path), progress/inventory reports, and artifact downloads with Range (token or signed URL).
import fs from 'node:fs';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ArtifactService } from '../artifacts/index.js';
import { AuthError, ForbiddenError, NotFoundError, REPORTED_STATES, ValidationError, type Clock, type DeviceReport } from '../core/index.js';
import type { DeviceSync } from '../engine/device-sync.js';
import type { DownloadSigner, PresenceService, TargetCache } from '../fleet/index.js';
import type { Store } from '../store/index.js';
import { parseRange } from './artifact.routes.js';
import { actorOf, bearerToken, requireDevice, type Authenticator } from './auth.js';
import { errorResponses } from './schemas.js';

export interface DeviceApiDeps {
  store: Pick<Store, 'devices' | 'deviceReports'>;
  sync: Pick<DeviceSync, 'applyReport'>;
  targets: TargetCache;
  presence: PresenceService;
  artifacts: Pick<ArtifactService, 'getStored' | 'filePath'>;
  signer: DownloadSigner;
  auth: Authenticator;
  clock: Clock;
}

const literal = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));

const HealthCheckSchema = Type.Object({
  type: literal(['http', 'tcp', 'command']),
  target: Type.String(),
  expectStatus: Type.Optional(Type.Integer()),
  timeoutSeconds: Type.Optional(Type.Number()),
});

export const TargetStateSchema = Type.Object(
  {
    deviceId: Type.String(),
    enrollment: literal(['accepted', 'pending']),
    pollIntervalSeconds: Type.Number(),
    update: Type.Union([
      Type.Null(),
      Type.Object({
        executionId: Type.String(),
        rolloutId: Type.String(),
        artifactId: Type.String(),
        name: Type.String(),
        version: Type.String(),
        sha256: Type.Union([Type.String(), Type.Null()]),
        size: Type.Integer(),
        signature: Type.Union([Type.String(), Type.Null()]),
        imageRef: Type.Union([Type.String(), Type.Null()]),
        downloadUrl: Type.Union([Type.String(), Type.Null()]),
        install: Type.Object({ handler: literal(['file', 'script', 'container']), settings: Type.Record(Type.String(), Type.Unknown()) }),
        healthChecks: Type.Array(HealthCheckSchema),
        healthDeadlineSeconds: Type.Optional(Type.Number()),
      }),
    ]),
  },
  { $id: 'TargetState' },
);

const ReportSchema = Type.Object(
  {
    version: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    inventory: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    execution: Type.Optional(
      Type.Object(
        {
          id: Type.String({ minLength: 1, maxLength: 128 }),
          state: literal(REPORTED_STATES),
          bytes: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
          bytesFetched: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'bytes fetched over the network for this execution so far' })),
          bytesReused: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'bytes taken from files the device already held (delta transfer)' })),
          error: Type.Optional(Type.String({ maxLength: 4000 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const MAX_INVENTORY_BYTES = 64 * 1024;

/** True when an If-None-Match header names this ETag (or is "*"). */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header === etag) return true;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}

export async function deviceApiRoutes(app: FastifyInstance, deps: DeviceApiDeps) {
  const tags = ['device API'];

  app.get('/api/v1/device/:id/state', {
    config: { auth: 'device' },
    schema: {
      tags,
      summary: 'The target state of a device (what it should run); ETag + If-None-Match answer 304',
      params: Type.Object({ id: Type.String({ maxLength: 128 }) }),
      response: { 200: TargetStateSchema, 304: Type.Null(), ...errorResponses },
    },
    handler: async (request, reply) => {
      const { id } = request.params as { id: string };
      requireDevice(request, id);
      const cached = await deps.targets.get(id);
      if (!cached) throw new NotFoundError('device', id);
      if (request.principal?.kind === 'device') deps.presence.seenNow(id);
      reply.header('etag', cached.etag).header('cache-control', 'no-cache');
      if (etagMatches(request.headers['if-none-match'], cached.etag)) return reply.code(304).send();
      return reply.type('application/json; charset=utf-8').send(cached.body);
    },
  });

  app.patch('/api/v1/device/state', {
    config: { auth: 'device' },
    schema: {
      tags,
      summary: 'Report what the device runs, execution progress and inventory',
      body: ReportSchema,
      response: { 200: Type.Object({ deviceId: Type.String(), execution: Type.Union([Type.Null(), Type.Object({ id: Type.String(), state: Type.String() })]) }), ...errorResponses },
    },
    handler: async (request) => {
      const p = request.principal;
      if (p?.kind !== 'device') throw new ForbiddenError('only a device token can report device state');
      const report = request.body as DeviceReport;
      if (report.inventory && JSON.stringify(report.inventory).length > MAX_INVENTORY_BYTES) {
        throw new ValidationError(`inventory must be at most ${MAX_INVENTORY_BYTES} bytes as JSON`, [{ path: 'inventory', message: 'is too large' }]);
      }
      const now = deps.clock.now();
      deps.presence.seenNow(p.deviceId);
      // The execution first: a report it refuses (unknown or stopped execution) changes nothing.
      let execution: { id: string; state: string } | null = null;
      if (report.execution) {
        const stored = await deps.sync.applyReport(p.deviceId, report.execution, actorOf(request));
        execution = { id: stored.id, state: stored.state };
      }
      if (report.version) await deps.store.deviceReports.setVersion(p.deviceId, report.version, now);
      await deps.store.deviceReports.save(p.deviceId, { version: report.version, execution: report.execution }, report.inventory, now);
      return { deviceId: p.deviceId, execution };
    },
  });

  /** Who may download: a signed URL, an operator, or a device targeted with this artifact. */
  async function authorizeDownload(request: FastifyRequest, artifactId: string): Promise<void> {
    const query = request.query as { device?: string; expires?: string; sig?: string };
    if (query.sig) {
      if (!deps.signer.verify(artifactId, query, deps.clock.now())) throw new ForbiddenError('the download link is invalid or expired; poll the target state for a new one');
      return;
    }
    const token = bearerToken(request);
    if (!token) throw new AuthError();
    const principal = await deps.auth.resolve(token);
    if (!principal) throw new AuthError('the bearer token is unknown, revoked or expired');
    request.principal = principal;
    if (principal.kind === 'operator') return;
    const target = await deps.targets.get(principal.deviceId);
    if (target?.state.update?.artifactId !== artifactId) throw new ForbiddenError(`device '${principal.deviceId}' is not targeted with artifact '${artifactId}'`);
  }

  app.get('/api/v1/device/artifacts/:artifactId', {
    config: { auth: 'public' },
    schema: {
      tags,
      summary: 'Download an artifact the device is targeted with (Range supported); bearer token or signed URL',
      params: Type.Object({ artifactId: Type.String({ maxLength: 128 }) }),
      querystring: Type.Object({ device: Type.Optional(Type.String()), expires: Type.Optional(Type.String()), sig: Type.Optional(Type.String()) }),
    },
    handler: async (request, reply) => {
      const { artifactId } = request.params as { artifactId: string };
      await authorizeDownload(request, artifactId);
      const stored = await deps.artifacts.getStored(artifactId);
      const file = deps.artifacts.filePath(stored);
      if (!file) throw new ValidationError(`artifact '${artifactId}' is an image reference; pull ${stored.imageRef} instead`);
      const size = (await fs.promises.stat(file)).size;
      const etag = `"${stored.sha256}"`;
      reply.header('accept-ranges', 'bytes').header('etag', etag).type('application/octet-stream');
      const ifRange = request.headers['if-range'];
      const range = ifRange && ifRange !== etag ? null : parseRange(request.headers.range, size);
      if (range === 'unsatisfiable') return reply.code(416).header('content-range', `bytes */${size}`).send();
      if (range) {
        reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`).header('content-length', range.end - range.start + 1);
        return reply.send(fs.createReadStream(file, { start: range.start, end: range.end }));
      }
      reply.header('content-length', size);
      return reply.send(fs.createReadStream(file));
    },
  });

  app.post('/api/v1/device/artifacts/:artifactId/signed-url', {
    config: { auth: 'device' },
    schema: {
      tags,
      summary: 'A short-lived URL that downloads the artifact without a token (for container runtimes, helpers)',
      params: Type.Object({ artifactId: Type.String({ maxLength: 128 }) }),
      response: { 200: Type.Object({ url: Type.String() }), ...errorResponses },
    },
    handler: async (request) => {
      const { artifactId } = request.params as { artifactId: string };
      const p = request.principal;
      if (p?.kind !== 'device') throw new ForbiddenError('only a device token can ask for a signed download link');
      const target = await deps.targets.get(p.deviceId);
      if (target?.state.update?.artifactId !== artifactId) throw new ForbiddenError(`device '${p.deviceId}' is not targeted with artifact '${artifactId}'`);
      return { url: `/api/v1/device/artifacts/${encodeURIComponent(artifactId)}?${deps.signer.sign(artifactId, p.deviceId, deps.clock.now())}` };
    },
  });
}
