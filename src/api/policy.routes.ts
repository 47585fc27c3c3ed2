// Registry webhook policies: /api/v1/policies (CRUD) and POST /api/v1/policies/test {image}, which
// answers the policies a push of that image would trigger. Rules live in src/policies.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { PolicyService } from '../policies/index.js';
import { actorOf } from './auth.js';
import { errorResponses } from './schemas.js';

const PolicySchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    image: Type.String({ description: 'picomatch glob over the pushed image: "acme/*", "ghcr.io/acme/app:v*"; with ":" the tag is matched too' }),
    filter: Type.Record(Type.String(), Type.Unknown()),
    template: Type.Record(Type.String(), Type.Unknown(), { description: 'rollout fields except artifactId and filter' }),
    enabled: Type.Boolean(),
    createdBy: Type.String(),
    createdAt: Type.String(),
    updatedAt: Type.String(),
  },
);

const PolicyInput = Type.Object(
  {
    name: Type.String({ maxLength: 128 }),
    image: Type.String({ maxLength: 512 }),
    filter: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    template: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const IdParams = Type.Object({ id: Type.String({ maxLength: 128 }) });

export async function policyRoutes(app: FastifyInstance, deps: { policies: PolicyService }) {
  const { policies } = deps;
  const tags = ['policies'];

  app.get('/api/v1/policies', {
    config: { auth: 'viewer' },
    schema: { tags, summary: 'List policies', response: { 200: Type.Object({ items: Type.Array(PolicySchema) }), ...errorResponses } },
    handler: async () => ({ items: await policies.list() }),
  });

  app.post('/api/v1/policies', {
    config: { auth: 'operator' },
    schema: { tags, summary: 'Create a policy: pushes of matching images start a rollout from its template', body: PolicyInput, response: { 201: PolicySchema, ...errorResponses } },
    handler: async (request, reply) => reply.code(201).send(await policies.create(request.body, actorOf(request))),
  });

  app.post('/api/v1/policies/test', {
    config: { auth: 'viewer' },
    schema: {
      tags,
      summary: 'Which enabled policies a push of this image would trigger',
      body: Type.Object({ image: Type.String({ minLength: 1, maxLength: 512, description: 'registry/repo:tag[@sha256:...]' }) }, { additionalProperties: false }),
      response: { 200: Type.Object({ image: Type.String(), matches: Type.Array(PolicySchema) }), ...errorResponses },
    },
    handler: async (request) => {
      const { image } = request.body as { image: string };
      return { image, matches: await policies.matching(image) };
    },
  });

  app.get('/api/v1/policies/:id', {
    config: { auth: 'viewer' },
    schema: { tags, summary: 'Get a policy (by id or name)', params: IdParams, response: { 200: PolicySchema, ...errorResponses } },
    handler: async (request) => policies.get((request.params as { id: string }).id),
  });

  app.patch('/api/v1/policies/:id', {
    config: { auth: 'operator' },
    schema: { tags, summary: 'Change some fields of a policy', params: IdParams, body: Type.Partial(PolicyInput, { additionalProperties: false }), response: { 200: PolicySchema, ...errorResponses } },
    handler: async (request) => policies.patch((request.params as { id: string }).id, request.body, actorOf(request)),
  });

  app.delete('/api/v1/policies/:id', {
    config: { auth: 'operator' },
    schema: { tags, summary: 'Remove a policy', params: IdParams, response: { 204: Type.Null(), ...errorResponses } },
    handler: async (request, reply) => {
      await policies.remove((request.params as { id: string }).id, actorOf(request));
      return reply.code(204).send();
    },
  });
}
