// Operator API for releases: /api/v1/releases. A release names a version of several artifacts,
// each for a component and a device match (protocol, device type glob); a rollout of it gives
// each device the artifact that fits it. Operators create and delete, viewers read.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { MAX_RELEASE_ARTIFACTS, RELEASE_PROTOCOLS } from '../core/index.js';
import type { ReleaseService } from '../releases/index.js';
import { actorOf } from './auth.js';
import { errorResponses, listOf, PageQuery } from './schemas.js';

export interface ReleaseRouteDeps {
  releases: ReleaseService;
}

const Protocol = Type.Union(RELEASE_PROTOCOLS.map((p) => Type.Literal(p)));

export const ReleaseSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    version: Type.String(),
    artifacts: Type.Array(
      Type.Object({
        artifactId: Type.String(),
        component: Type.String({ description: "e.g. os, app, config ('main' unless named)" }),
        match: Type.Object({
          protocol: Type.Union([Type.Array(Protocol), Type.Null()], { description: 'the protocols this artifact is for; null: any' }),
          deviceType: Type.Union([Type.String(), Type.Null()], { description: 'glob over the device type (picomatch); null: any device, typed or not' }),
        }),
        position: Type.Integer({ description: 'order in the release: candidates are tried, and components installed, in this order' }),
      }),
    ),
    createdBy: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Release' },
);

const ReleaseBody = Type.Object(
  {
    name: Type.String({ maxLength: 128 }),
    version: Type.String({ maxLength: 64 }),
    artifacts: Type.Array(
      Type.Object(
        {
          artifactId: Type.String({ maxLength: 128 }),
          component: Type.Optional(Type.String({ maxLength: 32, description: "default 'main'" })),
          match: Type.Optional(
            Type.Object(
              {
                protocol: Type.Optional(Type.Union([Protocol, Type.Array(Protocol, { maxItems: RELEASE_PROTOCOLS.length }), Type.Null()], { description: 'default: what the artifact declares (.mender: mender, .swu: hawkbit, else agent, http, ssh)' })),
                deviceType: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()], { description: "glob over the device type; default: the artifact's declared device types or hardware compatibility, else any" })),
              },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: MAX_RELEASE_ARTIFACTS },
    ),
  },
  { additionalProperties: false },
);

const IdParams = Type.Object({ id: Type.String({ maxLength: 128 }) });

export async function releaseRoutes(app: FastifyInstance, deps: ReleaseRouteDeps) {
  const tags = ['releases'];

  app.post('/api/v1/releases', {
    config: { auth: 'operator' },
    schema: { tags, summary: 'Create a release: artifacts per component, each with a device match (filled from what the artifact declares)', body: ReleaseBody, response: { 201: ReleaseSchema, ...errorResponses } },
    handler: async (request, reply) => reply.code(201).send(await deps.releases.create(request.body, actorOf(request))),
  });

  app.get('/api/v1/releases', {
    config: { auth: 'viewer' },
    schema: { tags, summary: 'List releases, newest first', querystring: Type.Object({ name: Type.Optional(Type.String({ maxLength: 128 })), ...PageQuery }), response: { 200: listOf(ReleaseSchema), ...errorResponses } },
    handler: async (request) => {
      const query = request.query as { name?: string; limit?: number; cursor?: string };
      return deps.releases.list({ name: query.name, limit: query.limit ?? 100, cursor: query.cursor });
    },
  });

  app.get('/api/v1/releases/:id', {
    config: { auth: 'viewer' },
    schema: { tags, summary: 'Get one release', params: IdParams, response: { 200: ReleaseSchema, ...errorResponses } },
    handler: async (request) => deps.releases.get((request.params as { id: string }).id),
  });

  app.delete('/api/v1/releases/:id', {
    config: { auth: 'operator' },
    schema: { tags, summary: 'Delete a release (409 while a rollout that has not finished uses it); its artifacts stay', params: IdParams, response: { 204: Type.Null(), ...errorResponses } },
    handler: async (request, reply) => {
      await deps.releases.remove((request.params as { id: string }).id, actorOf(request));
      return reply.code(204).send();
    },
  });
}
