// Operator API for the device registry: /api/v1/devices. Handlers decode, authorize and call the
// registry service; the rules live in core and registry.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../core/index.js';
import type { DecommissionService } from '../pull/index.js';
import type { Readable } from 'node:stream';
import type { DeviceFormat, DeviceService } from '../registry/index.js';
import { actorOf } from './auth.js';
import { closeAfterAnswer } from './close-after-answer.js';
import { DeviceFilterQuery, DeviceInputSchema, DeviceSchema, errorResponses, listOf, PageQuery } from './schemas.js';

export interface DeviceRouteDeps {
  devices: DeviceService;
  decommission: DecommissionService;
}

const IdParams = Type.Object({ id: Type.String({ maxLength: 128 }) });
const ImportResult = Type.Object({
  rows: Type.Integer(),
  created: Type.Integer(),
  updated: Type.Integer(),
  skipped: Type.Integer(),
  invalid: Type.Array(Type.Object({ line: Type.Integer(), message: Type.String() })),
});

function formatOf(query: { format?: string }, contentType: string | undefined): DeviceFormat {
  if (query.format === 'csv' || query.format === 'ndjson') return query.format;
  if (contentType?.includes('csv')) return 'csv';
  if (contentType?.includes('ndjson') || contentType?.includes('jsonl')) return 'ndjson';
  throw new ValidationError('say the format: ?format=csv or ?format=ndjson, or Content-Type text/csv or application/x-ndjson', [{ path: 'format', message: 'is required' }]);
}

export async function deviceRoutes(app: FastifyInstance, deps: DeviceRouteDeps) {
  const { devices } = deps;
  const tags = ['devices'];

  app.get('/api/v1/devices', {
    config: { auth: 'viewer' },
    schema: { tags, summary: 'List devices with filters (AND) and cursor paging', querystring: Type.Object({ ...DeviceFilterQuery, ...PageQuery }), response: { 200: listOf(DeviceSchema), ...errorResponses } },
    handler: async (request) => {
      const { limit, cursor, ...filterQuery } = request.query as Record<string, unknown> & { limit?: number; cursor?: string };
      return devices.list(devices.parseFilter(filterQuery), { limit: limit ?? 100, cursor });
    },
  });

  app.get('/api/v1/devices/count', {
    config: { auth: 'viewer' },
    schema: { tags, summary: 'Count the devices a filter matches (e.g. before starting a rollout)', querystring: Type.Object(DeviceFilterQuery), response: { 200: Type.Object({ total: Type.Integer() }), ...errorResponses } },
    handler: async (request) => ({ total: await devices.total(devices.parseFilter(request.query as Record<string, unknown>)) }),
  });

  app.post('/api/v1/devices', {
    config: { auth: 'operator' },
    schema: { tags, summary: 'Register a device', body: DeviceInputSchema, response: { 201: DeviceSchema, ...errorResponses } },
    handler: async (request, reply) => reply.code(201).send(await devices.create(request.body, actorOf(request))),
  });

  app.get('/api/v1/devices/:id', {
    config: { auth: 'viewer' },
    schema: { tags, summary: 'Get one device', params: IdParams, response: { 200: DeviceSchema, ...errorResponses } },
    handler: async (request) => devices.get((request.params as { id: string }).id),
  });

  app.put('/api/v1/devices/:id', {
    config: { auth: 'operator' },
    schema: { tags, summary: 'Create or replace a device', params: IdParams, body: DeviceInputSchema, response: { 200: DeviceSchema, 201: DeviceSchema, ...errorResponses } },
    handler: async (request, reply) => {
      const { device, created } = await devices.replace((request.params as { id: string }).id, request.body, actorOf(request));
      return reply.code(created ? 201 : 200).send(device);
    },
  });

  app.patch('/api/v1/devices/:id', {
    config: { auth: 'operator' },
    schema: { tags, summary: 'Change some fields of a device', params: IdParams, body: Type.Partial(DeviceInputSchema, { additionalProperties: false }), response: { 200: DeviceSchema, ...errorResponses } },
    handler: async (request) => devices.patch((request.params as { id: string }).id, request.body, actorOf(request)),
  });

  app.delete('/api/v1/devices/:id', {
    config: { auth: 'operator' },
    schema: {
      tags,
      summary: 'Decommission a device: revoke every credential it has (device/hawkBit target token, Mender auth sets and JWTs) on every server, end its unfinished executions; its history stays',
      params: IdParams,
      response: { 204: Type.Null(), ...errorResponses },
    },
    handler: async (request, reply) => {
      await deps.decommission.decommission((request.params as { id: string }).id, actorOf(request));
      return reply.code(204).send();
    },
  });

  app.post('/api/v1/devices/import', {
    config: { auth: 'operator' },
    schema: {
      tags,
      summary: 'Bulk import (upsert) devices from CSV or NDJSON, streamed',
      description:
        'Rows are validated one by one. By default nothing is written when any row is bad (400 lists the lines); with skipInvalid=true the good rows are written and the bad ones listed. A row longer than ORCHESTRATOR_IMPORT_MAX_ROW_BYTES (1 MiB by default) stops the import at once, whatever skipInvalid says: 400 naming its line, nothing written, the rest of the upload not read (the connection is closed).',
      querystring: Type.Object({ format: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('ndjson')])), skipInvalid: Type.Optional(Type.Boolean({ default: false })) }),
      consumes: ['text/csv', 'application/x-ndjson'],
      response: { 200: ImportResult, ...errorResponses },
    },
    handler: async (request, reply) => {
      const query = request.query as { format?: string; skipInvalid?: boolean };
      const format = formatOf(query, request.headers['content-type']);
      const body = request.body as NodeJS.ReadableStream | undefined;
      if (!body || typeof (body as { pipe?: unknown }).pipe !== 'function') throw new ValidationError('send the file as the request body with Content-Type text/csv or application/x-ndjson');
      try {
        return await devices.import(body as Readable, { format, skipInvalid: query.skipInvalid ?? false }, actorOf(request));
      } catch (error) {
        // Refused before the end of the upload (a row too long, a bad header): the rest is not
        // kept, and the connection closes after the answer.
        if (!request.raw.complete) closeAfterAnswer(request, reply);
        throw error;
      }
    },
  });

  app.get('/api/v1/devices/export', {
    config: { auth: 'viewer' },
    schema: { tags, summary: 'Export devices matching a filter as CSV or NDJSON (the import format)', querystring: Type.Object({ ...DeviceFilterQuery, format: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('ndjson')])) }) },
    handler: async (request, reply) => {
      const { format = 'csv', ...filterQuery } = request.query as Record<string, unknown> & { format?: DeviceFormat };
      const filter = devices.parseFilter(filterQuery);
      reply.type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson');
      reply.header('Content-Disposition', `attachment; filename="devices.${format}"`);
      return reply.send(devices.export(filter, format));
    },
  });
}
