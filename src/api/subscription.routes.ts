// Notification subscriptions (webhooks and email): /api/v1/subscriptions. Admin only to change
// (they send data to URLs and addresses of the caller's choice); the secret is write-only, and the
// server's SMTP settings (password included) are never part of an answer.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { SubscriptionService } from '../notify/index.js';
import { actorOf } from './auth.js';
import { errorResponses } from './schemas.js';

const SubscriptionSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Type.Union([Type.Literal('webhook'), Type.Literal('email')]),
  url: Type.Union([Type.String(), Type.Null()], { description: 'the webhook URL; null for email' }),
  to: Type.Array(Type.String(), { description: 'email recipients; empty for a webhook' }),
  events: Type.Array(Type.String()),
  format: Type.String(),
  enabled: Type.Boolean(),
  hasSecret: Type.Boolean(),
  createdBy: Type.String(),
  createdAt: Type.String(),
});

export async function subscriptionRoutes(app: FastifyInstance, deps: { subscriptions: SubscriptionService }) {
  const { subscriptions } = deps;
  const tags = ['subscriptions'];
  app.get('/api/v1/subscriptions', {
    config: { auth: 'operator' },
    schema: { tags, summary: 'List notification subscriptions (secrets are never shown)', response: { 200: Type.Object({ items: Type.Array(SubscriptionSchema) }), ...errorResponses } },
    handler: async () => ({ items: await subscriptions.list() }),
  });
  app.post('/api/v1/subscriptions', {
    config: { auth: 'admin' },
    schema: {
      tags,
      summary: 'Subscribe to events: a URL (signed JSON POSTs with X-Orchestrator-Signature-256, or Slack-compatible messages), or email recipients (plain-text mail through the server\'s SMTP settings, ORCHESTRATOR_SMTP_URL)',
      body: Type.Object(
        {
          kind: Type.Optional(Type.Union([Type.Literal('webhook'), Type.Literal('email')], { description: 'default webhook (email when only `to` is given)' })),
          url: Type.Optional(Type.String({ maxLength: 2048, description: 'webhook: the http(s) URL' })),
          to: Type.Optional(Type.Array(Type.String({ maxLength: 254 }), { minItems: 1, maxItems: 20, description: 'email: recipient addresses' })),
          name: Type.Optional(Type.String({ maxLength: 128 })),
          events: Type.Optional(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 50, description: 'types or prefixes; default rollout.* (json) or rollout.paused/failed/completed (slack, email)' })),
          secret: Type.Optional(Type.String({ minLength: 8, maxLength: 256, description: 'webhook: HMAC key, write-only' })),
          format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('slack')], { description: 'webhook only' })),
          enabled: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
      response: { 201: SubscriptionSchema, ...errorResponses },
    },
    handler: async (request, reply) => reply.code(201).send(await subscriptions.create(request.body as Record<string, unknown>, actorOf(request))),
  });
  app.get('/api/v1/subscriptions/:id', {
    config: { auth: 'operator' },
    schema: { tags, summary: 'Get a subscription', params: Type.Object({ id: Type.String({ maxLength: 64 }) }), response: { 200: SubscriptionSchema, ...errorResponses } },
    handler: async (request) => subscriptions.get((request.params as { id: string }).id),
  });
  app.delete('/api/v1/subscriptions/:id', {
    config: { auth: 'admin' },
    schema: { tags, summary: 'Remove a subscription', params: Type.Object({ id: Type.String({ maxLength: 64 }) }), response: { 204: Type.Null(), ...errorResponses } },
    handler: async (request, reply) => {
      await subscriptions.remove((request.params as { id: string }).id, actorOf(request));
      return reply.code(204).send();
    },
  });
}
