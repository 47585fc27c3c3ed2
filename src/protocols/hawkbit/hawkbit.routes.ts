// hawkBit DDI v1 routes under /{tenant}/controller/v1/{controllerId}. The controller's credential
// (TargetToken/GatewayToken) is checked before the body is read (onRequest, RouteCredentials);
// handlers decode and call HawkbitService; errors map like every other route.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { clientProtocol, type TrustProxy } from '../../api/client-address.js';
import type { ArtifactService } from '../../artifacts/index.js';
import { etagMatches, sendFile } from '../../http/index.js';
import { artifactFile } from '../artifact-files.js';
import type { HawkbitService } from './hawkbit.service.js';

export interface HawkbitRouteDeps {
  hawkbit: HawkbitService;
  artifacts: ArtifactService;
  /** Public base URL for links; derived from the request when unset. */
  publicUrl: string | undefined;
  /** Which proxies' X-Forwarded-Proto counts for links derived from the request. */
  trust: TrustProxy;
}

export const DDI_POLL_ROUTE = '/:tenant/controller/v1/:controllerId';
/** The path parameters' rules (the fast poll path checks the same ones). */
export const CONTROLLER_ID = { maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$' };
export const TENANT = { maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' };
const NAME = CONTROLLER_ID;
const Controller = { tenant: Type.String(TENANT), controllerId: Type.String(NAME) };
const wellFormed = (value: unknown, shape: { maxLength: number; pattern: string }) => typeof value === 'string' && value.length <= shape.maxLength && new RegExp(shape.pattern).test(value);
const ControllerParams = Type.Object(Controller);
const ActionParams = Type.Object({ ...Controller, actionId: Type.Integer({ minimum: 1 }) });
const Json = Type.Object({}, { additionalProperties: true });

type Params = { tenant: string; controllerId: string; actionId?: number };

export async function hawkbitRoutes(app: FastifyInstance, deps: HawkbitRouteDeps) {
  const { hawkbit } = deps;
  const tags = ['hawkbit'];
  const prefix = DDI_POLL_ROUTE;
  /** The controller each authenticated request speaks for. */
  const authenticated = new WeakMap<FastifyRequest, string>();
  const config = {
    auth: 'public' as const,
    credentials: {
      in: 'headers' as const,
      async check(request: FastifyRequest) {
        const p = request.params as Partial<Params>;
        // A path no controller can have is left to the schema (400): nothing is looked up for it.
        if (!wellFormed(p.tenant, TENANT) || !wellFormed(p.controllerId, NAME)) return;
        authenticated.set(request, await hawkbit.authenticate(p.tenant!, p.controllerId!, request.headers.authorization));
      },
    },
  };

  const base = (request: FastifyRequest, p: Params) => controllerBase(linkOrigin(deps.publicUrl, request.raw, deps.trust), p.tenant, p.controllerId);

  async function device(request: FastifyRequest): Promise<{ p: Params; deviceId: string }> {
    const p = request.params as Params;
    const deviceId = authenticated.get(request) ?? (await hawkbit.authenticate(p.tenant, p.controllerId, request.headers.authorization));
    return { p, deviceId };
  }

  app.get(prefix, {
    config,
    schema: { tags, summary: 'DDI base poll: polling sleep and links to what the controller should do (ETag/If-None-Match)', params: ControllerParams },
    handler: async (request, reply) => {
      const { p, deviceId } = await device(request);
      const { body, etag } = await hawkbit.poll(deviceId, base(request, p));
      reply.header('etag', etag).header('cache-control', 'no-cache');
      if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send();
      return reply.type('application/hal+json').send(body);
    },
  });

  app.get(`${prefix}/deploymentBase/:actionId`, {
    config,
    schema: { tags, summary: 'The deployment of an open action: modes, maintenance window, chunks and artifacts', params: ActionParams },
    handler: async (request, reply) => {
      const { p, deviceId } = await device(request);
      return reply.type('application/hal+json').send(await hawkbit.deploymentBase(deviceId, p.actionId!, base(request, p)));
    },
  });

  app.post(`${prefix}/deploymentBase/:actionId/feedback`, {
    config,
    schema: { tags, summary: 'Progress and result of an action (proceeding, downloaded, closed success/failure, ...)', params: ActionParams, body: Json },
    handler: async (request, reply) => {
      const { p, deviceId } = await device(request);
      await hawkbit.feedback(deviceId, p.actionId!, request.body);
      return reply.code(200).send();
    },
  });

  app.get(`${prefix}/installedBase/:actionId`, {
    config,
    schema: { tags, summary: 'The last action installed on the controller', params: ActionParams },
    handler: async (request, reply) => {
      const { p, deviceId } = await device(request);
      return reply.type('application/hal+json').send(await hawkbit.installedBase(deviceId, p.actionId!, base(request, p)));
    },
  });

  app.get(`${prefix}/cancelAction/:actionId`, {
    config,
    schema: { tags, summary: 'An action an operator cancelled', params: ActionParams },
    handler: async (request, reply) => {
      const { p, deviceId } = await device(request);
      return reply.type('application/hal+json').send(await hawkbit.cancelAction(deviceId, p.actionId!));
    },
  });

  app.post(`${prefix}/cancelAction/:actionId/feedback`, {
    config,
    schema: { tags, summary: 'The controller confirms (closed/canceled) or rejects a cancellation', params: ActionParams, body: Json },
    handler: async (request, reply) => {
      const { p, deviceId } = await device(request);
      await hawkbit.cancelFeedback(deviceId, p.actionId!, request.body);
      return reply.code(200).send();
    },
  });

  app.put(`${prefix}/configData`, {
    config,
    schema: { tags, summary: "The controller's attributes (stored as the device's inventory)", params: ControllerParams, body: Json },
    handler: async (request, reply) => {
      const { deviceId } = await device(request);
      await hawkbit.configData(deviceId, request.body);
      return reply.code(200).send();
    },
  });

  app.get(`${prefix}/softwaremodules/:moduleId/artifacts/:fileName`, {
    config,
    schema: { tags, summary: 'Download an artifact of the open action (Range supported)', params: Type.Object({ ...Controller, moduleId: Type.String({ maxLength: 128 }), fileName: Type.String({ maxLength: 300 }) }) },
    handler: async (request, reply) => {
      const { deviceId } = await device(request);
      const { moduleId, fileName } = request.params as { moduleId: string; fileName: string };
      const artifact = await hawkbit.downloadable(deviceId, moduleId);
      if (fileName.endsWith('.MD5SUM')) {
        const { md5 } = await hawkbit.hashesOf(artifact);
        return reply.type('text/plain').send(`${md5}  ${fileName.slice(0, -'.MD5SUM'.length)}\n`);
      }
      return sendFile(request, reply, await artifactFile(deps.artifacts, artifact.id), { etag: `"${artifact.sha256}"` });
    },
  });
}

/** The origin of the links a controller is sent: the public URL, else the one it reached us by. */
export function linkOrigin(publicUrl: string | undefined, req: import('node:http').IncomingMessage, trust: TrustProxy): string {
  return publicOrigin(publicUrl) ?? `${clientProtocol(req, trust)}://${req.headers.host}`;
}

/** The configured public URL without its trailing slash. */
export function publicOrigin(publicUrl: string | undefined): string | undefined {
  return publicUrl?.replace(/\/$/, '');
}

/** {origin}/{tenant}/controller/v1/{controllerId}: the prefix of every link of one controller. */
export function controllerBase(origin: string, tenant: string, controllerId: string): string {
  return `${origin}/${encodeURIComponent(tenant)}/controller/v1/${encodeURIComponent(controllerId)}`;
}
