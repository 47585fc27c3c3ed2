// The device API for pull agents: target state with strong ETags (304 from memory on the hot
// path), progress/inventory reports, artifact downloads with Range and multi-range (token or
// signed URL), and each artifact's chunk index for delta downloads.
import fs from 'node:fs';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ArtifactService } from '../artifacts/index.js';
import { AuthError, CHUNK_INDEX_MEDIA_TYPE, DEVICE_TYPE_PATTERN, ForbiddenError, NotFoundError, REPORTED_STATES, TARGET_ACTIONS, ValidationError, type Clock, type DeviceReport } from '../core/index.js';
import type { DeviceSync } from '../engine/device-sync.js';
import { etagMatches, sendFile } from '../http/index.js';
import type { BandwidthLimiter, DownloadSigner, PresenceService, TargetCache } from '../pull/index.js';
import { actorOf, bearerToken, requireDevice, type Authenticator } from './auth.js';
import { sendError } from './errors.js';
import { errorResponses } from './schemas.js';

const gunzipAsync = promisify(gunzip);

/** What a served artifact byte count is: the file's bytes (ranges, multipart framing) or its chunk index. */
export type ServedKind = 'artifact' | 'index';

export interface DeviceApiDeps {
  sync: Pick<DeviceSync, 'reportState' | 'openDownload'>;
  targets: TargetCache;
  presence: PresenceService;
  artifacts: Pick<ArtifactService, 'getStored' | 'filePath' | 'indexPath'>;
  signer: DownloadSigner;
  auth: Authenticator;
  clock: Clock;
  /** Counts bytes written to devices, by the rollout they were fetched for (null: an operator's download). */
  countServed?: (rolloutId: string | null, bytes: number, kind: ServedKind) => void;
  /** Paces downloads to their rollout's bandwidth caps (maxBandwidth, maxDeviceBandwidth). */
  bandwidth?: Pick<BandwidthLimiter, 'pacerFor'>;
}

const literal = (values: readonly string[], options: { description?: string } = {}) => Type.Union(values.map((v) => Type.Literal(v)), options);

const HealthCheckSchema = Type.Object({
  type: literal(['http', 'tcp', 'command']),
  target: Type.String(),
  expectStatus: Type.Optional(Type.Integer()),
  timeoutSeconds: Type.Optional(Type.Number()),
});

const ChunkIndexSchema = Type.Optional(
  Type.Union([
    Type.Null(),
    Type.Object({
      url: Type.String({ description: 'GET: the encoded chunk index (gzip where accepted), same authorization as downloadUrl' }),
      sha256: Type.String({ description: 'hex sha256 of the encoded index' }),
      signature: Type.Union([Type.String(), Type.Null()], { description: 'ed25519 index signature by the artifact\'s signer (signedIndexMessage)' }),
      chunks: Type.Integer(),
      bytes: Type.Integer({ description: 'size of the encoded index, uncompressed' }),
    }),
  ]),
);
const InstallSchema = Type.Object({ handler: literal(['file', 'script', 'container']), settings: Type.Record(Type.String(), Type.Unknown()) });

/** What a target says of one artifact to install (core's TargetArtifact): an update's, or one component's. */
const TargetArtifactFields = {
  artifactId: Type.String(),
  name: Type.String(),
  version: Type.String(),
  sha256: Type.Union([Type.String(), Type.Null()]),
  size: Type.Integer(),
  signature: Type.Union([Type.String(), Type.Null()]),
  imageRef: Type.Union([Type.String(), Type.Null()]),
  downloadUrl: Type.Union([Type.String(), Type.Null()]),
  index: ChunkIndexSchema,
  install: InstallSchema,
};

const TargetComponentSchema = Type.Object({
  component: Type.String({ description: "the release's component name, e.g. os, app" }),
  ...TargetArtifactFields,
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
        ...TargetArtifactFields,
        healthChecks: Type.Array(HealthCheckSchema),
        healthDeadlineSeconds: Type.Optional(Type.Number()),
        action: Type.Optional(
          literal(TARGET_ACTIONS, {
            description: 'download-ahead rollouts: "download" while the maintenance window is closed (download and verify, report downloaded, do not install), "install" once it opens; absent: install',
          }),
        ),
        installAfter: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'with action "download": when the window next opens (ISO), where known; the target says "install" then' })),
        revert: Type.Optional(
          Type.Object(
            { sha256: Type.Union([Type.String(), Type.Null()]), imageRef: Type.Union([Type.String(), Type.Null()]) },
            { description: 'a rollback: switch back to the release kept in the other slot, leaving the one named here (name, version, these hashes); nothing to download' },
          ),
        ),
        components: Type.Optional(
          Type.Array(TargetComponentSchema, {
            description:
              'several components of a release, in install order: download and verify each, install them in order, health-check once all are in, roll every one back (reverse order) if any step fails; name and version are then the release\'s and the top-level sha256/downloadUrl are null',
          }),
        ),
      }),
    ]),
  },
  { $id: 'TargetState' },
);

