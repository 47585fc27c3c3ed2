// Registry webhooks in: POST /api/v1/webhooks/docker-registry[/:secret]. Refused (403) while
// ORCHESTRATOR_WEBHOOK_SECRET is unset: an anonymous payload must never start a rollout. GHCR
// (GitHub `package` event) is authenticated by X-Hub-Signature-256 over the raw body, Docker Hub
// by the secret in the URL, both before anything else about the request is looked at. Replays
// are refused; every delivery is kept in the event log (`webhook.received`, payload with secrets
// redacted) and matching policies start rollouts.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AuthError, ConflictError, ForbiddenError, hmacSignatureMatches, jsonProblem, sameSecret, ValidationError } from '../core/index.js';
import { parseDockerHub, parseGhcr, payloadDigest, redactPayload, type PolicyService, type RegistryPush, type ReplayGuard } from '../policies/index.js';
import type { EventLog } from '../store/index.js';
import type { Metrics } from './metrics.js';
import { errorResponses } from './schemas.js';

export interface WebhookRouteDeps {
  policies: PolicyService;
  guard: ReplayGuard;
  events: EventLog;
  metrics: Metrics;
  clock: { now(): number };
  /** ORCHESTRATOR_WEBHOOK_SECRET; undefined: every webhook is refused. */
  secret: string | undefined;
}

const MAX_LOGGED_PAYLOAD = 64 * 1024;
const ACTOR = 'webhook:docker-registry';

const TriggerResult = Type.Object({
  policyId: Type.String(),
  policyName: Type.String(),
  rolloutId: Type.Union([Type.String(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  existingRolloutId: Type.Union([Type.String(), Type.Null()], { description: 'the rollout this policy started for the same image before; none is started again' }),
});
const WebhookAnswer = Type.Object({
  source: Type.String(),
  image: Type.Union([Type.String(), Type.Null()]),
  triggered: Type.Array(TriggerResult),
  message: Type.String(),
});

type Source = 'dockerhub' | 'ghcr';

const sourceOf = (request: FastifyRequest): Source => (typeof request.headers['x-github-event'] === 'string' ? 'ghcr' : 'dockerhub');

/** The Docker Hub secret of the URL: the path segment or ?secret= (raw, before validation). */
function urlSecret(request: FastifyRequest): string | undefined {
  const fromPath = (request.params as { secret?: unknown } | undefined)?.secret;
  if (typeof fromPath === 'string') return fromPath;
  const fromQuery = (request.query as { secret?: unknown } | undefined)?.secret;
  return typeof fromQuery === 'string' ? fromQuery : undefined;
}

function loggable(body: Record<string, unknown>, raw: Buffer): unknown {
  return raw.length > MAX_LOGGED_PAYLOAD ? { truncated: true, bytes: raw.length } : redactPayload(body);
}

export async function webhookRoutes(app: FastifyInstance, deps: WebhookRouteDeps) {
  // In this plugin only, JSON bodies stay raw bytes: the signature covers them exactly.
  await app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

    const refused = async (request: FastifyRequest, source: Source, error: Error, result: 'rejected' | 'replay', bytes: number | null) => {
      deps.metrics.webhooks.inc({ source, result });
      await deps.events.append([{ type: 'webhook.rejected', actor: ACTOR, data: { source, reason: error.message, bytes, ip: request.ip } }]);
      return error;
    };

    /** Before the body is read: webhooks on at all, and the Docker Hub URL secret or a GHCR signature header there. */
    const credentials = {
      in: 'headers' as const,
      async check(request: FastifyRequest) {
        const source = sourceOf(request);
        if (!deps.secret) throw await refused(request, source, new ForbiddenError('registry webhooks are refused: ORCHESTRATOR_WEBHOOK_SECRET is not set on the server (set it, then give the registry the URL secret or HMAC key; see docs/security.md)'), 'rejected', null);
        if (source === 'ghcr') {
          const signature = request.headers['x-hub-signature-256'];
          if (typeof signature !== 'string' || !/^sha256=[0-9a-fA-F]{64}$/.test(signature)) throw await refused(request, source, new AuthError('the X-Hub-Signature-256 header is missing or malformed: GHCR webhooks are signed with the configured webhook secret'), 'rejected', null);
          return;
        }
        const given = urlSecret(request);
        if (!given || !sameSecret(given, deps.secret)) throw await refused(request, source, new AuthError('the webhook secret is missing or wrong: use /api/v1/webhooks/docker-registry/<secret> or ?secret=<secret>'), 'rejected', null);
      },
    };

    const handle = async (request: FastifyRequest) => {
      const raw = request.body;
      const source = sourceOf(request);
      const githubEvent = request.headers['x-github-event'];
      const bytes = Buffer.isBuffer(raw) ? raw.length : 0;
      // The HMAC covers the exact bytes: checked before they are parsed.
      if (source === 'ghcr' && !hmacSignatureMatches(deps.secret!, Buffer.isBuffer(raw) ? raw : Buffer.alloc(0), request.headers['x-hub-signature-256'] as string)) {
        throw await refused(request, source, new AuthError('the X-Hub-Signature-256 header does not match the body and the configured webhook secret'), 'rejected', bytes);
      }
      if (!Buffer.isBuffer(raw) || raw.length === 0) throw new ValidationError('send the registry payload as a JSON body (Content-Type: application/json)');
      const reject = (error: Error, result: 'rejected' | 'replay') => refused(request, source, error, result, raw.length);

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
      if (push) {
        const repeated = triggered.filter((t) => t.existingRolloutId !== null || (t.rolloutId === null && t.error === null)).length;
        message += triggered.length ? `; ${triggered.filter((t) => t.rolloutId).length} of ${triggered.length} matching policies started a rollout` : '; no policy matches';
        if (repeated) message += ` (${repeated} had rolled this image out already and did not start it again)`;
      }
      return { source, image: push?.imageRef ?? null, triggered, message };
    };

    const schema = {
      tags: ['webhooks'],
      summary: 'Registry push webhook (Docker Hub, GHCR package event)',
      description: 'Refused (403) while ORCHESTRATOR_WEBHOOK_SECRET is unset. GHCR: X-Hub-Signature-256 (HMAC-SHA256 of the body with the secret). Docker Hub: the secret in the URL (path segment or ?secret=). Replays are refused with 409; an image a policy already rolled out does not start it again.',
      security: [],
      response: { 202: WebhookAnswer, ...errorResponses },
    };
    scope.post('/api/v1/webhooks/docker-registry', {
      config: { auth: 'public', credentials },
      schema: { ...schema, querystring: Type.Object({ secret: Type.Optional(Type.String({ maxLength: 512 })) }) },
      handler: async (request, reply) => reply.code(202).send(await handle(request)),
    });
    scope.post('/api/v1/webhooks/docker-registry/:secret', {
      config: { auth: 'public', credentials },
      schema: { ...schema, params: Type.Object({ secret: Type.String({ maxLength: 512 }) }) },
      handler: async (request, reply) => reply.code(202).send(await handle(request)),
    });
  });
}
