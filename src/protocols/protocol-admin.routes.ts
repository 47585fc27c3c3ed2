// Operator API for the device protocol adapters: Mender authentication sets (list, accept,
// reject, preauthorize) and hawkBit tenant gateway tokens.
import { randomBytes } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../api/auth.js';
import { errorResponses } from '../api/schemas.js';
import type { Clock } from '../core/index.js';
import { hashToken, type AuthSetStatus, type HawkbitRepository } from '../store/index.js';
import type { MenderAuthService } from './mender/mender-auth.service.js';

export interface ProtocolAdminDeps {
  menderAuth: MenderAuthService;
  hawkbit: HawkbitRepository;
  clock: Clock;
}

const AuthSetSchema = Type.Object({
  id: Type.String(),
  deviceId: Type.String(),
  identity: Type.Record(Type.String(), Type.Unknown()),
  pubkey: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('accepted'), Type.Literal('rejected'), Type.Literal('preauthorized'), Type.Literal('decommissioned')]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const PreauthBody = Type.Object(
  {
    identity: Type.Record(Type.String(), Type.Unknown(), { description: 'the identity attributes the device sends (id_data)' }),
    pubkey: Type.String({ maxLength: 10_000, description: 'the device public key (PEM)' }),
    deviceId: Type.Optional(Type.String({ maxLength: 128 })),
  },
  { additionalProperties: false },
);
const TenantParams = Type.Object({ tenant: Type.String({ maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' }) });

export async function protocolAdminRoutes(app: FastifyInstance, deps: ProtocolAdminDeps) {
  const tags = ['device protocols'];

  app.get('/api/v1/mender/auth-sets', {
    config: { auth: 'viewer' },
    schema: {
      tags,
      summary: 'Mender devices that asked to authenticate (pending ones wait for an operator)',
      querystring: Type.Object({ status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('accepted'), Type.Literal('rejected'), Type.Literal('preauthorized'), Type.Literal('decommissioned')])), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }),
      response: { 200: Type.Object({ items: Type.Array(AuthSetSchema) }), ...errorResponses },
    },
    handler: async (request) => {
      const q = request.query as { status?: AuthSetStatus; limit?: number };
      return { items: await deps.menderAuth.list(q.status, q.limit ?? 100) };
    },
  });

  for (const verb of ['accept', 'reject'] as const) {
    app.post(`/api/v1/mender/auth-sets/:id/${verb}`, {
      config: { auth: 'operator' },
      schema: { tags, summary: verb === 'accept' ? 'Accept a Mender device: it is registered and gets a token at its next request' : 'Reject a Mender device key', params: IdParams, response: { 200: AuthSetSchema, ...errorResponses } },
      handler: async (request) => deps.menderAuth[verb]((request.params as { id: string }).id, actorOf(request)),
    });
  }

  app.post('/api/v1/mender/preauthorize', {
    config: { auth: 'operator' },
    schema: { tags, summary: 'Preauthorize a Mender device identity and key: accepted at its first request', body: PreauthBody, response: { 201: AuthSetSchema, ...errorResponses } },
    handler: async (request, reply) => reply.code(201).send(await deps.menderAuth.preauthorize(request.body as Static<typeof PreauthBody>, actorOf(request))),
  });

  app.put('/api/v1/hawkbit/tenants/:tenant/gateway-token', {
    config: { auth: 'admin' },
    schema: {
      tags,
      summary: "Create or rotate a hawkBit tenant's gateway token (shown once); controllers using it are registered on first poll",
      params: TenantParams,
      response: { 200: Type.Object({ tenant: Type.String(), gatewayToken: Type.String() }), ...errorResponses },
    },
    handler: async (request) => {
      const { tenant } = request.params as { tenant: string };
      const gatewayToken = `uo_gw_${randomBytes(32).toString('base64url')}`;
      await deps.hawkbit.setGatewayToken(tenant, hashToken(gatewayToken), deps.clock.now());
      return { tenant, gatewayToken };
    },
  });

  app.delete('/api/v1/hawkbit/tenants/:tenant/gateway-token', {
    config: { auth: 'admin' },
    schema: { tags, summary: "Disable a hawkBit tenant's gateway token", params: TenantParams, response: { 204: Type.Null(), ...errorResponses } },
    handler: async (request, reply) => {
      await deps.hawkbit.setGatewayToken((request.params as { tenant: string }).tenant, null, deps.clock.now());
      return reply.code(204).send();
    },
  });
}
