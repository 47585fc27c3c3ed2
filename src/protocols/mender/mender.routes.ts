// The Mender device API (/api/devices/...) that mender-client speaks. Bodies are read as raw
// bytes in this scope: the auth request's signature covers the exact bytes sent (chunked or not).
// Every other route checks the device's JWT before the body is read (RouteCredentials).
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AuthError, refuseJsonProblem, ValidationError } from '../../core/index.js';
import { deviceProvides } from './deployments.js';
import type { MenderAuthService } from './mender-auth.service.js';
import type { MenderDeploymentService } from './mender-deployments.service.js';

export interface MenderRouteDeps {
  auth: MenderAuthService;
  deployments: MenderDeploymentService;
  /** Public base URL for download links; derived from the request when unset. */
  publicUrl: string | undefined;
}

function json(body: unknown): unknown {
  if (body === undefined || body === null || (Buffer.isBuffer(body) && body.length === 0)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.isBuffer(body) ? body.toString('utf8') : String(body));
  } catch {
    throw new ValidationError('the request body is not JSON');
  }
  refuseJsonProblem(parsed, 'body');
  return parsed;
}

const IdParams = Type.Object({ id: Type.String({ maxLength: 128 }) });

export async function menderRoutes(app: FastifyInstance, deps: MenderRouteDeps) {
  await app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser(['application/json', 'text/plain', 'application/jwt'], { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    const tags = ['mender'];
    const origin = (request: FastifyRequest) => deps.publicUrl?.replace(/\/$/, '') ?? `${request.protocol}://${request.headers.host}`;
    const devices = new WeakMap<FastifyRequest, string>();
    const config = {
      auth: 'public' as const,
      credentials: {
        in: 'headers' as const,
        async check(request: FastifyRequest) {
          devices.set(request, await deps.auth.authenticate(request.headers.authorization));
        },
      },
    };
    const device = async (request: FastifyRequest) => devices.get(request) ?? deps.auth.authenticate(request.headers.authorization);

    scope.post('/api/devices/v1/authentication/auth_requests', {
      // The body is the credential: identity and key, signed with that key (X-MEN-Signature), so
      // only the signature's presence can be checked before the body is read.
      config: {
        auth: 'public',
        credentials: {
          in: 'headers',
          check: async (request) => {
            if (!request.headers['x-men-signature']) throw new AuthError('an auth request is signed with the device key: send X-MEN-Signature');
          },
        },
      },
      schema: { tags, summary: 'Authenticate (body signed with the device key in X-MEN-Signature); a JWT once accepted, 401 while pending' },
      handler: async (request, reply) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const signature = request.headers['x-men-signature'];
        const jwt = await deps.auth.authRequest(body, Array.isArray(signature) ? signature[0] : signature);
        return reply.type('application/jwt').send(jwt);
      },
    });

    for (const [method, mode] of [['PUT', 'replace'], ['PATCH', 'merge']] as const) {
      scope.route({
        method,
        url: '/api/devices/v1/inventory/device/attributes',
        config,
        schema: { tags, summary: `${mode === 'replace' ? 'Replace' : 'Update'} the device's inventory attributes ([{name, value}])` },
        handler: async (request, reply) => {
          const deviceId = await device(request);
          await deps.deployments.inventory(deviceId, json(request.body), mode);
          return reply.code(200).send();
        },
      });
    }

    scope.post('/api/devices/v2/deployments/device/deployments/next', {
      config,
      schema: { tags, summary: 'The next deployment for the device given what it provides; 204 when nothing is due' },
      handler: async (request, reply) => {
        const deviceId = await device(request);
        const body = await deps.deployments.next(deviceId, deviceProvides(json(request.body)), origin(request));
        return body ? reply.send(body) : reply.code(204).send();
      },
    });

    scope.get('/api/devices/v1/deployments/device/deployments/next', {
      config,
      schema: { tags, summary: 'v1 fallback: the next deployment (query artifact_name, device_type); 204 when nothing is due', querystring: Type.Object({ artifact_name: Type.Optional(Type.String({ maxLength: 256 })), device_type: Type.Optional(Type.String({ maxLength: 256 })) }) },
      handler: async (request, reply) => {
        const deviceId = await device(request);
        const body = await deps.deployments.next(deviceId, deviceProvides(request.query), origin(request));
        return body ? reply.send(body) : reply.code(204).send();
      },
    });

    scope.put('/api/devices/v1/deployments/device/deployments/:id/status', {
      config,
      schema: { tags, summary: 'Deployment status (downloading, installing, rebooting, success, failure, already-installed); 409 when aborted', params: IdParams },
      handler: async (request, reply) => {
        const deviceId = await device(request);
        await deps.deployments.status(deviceId, (request.params as { id: string }).id, json(request.body));
        return reply.code(204).send();
      },
    });

    scope.put('/api/devices/v1/deployments/device/deployments/:id/log', {
      config,
      schema: { tags, summary: "The device's deployment log ({messages: [{timestamp, level, message}]})", params: IdParams },
      handler: async (request, reply) => {
        const deviceId = await device(request);
        await deps.deployments.log(deviceId, (request.params as { id: string }).id, json(request.body));
        return reply.code(204).send();
      },
    });
  });
}
