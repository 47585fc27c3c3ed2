// Operator API for artifacts: /api/v1/artifacts. Uploads stream the raw body (octet-stream) to the
// blob store; a JSON body records a container image reference. Content downloads honour Range.
import type { Readable } from 'node:stream';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BlobTooLargeError, type ArtifactService } from '../artifacts/index.js';
import { ValidationError } from '../core/index.js';
import { sendFile } from '../http/index.js';
import { actorOf } from './auth.js';
import { sendError } from './errors.js';
import { errorResponses, listOf, PageQuery } from './schemas.js';

export interface ArtifactRouteDeps {
  artifacts: ArtifactService;
  maxBytes: number;
}

export const ArtifactSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    version: Type.String(),
    kind: Type.Union([Type.Literal('file'), Type.Literal('image')]),
    sha256: Type.Union([Type.String(), Type.Null()]),
    size: Type.Integer(),
    contentType: Type.String(),
    signature: Type.Union([Type.String(), Type.Null()]),
    imageRef: Type.Union([Type.String(), Type.Null()]),
    metadata: Type.Record(Type.String(), Type.Unknown()),
    chunkIndex: Type.Union(
      [
        Type.Null(),
        Type.Object({
          sha256: Type.String({ description: 'hex sha256 of the encoded chunk index' }),
          chunks: Type.Integer(),
          avgSize: Type.Integer({ description: 'average chunk size the index was made with, bytes' }),
          bytes: Type.Integer({ description: 'size of the encoded index, uncompressed' }),
          signature: Type.Union([Type.String(), Type.Null()], { description: 'ed25519 index signature by the artifact\'s signer, or null' }),
        }),
      ],
      { description: 'the content-defined chunk index devices use for delta downloads (docs/deltas.md); null for image references' },
    ),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Artifact' },
);