const ReportSchema = Type.Object(
  {
    version: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    deviceType: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: DEVICE_TYPE_PATTERN.source, description: 'the hardware type (agent --device-type)' })),
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

/** True when Accept-Encoding allows gzip (a q=0 refuses it). */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  const value = Array.isArray(header) ? header.join(',') : (header ?? '');
  return value.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding !== 'gzip' && coding !== 'x-gzip' && coding !== '*') return false;
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    return q === undefined || Number(q) > 0;
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
      // One unit of work: what the device runs is recorded first, also when the execution refuses
      // the report (unknown or stopped) or the device runs something other than its target; a
      // refused report stores nothing else.
      const execution = await deps.sync.reportState(
        p.deviceId,
        {
          version: report.version,
          execution: report.execution,
          alongside: async (tx) => {
            if (report.deviceType) await tx.devices.setDeviceType(p.deviceId, report.deviceType, now);
            await tx.deviceReports.save(p.deviceId, { version: report.version, execution: report.execution }, report.inventory, now);
          },
        },
        actorOf(request),
      );
      return { deviceId: p.deviceId, execution };
    },
  });

  /**
   * Who may download: a signed URL, an operator, or a device whose current target or in-flight
   * execution has this artifact (a paused rollout lets a started download finish). A device's
   * first request marks its released execution as downloading (see DeviceSync.openDownload).
   * Runs before validation (RouteCredentials), so the query is read as whatever strings it holds.
   * Remembers the rollout the download is for (null for operators, or a link whose device moved
   * on), which the handler counts the bytes served against.
   */
  const downloadRollout = new WeakMap<FastifyRequest, { rolloutId: string | null; deviceId: string | null }>();
  async function authorizeDownload(request: FastifyRequest): Promise<void> {
    const rolloutId = await downloadRolloutOf(request);
    const principal = request.principal;
    const signedFor = (request.query as { device?: unknown } | undefined)?.device;
    downloadRollout.set(request, { rolloutId, deviceId: principal?.kind === 'device' ? principal.deviceId : typeof signedFor === 'string' ? signedFor : null });
  }
  async function downloadRolloutOf(request: FastifyRequest): Promise<string | null> {
    const artifactId = String((request.params as { artifactId?: unknown }).artifactId ?? '');
    const raw = (request.query ?? {}) as Record<string, unknown>;
    const text = (key: string) => (typeof raw[key] === 'string' ? raw[key] : undefined);
    const query = { device: text('device'), expires: text('expires'), sig: text('sig') };
    if (raw.sig !== undefined && raw.sig !== '') {
      if (!deps.signer.verify(artifactId, query, deps.clock.now())) throw new ForbiddenError('the download link is invalid or expired; poll the target state for a new one');
      return deps.sync.openDownload(query.device!, artifactId);
    }
    const token = bearerToken(request);
    if (!token) throw new AuthError();
    const principal = await deps.auth.resolve(token);
    if (!principal) throw new AuthError('the bearer token is unknown, revoked or expired');
    request.principal = principal;
    if (principal.kind === 'operator') return null;
    const rolloutId = await deps.sync.openDownload(principal.deviceId, artifactId);
    if (rolloutId === null) throw new ForbiddenError(`device '${principal.deviceId}' is not targeted with artifact '${artifactId}'`);
    return rolloutId;
  }

  const served = (rolloutId: string | null, kind: ServedKind) => (bytes: number) => deps.countServed?.(rolloutId, bytes, kind);

  const DownloadQuery = Type.Object({ device: Type.Optional(Type.String({ maxLength: 128 })), expires: Type.Optional(Type.String({ maxLength: 20 })), sig: Type.Optional(Type.String({ maxLength: 100 })) });

  app.get('/api/v1/device/artifacts/:artifactId', {
    config: { auth: 'public', credentials: { in: 'headers', check: authorizeDownload } },
    schema: {
      tags,
      summary: 'Download an artifact the device is targeted with; bearer token or signed URL',
      description: 'Range: one range answers 206 with Content-Range; several (bytes=0-99,500-599) answer 206 multipart/byteranges (overlapping and adjacent ranges merged, at most 256 after merging, else 416). If-Range with the ETag.',
      params: Type.Object({ artifactId: Type.String({ maxLength: 128 }) }),
      querystring: DownloadQuery,
    },
    handler: async (request, reply) => {
      const { artifactId } = request.params as { artifactId: string };
      const { rolloutId, deviceId } = downloadRollout.get(request) ?? { rolloutId: null, deviceId: null };
      const stored = await deps.artifacts.getStored(artifactId);
      const file = deps.artifacts.filePath(stored);
      if (!file) throw new ValidationError(`artifact '${artifactId}' is an image reference; pull ${stored.imageRef} instead`);
      // A rollout's bandwidth caps pace its devices' downloads (never refuse them); operators' downloads are not capped.
      const pace = rolloutId && deviceId && deps.bandwidth ? ((await deps.bandwidth.pacerFor(rolloutId, deviceId)) ?? undefined) : undefined;
      return sendFile(request, reply, file, { etag: `"${stored.sha256}"`, onBytes: served(rolloutId, 'artifact'), pace });
    },
  });

  app.get('/api/v1/device/artifacts/:artifactId/index', {
    config: { auth: 'public', credentials: { in: 'headers', check: authorizeDownload } },
    schema: {
      tags,
      summary: 'The chunk index of an artifact the device is targeted with (for delta downloads); bearer token or signed URL',
      description: `The encoded index (${CHUNK_INDEX_MEDIA_TYPE}, see docs/deltas.md), gzip-compressed when Accept-Encoding allows; its sha256 is the target's index.sha256 and the X-Chunk-Index-Sha256 header. Strong ETag per encoding; If-None-Match answers 304. 404 no_chunk_index when the artifact has none (download it whole).`,
      params: Type.Object({ artifactId: Type.String({ maxLength: 128 }) }),
      querystring: DownloadQuery,
    },
    handler: async (request, reply) => {
      const { artifactId } = request.params as { artifactId: string };
      const rolloutId = downloadRollout.get(request)?.rolloutId ?? null;
      const stored = await deps.artifacts.getStored(artifactId);
      const file = deps.artifacts.indexPath(stored);
      if (!file || !stored.chunkIndex) return sendError(reply, 404, 'no_chunk_index', `artifact '${artifactId}' has no chunk index${stored.kind === 'image' ? ' (it is an image reference)' : ' yet'}; download it whole`);
      const gzip = acceptsGzip(request.headers['accept-encoding']);
      const etag = `"${stored.chunkIndex.sha256}${gzip ? '.gz' : ''}"`;
      reply.header('etag', etag).header('vary', 'accept-encoding').header('cache-control', 'private, max-age=31536000, immutable').header('x-chunk-index-sha256', stored.chunkIndex.sha256);
      if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send();
      const compressed = await fs.promises.readFile(file);
      const body = gzip ? compressed : await gunzipAsync(compressed);
      if (gzip) reply.header('content-encoding', 'gzip');
      served(rolloutId, 'index')(body.length);
      return reply.type(CHUNK_INDEX_MEDIA_TYPE).header('content-length', body.length).send(body);
    },
  });

  app.post('/api/v1/device/artifacts/:artifactId/signed-url', {
    config: { auth: 'device' },
    schema: {
      tags,
      summary: 'A short-lived URL that downloads the artifact without a token (for container runtimes, helpers)',
      params: Type.Object({ artifactId: Type.String({ maxLength: 128 }) }),
      response: { 200: Type.Object({ url: Type.String(), indexUrl: Type.Union([Type.String(), Type.Null()], { description: 'the artifact\'s chunk index, authorized by the same signature; null without one' }) }), ...errorResponses },
    },
    handler: async (request) => {
      const { artifactId } = request.params as { artifactId: string };
      const p = request.principal;
      if (p?.kind !== 'device') throw new ForbiddenError('only a device token can ask for a signed download link');
      const target = await deps.targets.get(p.deviceId);
      if (target?.state.update?.artifactId !== artifactId) throw new ForbiddenError(`device '${p.deviceId}' is not targeted with artifact '${artifactId}'`);
      const query = deps.signer.sign(artifactId, p.deviceId, deps.clock.now());
      const base = `/api/v1/device/artifacts/${encodeURIComponent(artifactId)}`;
      return { url: `${base}?${query}`, indexUrl: target.state.update.index ? `${base}/index?${query}` : null };
    },
  });
}
