// Subscriptions: validation of outbound webhook targets and changes that the notifier picks up.
import { randomUUID } from 'node:crypto';
import { NotFoundError, ValidationError, type Clock, type ErrorDetail } from '../core/index.js';
import type { EventLog } from '../store/index.js';
import { publicSubscription, SUBSCRIPTION_FORMATS, type Subscription, type SubscriptionFormat, type SubscriptionRepository } from './subscription.repository.js';

export type PublicSubscription = Subscription & { hasSecret: boolean };

export class SubscriptionService {
  constructor(
    private readonly deps: { subscriptions: SubscriptionRepository; events: EventLog; lastEventId: () => Promise<number>; clock: Clock; onChange: () => Promise<void> },
  ) {}

  async create(raw: Record<string, unknown>, actor: string): Promise<PublicSubscription> {
    const errors: ErrorDetail[] = [];
    let url = '';
    try {
      const parsed = new URL(String(raw.url ?? ''));
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
      if (parsed.username || parsed.password) errors.push({ path: 'url', message: 'must not carry credentials; use secret for signing' });
      url = parsed.toString();
    } catch {
      errors.push({ path: 'url', message: 'is required: an http:// or https:// URL' });
    }
    const events = raw.events ?? [];
    if (!Array.isArray(events) || events.length > 50 || !events.every((e) => typeof e === 'string' && /^[a-z0-9_.*-]{1,100}$/i.test(e))) errors.push({ path: 'events', message: 'must be a list of at most 50 event types or prefixes ("rollout.*", "execution.failed")' });
    const format = (raw.format ?? 'json') as SubscriptionFormat;
    if (!SUBSCRIPTION_FORMATS.includes(format)) errors.push({ path: 'format', message: `must be ${SUBSCRIPTION_FORMATS.join(' or ')}` });
    const secret = raw.secret ?? null;
    if (secret !== null && (typeof secret !== 'string' || secret.length < 8 || secret.length > 256)) errors.push({ path: 'secret', message: 'must be 8-256 characters' });
    const name = raw.name ?? (url ? new URL(url).host : '');
    if (typeof name !== 'string' || name.length > 128) errors.push({ path: 'name', message: 'must be at most 128 characters' });
    if (errors.length) throw new ValidationError(`invalid subscription: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, errors);
    const created = await this.deps.subscriptions.create({ id: randomUUID(), name: name as string, url, events: events as string[], format, secret: secret as string | null, enabled: raw.enabled !== false, createdBy: actor }, await this.deps.lastEventId(), this.deps.clock.now());
    await this.deps.events.append([{ type: 'subscription.created', actor, data: { subscriptionId: created.id, url: created.url, events: created.events, format } }]);
    await this.deps.onChange();
    return publicSubscription(created);
  }

  async list(): Promise<PublicSubscription[]> {
    return (await this.deps.subscriptions.list()).map(publicSubscription);
  }

  async get(id: string): Promise<PublicSubscription> {
    const found = await this.deps.subscriptions.get(id);
    if (!found) throw new NotFoundError('subscription', id);
    return publicSubscription(found);
  }

  async remove(id: string, actor: string): Promise<void> {
    if (!(await this.deps.subscriptions.remove(id))) throw new NotFoundError('subscription', id);
    await this.deps.events.append([{ type: 'subscription.removed', actor, data: { subscriptionId: id } }]);
    await this.deps.onChange();
  }
}