const IdParams = Type.Object({ id: Type.String({ maxLength: 128 }) });
const UploadQuery = Type.Object({
  name: Type.Optional(Type.String({ maxLength: 128, description: 'or header X-Artifact-Name' })),
  version: Type.Optional(Type.String({ maxLength: 64, description: 'or header X-Artifact-Version' })),
  signature: Type.Optional(Type.String({ maxLength: 200, description: 'base64 ed25519 signature; or header X-Artifact-Signature' })),
  sha256: Type.Optional(Type.String({ maxLength: 64, description: 'claimed hash, checked against the bytes; or header X-Artifact-Sha256' })),
  contentType: Type.Optional(Type.String({ maxLength: 200, description: 'the artifact\'s own media type (default application/octet-stream)' })),
  chunkAvg: Type.Optional(Type.Integer({ minimum: 1, maximum: 1 << 30, description: 'average chunk size of the chunk index, bytes: a power of two from 8192 to 4194304 (default 65536); or header X-Artifact-Chunk-Avg' })),
  indexSignature: Type.Optional(Type.String({ maxLength: 200, description: 'base64 ed25519 signature of the chunk index by the artifact\'s signer; or header X-Artifact-Index-Signature' })),
  indexSha256: Type.Optional(Type.String({ maxLength: 64, description: 'the chunk index digest the uploader computed, checked; or header X-Artifact-Index-Sha256' })),
});
const ImageBody = Type.Object(
  {
    name: Type.String({ maxLength: 128 }),
    version: Type.String({ maxLength: 64 }),
    imageRef: Type.String({ maxLength: 512, description: 'registry/repo:tag[@sha256:...]' }),
    signature: Type.Optional(Type.String({ maxLength: 200 })),
    publicKey: Type.Optional(Type.String({ maxLength: 1000, description: 'PEM ed25519 public key of the signer' })),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

const header = (request: FastifyRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

async function upload(deps: ArtifactRouteDeps, request: FastifyRequest, reply: FastifyReply) {
  const contentType = header(request, 'content-type') ?? '';
  if (contentType.startsWith('application/json')) {
    const body = request.body as Static<typeof ImageBody>;
    const result = await deps.artifacts.addImage(body, actorOf(request));
    return reply.code(result.created ? 201 : 200).send(result.artifact);
  }
  if (!contentType.startsWith('application/octet-stream')) throw new ValidationError('send the file with Content-Type application/octet-stream, or a JSON image reference {name, version, imageRef}');
  const query = request.query as Static<typeof UploadQuery>;
  const length = Number(header(request, 'content-length') ?? NaN);
  if (Number.isFinite(length) && length > deps.maxBytes) return sendError(reply, 413, 'body_too_large', new BlobTooLargeError(deps.maxBytes).message);
  const publicKeyHeader = header(request, 'x-artifact-public-key');
  const chunkAvgHeader = header(request, 'x-artifact-chunk-avg');
  const chunkAvg = query.chunkAvg ?? (chunkAvgHeader === undefined ? undefined : Number(chunkAvgHeader));
  if (chunkAvg !== undefined && !Number.isSafeInteger(chunkAvg)) throw new ValidationError('X-Artifact-Chunk-Avg must be an integer (bytes)', [{ path: 'chunkAvg', message: 'is not an integer' }]);
  const input = {
    name: query.name ?? header(request, 'x-artifact-name') ?? '',
    version: query.version ?? header(request, 'x-artifact-version') ?? '',
    signature: query.signature ?? header(request, 'x-artifact-signature'),
    sha256: query.sha256 ?? header(request, 'x-artifact-sha256'),
    publicKey: publicKeyHeader ? Buffer.from(publicKeyHeader, 'base64').toString('utf8') : undefined,
    contentType: query.contentType,
    indexSignature: query.indexSignature ?? header(request, 'x-artifact-index-signature'),
    indexSha256: query.indexSha256 ?? header(request, 'x-artifact-index-sha256'),
    chunkAvgSize: chunkAvg,
  };
  if (input.indexSha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(input.indexSha256)) throw new ValidationError('indexSha256 must be 64 hex digits', [{ path: 'indexSha256', message: 'is not a sha256 hex digest' }]);
  const controller = new AbortController();
  request.raw.once('close', () => {
    if (!request.raw.complete) controller.abort();
  });
  try {
    const result = await deps.artifacts.upload(request.body as Readable, input, actorOf(request), controller.signal);
    return reply.code(result.created ? 201 : 200).send(result.artifact);
  } catch (error) {
    if (error instanceof BlobTooLargeError) {
      // Stop reading a body we refuse; the client sees 413 and the connection closes.
      reply.header('connection', 'close');
      return sendError(reply, 413, 'body_too_large', error.message);
    }
    throw error;
  }
}

export async function artifactRoutes(app: FastifyInstance, deps: ArtifactRouteDeps) {
  const tags = ['artifacts'];

  app.post('/api/v1/artifacts', {
    config: { auth: 'operator' },
    bodyLimit: Math.max(deps.maxBytes, 1),
    schema: {
      tags,
      summary: 'Upload an artifact (raw body) or record a container image reference (JSON)',
      description:
        'application/octet-stream: the bytes, streamed, hashed and chunk-indexed; name and version in the query or X-Artifact-Name / X-Artifact-Version; optional signature (X-Artifact-Signature), claimed sha256 (X-Artifact-Sha256), signer key (X-Artifact-Public-Key, base64 of the PEM), index signature (X-Artifact-Index-Signature) and claimed index digest (X-Artifact-Index-Sha256), chunking average (X-Artifact-Chunk-Avg). application/json: {name, version, imageRef}. 201 created, 200 when identical content already exists under that name and version, 409 when other content does, 413 over the size limit.',
      querystring: UploadQuery,
      body: { content: { 'application/json': { schema: ImageBody } } },
      consumes: ['application/octet-stream', 'application/json'],
      response: { 200: ArtifactSchema, 201: ArtifactSchema, 413: errorResponses[400], ...errorResponses },
    },
    handler: (request, reply) => upload(deps, request, reply),
  });

  app.get('/api/v1/artifacts', {
    config: { auth: 'viewer' },
    schema: { tags, summary: 'List artifacts, newest first', querystring: Type.Object({ name: Type.Optional(Type.String({ maxLength: 128 })), ...PageQuery }), response: { 200: listOf(ArtifactSchema), ...errorResponses } },
    handler: async (request) => {
      const query = request.query as { name?: string; limit?: number; cursor?: string };
      return deps.artifacts.list({ name: query.name, limit: query.limit ?? 100, cursor: query.cursor });
    },
  });

  app.get('/api/v1/artifacts/:id', {
    config: { auth: 'viewer' },
    schema: { tags, summary: 'Get one artifact', params: IdParams, response: { 200: ArtifactSchema, ...errorResponses } },
    handler: async (request) => deps.artifacts.get((request.params as { id: string }).id),
  });

  app.delete('/api/v1/artifacts/:id', {
    config: { auth: 'operator' },
    schema: { tags, summary: 'Delete an artifact (409 while a rollout uses it)', params: IdParams, response: { 204: Type.Null(), ...errorResponses } },
    handler: async (request, reply) => {
      await deps.artifacts.remove((request.params as { id: string }).id, actorOf(request));
      return reply.code(204).send();
    },
  });

  app.get('/api/v1/artifacts/:id/content', {
    config: { auth: 'viewer' },
    schema: { tags, summary: 'Download an artifact\'s bytes (Range and multi-range supported)', params: IdParams },
    handler: async (request, reply) => {
      const stored = await deps.artifacts.getStored((request.params as { id: string }).id);
      const file = deps.artifacts.filePath(stored);
      if (!file) throw new ValidationError(`artifact '${stored.id}' is an image reference (${stored.imageRef}); it has no bytes to download`);
      return sendFile(request, reply, file, { etag: `"${stored.sha256}"`, contentType: stored.contentType, attachmentName: `${stored.name}-${stored.version}` });
    },
  });
}
