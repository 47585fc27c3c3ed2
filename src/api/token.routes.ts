// Operator tokens: /api/v1/tokens (admin only). The plaintext is shown once, at creation.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ROLES, type Role } from '../core/index.js';
import type { TokenService } from '../tokens/index.js';
import { actorOf } from './auth.js';
import { errorResponses } from './schemas.js';

const TokenRecord = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  role: Type.Union([Type.String(), Type.Null()]),
  deviceId: Type.Union([Type.String(), Type.Null()]),
  name: Type.String(),
  createdAt: Type.String(),
  expiresAt: Type.Union([Type.String(), Type.Null()]),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
});

export async function tokenRoutes(app: FastifyInstance, deps: { tokens: TokenService }) {
  const tags = ['tokens'];
  app.post('/api/v1/tokens', {
    config: { auth: 'admin' },
    schema: {
      tags,
      summary: 'Create an operator token',
      body: Type.Object({ role: Type.Union(ROLES.map((r) => Type.Literal(r))), name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })) }, { additionalProperties: false }),
      response: { 201: Type.Object({ token: Type.String(), role: Type.String(), id: Type.String(), name: Type.String() }), ...errorResponses },
    },
    handler: async (request, reply) => {
      const body = request.body as { role: Role; name?: string };
      const created = await deps.tokens.create(body, actorOf(request));
      return reply.code(201).send({ token: created.token, role: created.role, id: created.id, name: created.name });
    },
  });

  app.get('/api/v1/tokens', {
    config: { auth: 'admin' },
    schema: { tags, summary: 'List tokens (never their secrets)', response: { 200: Type.Object({ items: Type.Array(TokenRecord) }), ...errorResponses } },
    handler: async () => ({ items: await deps.tokens.list() }),
  });

  app.delete('/api/v1/tokens/:id', {
    config: { auth: 'admin' },
    schema: { tags, summary: 'Revoke a token', params: Type.Object({ id: Type.String({ maxLength: 64 }) }), response: { 204: Type.Null(), ...errorResponses } },
    handler: async (request, reply) => {
      const { id } = request.params as { id: string };
      await deps.tokens.revoke(id, actorOf(request));
      return reply.code(204).send();
    },
  });

  app.get('/api/v1/whoami', {
    config: { auth: 'viewer' },
    schema: { tags, summary: 'The role of the calling token', response: { 200: Type.Object({ role: Type.String(), name: Type.String() }), ...errorResponses } },
    handler: async (request) => {
      const p = request.principal!;
      return p.kind === 'operator' ? { role: p.role, name: p.name } : { role: 'device', name: p.deviceId };
    },
  });
}
