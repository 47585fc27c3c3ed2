// Operator tokens: /api/v1/tokens (admin only). The plaintext is shown once, at creation.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { NotFoundError, ROLES, type Clock, type Role } from '../core/index.js';
import type { Store } from '../store/index.js';
import type { Authenticator } from './auth.js';
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

export async function tokenRoutes(app: FastifyInstance, deps: { store: Store; clock: Clock; auth: Authenticator }) {
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
      const { token, record } = await deps.store.tokens.create({ kind: 'operator', role: body.role, name: body.name ?? `${body.role}-token` }, deps.clock.now());
      await deps.store.events.append([{ type: 'token.created', actor: actorOf(request), data: { id: record.id, role: body.role, name: record.name } }], deps.clock.now());
      return reply.code(201).send({ token, role: body.role, id: record.id, name: record.name });
    },
  });

  app.get('/api/v1/tokens', {
    config: { auth: 'admin' },
    schema: { tags, summary: 'List tokens (never their secrets)', response: { 200: Type.Object({ items: Type.Array(TokenRecord) }), ...errorResponses } },
    handler: async () => ({ items: await deps.store.tokens.list() }),
  });

  app.delete('/api/v1/tokens/:id', {
    config: { auth: 'admin' },
    schema: { tags, summary: 'Revoke a token', params: Type.Object({ id: Type.String({ maxLength: 64 }) }), response: { 204: Type.Null(), ...errorResponses } },
    handler: async (request, reply) => {
      const { id } = request.params as { id: string };
      if (!(await deps.store.tokens.revoke(id, deps.clock.now()))) throw new NotFoundError('live token', id);
      deps.auth.invalidate();
      await deps.store.events.append([{ type: 'token.revoked', actor: actorOf(request), data: { id } }], deps.clock.now());
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
