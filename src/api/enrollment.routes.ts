// Device identity: enrollment keys (admin), self-enrollment with a key (public), per-device tokens,
// and the operator's accept/reject decision for enrolled devices.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ENROLLMENT_KEY_LIMITS, type EnrollmentService } from '../pull/index.js';
import { actorOf } from './auth.js';
import { errorResponses } from './schemas.js';

const IdParams = Type.Object({ id: Type.String({ maxLength: 128 }) });

const Defaults = Type.Object(
  {
    tags: Type.Optional(Type.Record(Type.String(), Type.String())),
    location: Type.Optional(Type.String({ maxLength: 256 })),
    timezone: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

const KeySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  autoAccept: Type.Boolean(),
  defaults: Defaults,
  maxUses: Type.Union([Type.Integer(), Type.Null()]),
  uses: Type.Integer(),
  createdAt: Type.String(),
  expiresAt: Type.Union([Type.String(), Type.Null()]),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
});

const Decision = Type.Object({ deviceId: Type.String(), enrollment: Type.String() });

export async function enrollmentRoutes(app: FastifyInstance, deps: { enrollment: EnrollmentService }) {
  const { enrollment } = deps;

  app.post('/api/v1/enrollment-keys', {
    config: { auth: 'admin' },
    schema: {
      tags: ['enrollment'],
      summary: 'Create an enrollment key; its secret is shown once',
      body: Type.Object(
        {
          name: Type.String({ minLength: 1, maxLength: 128, pattern: '\\S', description: 'not only spaces' }),
          autoAccept: Type.Optional(Type.Boolean({ description: 'devices enrolling with this key are accepted at once' })),
          defaults: Type.Optional(Defaults),
          maxUses: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: ENROLLMENT_KEY_LIMITS.maxUses }), Type.Null()])),
          expiresInSeconds: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: ENROLLMENT_KEY_LIMITS.expiresInSeconds, description: 'at most ten years' }), Type.Null()])),
        },
        { additionalProperties: false },
      ),
      response: { 201: Type.Intersect([Type.Object({ key: Type.String() }), KeySchema]), ...errorResponses },
    },
    handler: async (request, reply) => {
      const { key, record } = await enrollment.createKey(request.body as Parameters<EnrollmentService['createKey']>[0], actorOf(request));
      return reply.code(201).send({ key, ...record });
    },
  });

  app.get('/api/v1/enrollment-keys', {
    config: { auth: 'admin' },
    schema: { tags: ['enrollment'], summary: 'List enrollment keys (never their secrets)', response: { 200: Type.Object({ items: Type.Array(KeySchema) }), ...errorResponses } },
    handler: async () => ({ items: await enrollment.listKeys() }),
  });

  app.delete('/api/v1/enrollment-keys/:id', {
    config: { auth: 'admin' },
    schema: { tags: ['enrollment'], summary: 'Revoke an enrollment key', params: IdParams, response: { 204: Type.Null(), ...errorResponses } },
    handler: async (request, reply) => {
      await enrollment.revokeKey((request.params as { id: string }).id, actorOf(request));
      return reply.code(204).send();
    },
  });

  app.post('/api/v1/device/enroll', {
    // The key in the body is the credential: a wrong one is a 401 before the body is validated.
    config: { auth: 'public', credentials: { in: 'body', check: (request) => enrollment.checkKey((request.body as { enrollmentKey?: unknown } | null)?.enrollmentKey) } },
    schema: {
      tags: ['enrollment'],
      summary: 'A device registers itself with an enrollment key and receives its own token',
      security: [],
      body: Type.Object(
        {
          enrollmentKey: Type.String({ minLength: 1, maxLength: 200 }),
          id: Type.String({ minLength: 1, maxLength: 128 }),
          name: Type.Optional(Type.String({ maxLength: 256 })),
          version: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
          location: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()])),
          timezone: Type.Optional(Type.String({ maxLength: 64 })),
          tags: Type.Optional(Type.Record(Type.String(), Type.String())),
          metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
        },
        { additionalProperties: false },
      ),
      response: { 201: Type.Object({ deviceId: Type.String(), token: Type.String(), enrollment: Type.String() }), ...errorResponses },
    },
    handler: async (request, reply) => reply.code(201).send(await enrollment.enroll(request.body as Parameters<EnrollmentService['enroll']>[0])),
  });

  app.get('/api/v1/enrollments/pending', {
    config: { auth: 'viewer' },
    schema: { tags: ['enrollment'], summary: 'Devices waiting to be accepted or rejected', response: { 200: Type.Object({ items: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), createdAt: Type.String() })) }), ...errorResponses } },
    handler: async () => ({ items: await enrollment.pending() }),
  });

  app.post('/api/v1/devices/:id/token', {
    config: { auth: 'operator' },
    schema: { tags: ['devices'], summary: 'Issue a new bearer token for a device (its previous tokens are revoked)', params: IdParams, response: { 201: Type.Object({ token: Type.String(), deviceId: Type.String() }), ...errorResponses } },
    handler: async (request, reply) => reply.code(201).send(await enrollment.issueToken((request.params as { id: string }).id, actorOf(request))),
  });

  app.delete('/api/v1/devices/:id/token', {
    config: { auth: 'operator' },
    schema: { tags: ['devices'], summary: 'Revoke every token of a device', params: IdParams, response: { 200: Type.Object({ revoked: Type.Integer() }), ...errorResponses } },
    handler: async (request) => ({ revoked: await enrollment.revokeTokens((request.params as { id: string }).id, actorOf(request)) }),
  });

  for (const [action, decision] of [['accept', 'accepted'], ['reject', 'rejected']] as const) {
    app.post(`/api/v1/devices/:id/${action}`, {
      config: { auth: 'operator' },
      schema: { tags: ['enrollment'], summary: `${action === 'accept' ? 'Accept' : 'Reject (and revoke the tokens of)'} an enrolled device`, params: IdParams, response: { 200: Decision, ...errorResponses } },
      handler: async (request) => enrollment.decide((request.params as { id: string }).id, decision, actorOf(request)),
    });
  }
}
