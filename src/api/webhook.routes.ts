// Registry webhooks in: POST /api/v1/webhooks/docker-registry[/:secret]. GHCR (GitHub `package`
// event) is authenticated by X-Hub-Signature-256 over the raw body, Docker Hub by the secret in
// the URL, when a secret is configured. Replays are refused; every delivery is kept in the event
// log (`webhook.received`, payload with secrets redacted) and matching policies start rollouts.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AuthError, ConflictError, jsonProblem, ValidationError } from '../core/index.js';
import { parseDockerHub, parseGhcr, payloadDigest, redactPayload, safeEqual, verifyHubSignature, type PolicyService, type RegistryPush, type ReplayGuard } from '../policies/index.js';
import type { EventLog } from '../store/index.js';
import type { Metrics } from './metrics.js';
import { errorResponses } from './schemas.js';

export interface WebhookRouteDeps {
  policies: PolicyService;
  guard: ReplayGuard;
  events: EventLog;
  metrics: Metrics;
  clock: { now(): number };
  secret: string | undefined;
}

const MAX_LOGGED_PAYLOAD = 64 * 1024;
const ACTOR = 'webhook:docker-registry';

const TriggerResult = Type.Object({ policyId: Type.String(), policyName: Type.String(), rolloutId: Type.Union([Type.String(), Type.Null()]), error: Type.Union([Type.String(), Type.Null()]) });
const WebhookAnswer = Type.Object({
  source: Type.String(),
  image: Type.Union([Type.String(), Type.Null()]),
  triggered: Type.Array(TriggerResult),
  message: Type.String(),
});

type Source = 'dockerhub' | 'ghcr';

function loggable(body: Record<string, unknown>, raw: Buffer): unknown {
  return raw.length > MAX_LOGGED_PAYLOAD ? { truncated: true, bytes: raw.length } : redactPayload(body);
}

export async function webhookRoutes(app: FastifyInstance, deps: WebhookRouteDeps) {
  // In this plugin only, JSON bodies stay raw bytes: the signature covers them exactly.
  await app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

    const handle = async (request: FastifyRequest, urlSecret: string | undefined) => {
      const raw = request.body;
      if (!Buffer.isBuffer(raw) || raw.length === 0) throw new ValidationError('send the registry payload as a JSON body (Content-Type: application/json)');
      const githubEvent = request.headers['x-github-event'];
      const source: Source = typeof githubEvent === 'string' ? 'ghcr' : 'dockerhub';
      const reject = async (error: Error, result: 'rejected' | 'replay') => {
        deps.metrics.webhooks.inc({ source, result });
        await deps.events.append([{ type: 'webhook.rejected', actor: ACTOR, data: { source, reason: error.message, bytes: raw.length, ip: request.ip } }]);
        return error;
      };

      if (deps.secret) {
        if (source === 'ghcr') {
          const signature = request.headers['x-hub-signature-256'];
          if (!verifyHubSignature(deps.secret, raw, typeof signature === 'string' ? signature : undefined)) throw await reject(new AuthError('the X-Hub-Signature-256 header is missing or does not match the body and the configured webhook secret'), 'rejected');
        } else if (!urlSecret || !safeEqual(urlSecret, deps.secret)) {
          throw await reject(new AuthError('the webhook secret is missing or wrong: use /api/v1/webhooks/docker-registry/<secret> or ?secret=<secret>'), 'rejected');
        }
      }

      let body: Record<string, unknown>;
      try {
        const parsed: unknown = JSON.parse(raw.toString('utf8'));
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the body must be a JSON object');
        const problem = jsonProblem(parsed, 'body');
        if (problem) throw new Error(`${problem.path} ${problem.message}`);
        body = parsed as Record<string, unknown>;
      } catch (error) {
        throw await reject(new ValidationError(`invalid JSON body: ${(error as Error).message}`), 'rejected');
      }

      const delivery = request.headers['x-github-delivery'];
      const keys = [`digest:${payloadDigest(raw)}`, ...(typeof delivery === 'string' && delivery ? [`delivery:${delivery.slice(0, 200)}`] : [])];
      if (!(await deps.guard.admit(keys, deps.clock.now()))) throw await reject(new ConflictError('this delivery was already received (same delivery id or identical payload): refused as a replay'), 'replay');

      let push: RegistryPush | null = null;
      let message: string;
      if (source === 'ghcr' && githubEvent === 'ping') message = 'pong';
      else if (source === 'ghcr' && githubEvent !== 'package' && githubEvent !== 'registry_package') message = `ignored GitHub event '${githubEvent}'`;
      else {
        try {
          push = source === 'ghcr' ? parseGhcr(body) : parseDockerHub(body);
        } catch (error) {
          await deps.events.append([{ type: 'webhook.received', actor: ACTOR, data: { source, result: 'invalid', error: (error as Error).message, payload: loggable(body, raw) } }]);
          deps.metrics.webhooks.inc({ source, result: 'rejected' });
          throw error;
        }
        message = push ? `received ${push.imageRef}` : 'ignored: not a tagged container image';
      }
      const action = typeof body.action === 'string' ? body.action : undefined;
      await deps.events.append([{ type: 'webhook.received', actor: ACTOR, data: { source, event: githubEvent ?? 'push', action, image: push?.imageRef ?? null, delivery: typeof delivery === 'string' ? delivery : null, payload: loggable(body, raw) } }]);
      const triggered = push ? await deps.policies.trigger(push, ACTOR) : [];
      deps.metrics.webhooks.inc({ source, result: push ? 'accepted' : 'ignored' });
      if (push) message += triggered.length ? `; ${triggered.filter((t) => t.rolloutId).length} of ${triggered.length} matching policies started a rollout` : '; no policy matches';
      return { source, image: push?.imageRef ?? null, triggered, message };
    };

    const schema = {
      tags: ['webhooks'],
      summary: 'Registry push webhook (Docker Hub, GHCR package event)',
      description: 'GHCR: X-Hub-Signature-256 is checked when ORCHESTRATOR_WEBHOOK_SECRET is set. Docker Hub: put the secret in the URL (path segment or ?secret=). Replays are refused with 409.',
      security: [],
      response: { 202: WebhookAnswer, ...errorResponses },
    };
    scope.post('/api/v1/webhooks/docker-registry', {
      config: { auth: 'public' },
      schema: { ...schema, querystring: Type.Object({ secret: Type.Optional(Type.String({ maxLength: 512 })) }) },
      handler: async (request, reply) => reply.code(202).send(await handle(request, (request.query as { secret?: string }).secret)),
    });
    scope.post('/api/v1/webhooks/docker-registry/:secret', {
      config: { auth: 'public' },
      schema: { ...schema, params: Type.Object({ secret: Type.String({ maxLength: 512 }) }) },
      handler: async (request, reply) => reply.code(202).send(await handle(request, (request.params as { secret: string }).secret)),
    });
  });
}
