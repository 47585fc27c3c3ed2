// Saved device groups: /api/v1/groups. A group is named in any device filter as `group=<name or
// id>` (the device list, exports, rollouts, policies). Rules live in core/group.ts and the
// registry's GroupService.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { MAX_GROUP_IDS } from '../core/index.js';
import type { GroupService } from '../registry/index.js';
import { actorOf } from './auth.js';
import { errorResponses, PageQuery } from './schemas.js';

const Tenant = Type.String({ maxLength: 64, description: 'hawkBit tenant of the devices (default DEFAULT)' });
const FilterObject = Type.Record(Type.String({ maxLength: 32 }), Type.Unknown(), { description: 'device list filter keys (status, mode, location, version, tag, q, lastSeenBefore, lastSeenAfter), as for GET /api/v1/devices' });
const DeviceIds = (description: string) => Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: MAX_GROUP_IDS, description });

export const GroupSchema = Type.Object({
  id: Type.String(),
  tenant: Type.String(),
  name: Type.String(),
  kind: Type.Union([Type.Literal('static'), Type.Literal('dynamic')]),
  filter: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()], { description: 'a dynamic group’s filter; null for a static group' }),
  members: Type.Integer({ description: 'devices in service that belong now (live)' }),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

const GroupCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128 }),
    kind: Type.Union([Type.Literal('static'), Type.Literal('dynamic')]),
    tenant: Type.Optional(Tenant),
    filter: Type.Optional(FilterObject),
    devices: Type.Optional(DeviceIds('a static group’s first devices (ids of its tenant)')),
  },
  { additionalProperties: false },
);

const GroupPatch = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    filter: Type.Optional(FilterObject),
    add: Type.Optional(DeviceIds('device ids to add to a static group')),
    remove: Type.Optional(DeviceIds('device ids to remove from a static group')),
  },
  { additionalProperties: false },
);

const RefParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128, description: 'group id, or its name' }) });
const TenantQuery = Type.Object({ tenant: Type.Optional(Tenant) });

export async function groupRoutes(app: FastifyInstance, deps: { groups: GroupService }) {
  const { groups } = deps;
  const tags = ['groups'];

  app.post('/api/v1/groups', {
    config: { auth: 'operator' },
    schema: { tags, summary: 'Create a group: static (a list of devices) or dynamic (a saved filter)', body: GroupCreate, response: { 201: GroupSchema, ...errorResponses } },
    handler: async (request, reply) => reply.code(201).send(await groups.create(request.body, actorOf(request))),
  });

  app.get('/api/v1/groups', {
    config: { auth: 'viewer' },
    schema: {
      tags,
      summary: 'List groups by id, each with its live member count',
      querystring: Type.Object({ ...PageQuery, tenant: Type.Optional(Tenant), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 100 })) }),
      response: { 200: Type.Object({ items: Type.Array(GroupSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...errorResponses },
    },
    handler: async (request) => {
      const { limit, cursor, tenant } = request.query as { limit?: number; cursor?: string; tenant?: string };
      return groups.list({ tenant, limit: limit ?? 100, cursor });
    },
  });

  app.get('/api/v1/groups/:id', {
    config: { auth: 'viewer' },
    schema: { tags, summary: 'Get one group (by id or name) with its live member count; its devices are GET /api/v1/devices?group=<id>', params: RefParams, querystring: TenantQuery, response: { 200: GroupSchema, ...errorResponses } },
    handler: async (request) => groups.get((request.params as { id: string }).id, (request.query as { tenant?: string }).tenant),
  });

  app.patch('/api/v1/groups/:id', {
    config: { auth: 'operator' },
    schema: { tags, summary: 'Rename a group, change a dynamic group’s filter, or add and remove a static group’s devices', params: RefParams, querystring: TenantQuery, body: GroupPatch, response: { 200: GroupSchema, ...errorResponses } },
    handler: async (request) => groups.patch((request.params as { id: string }).id, request.body, actorOf(request), (request.query as { tenant?: string }).tenant),
  });

  app.delete('/api/v1/groups/:id', {
    config: { auth: 'operator' },
    schema: { tags, summary: 'Delete a group (409 while an unfinished rollout or a policy names it); its devices stay', params: RefParams, querystring: TenantQuery, response: { 204: Type.Null(), ...errorResponses } },
    handler: async (request, reply) => {
      await groups.delete((request.params as { id: string }).id, actorOf(request), (request.query as { tenant?: string }).tenant);
      return reply.code(204).send();
    },
  });
}
