// Subscriptions: validation of outbound webhook targets and email recipients, and changes that the
// notifier picks up. Email goes through the server's SMTP settings, so an email subscription is
// refused while the server has none. A webhook target that is an address on the outbound deny list
// is refused at once; names are checked on every connection by the notifier.
import { randomUUID } from 'node:crypto';
import { NotFoundError, ValidationError, type Clock, type ErrorDetail } from '../core/index.js';
import { OutboundGuard } from '../outbound/index.js';
import type { EventLog } from '../store/index.js';
import { EMAIL_ADDRESS } from './email.js';
import { publicSubscription, SUBSCRIPTION_FORMATS, SUBSCRIPTION_KINDS, type Subscription, type SubscriptionFormat, type SubscriptionKind, type SubscriptionRepository } from '../store/index.js';

export type PublicSubscription = Subscription & { hasSecret: boolean };

/** Recipients one email subscription may have. */
export const MAX_RECIPIENTS = 20;

export class SubscriptionService {
  constructor(
    private readonly deps: {
      subscriptions: SubscriptionRepository;
      /** The outbound deny list (default: link-local and cloud metadata). */
      outbound?: OutboundGuard;
      events: EventLog;
      lastEventId: () => Promise<number>;
      clock: Clock;
      onChange: () => Promise<void>;
      /** Whether the server has SMTP settings (ORCHESTRATOR_SMTP_URL), so email can be sent. */
      emailConfigured?: boolean;
    },
  ) {}

  async create(raw: Record<string, unknown>, actor: string): Promise<PublicSubscription> {
    const errors: ErrorDetail[] = [];
    const kind = (raw.kind ?? (raw.to !== undefined && raw.url === undefined ? 'email' : 'webhook')) as SubscriptionKind;
    if (!SUBSCRIPTION_KINDS.includes(kind)) errors.push({ path: 'kind', message: `must be ${SUBSCRIPTION_KINDS.join(' or ')}` });
    let url: string | null = null;
    let to: string[] = [];
    if (kind === 'email') {
      to = this.recipients(raw.to, errors);
      if (raw.url !== undefined) errors.push({ path: 'url', message: 'is for webhooks; an email subscription has recipients (to)' });
      if (raw.secret !== undefined) errors.push({ path: 'secret', message: 'signs webhook bodies; an email subscription has none' });
      if (raw.format !== undefined) errors.push({ path: 'format', message: 'is for webhooks (json or slack); email is plain text' });
      if (!this.deps.emailConfigured) errors.push({ path: 'kind', message: 'email needs the server\'s SMTP settings: set ORCHESTRATOR_SMTP_URL (docs/live-operations.md, "Email")' });
    } else {
      if (raw.to !== undefined) errors.push({ path: 'to', message: 'is for email subscriptions (kind "email")' });
      try {
        const parsed = new URL(String(raw.url ?? ''));
        if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
        if (parsed.username || parsed.password) errors.push({ path: 'url', message: 'must not carry credentials; use secret for signing' });
        try {
          (this.deps.outbound ?? OutboundGuard.fromEntries()).checkHost(parsed.hostname);
        } catch (denied) {
          errors.push({ path: 'url', message: (denied as Error).message });
        }
        url = parsed.toString();
      } catch {
        errors.push({ path: 'url', message: 'is required: an http:// or https:// URL' });
      }
    }
    const events = raw.events ?? [];
    if (!Array.isArray(events) || events.length > 50 || !events.every((e) => typeof e === 'string' && /^[a-z0-9_.*-]{1,100}$/i.test(e))) errors.push({ path: 'events', message: 'must be a list of at most 50 event types or prefixes ("rollout.*", "execution.failed")' });
    const format = (raw.format ?? 'json') as SubscriptionFormat;
    if (kind !== 'email' && !SUBSCRIPTION_FORMATS.includes(format)) errors.push({ path: 'format', message: `must be ${SUBSCRIPTION_FORMATS.join(' or ')}` });
    const secret = raw.secret ?? null;
    if (kind !== 'email' && secret !== null && (typeof secret !== 'string' || secret.length < 8 || secret.length > 256)) errors.push({ path: 'secret', message: 'must be 8-256 characters' });
    const name = raw.name ?? (url ? new URL(url).host : (to[0] ?? ''));
    if (typeof name !== 'string' || name.length > 128) errors.push({ path: 'name', message: 'must be at most 128 characters' });
    if (errors.length) throw new ValidationError(`invalid subscription: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, errors);
    const created = await this.deps.subscriptions.create(
      { id: randomUUID(), name: name as string, kind, url, to, events: events as string[], format: kind === 'email' ? 'json' : format, secret: kind === 'email' ? null : (secret as string | null), enabled: raw.enabled !== false, createdBy: actor },
      await this.deps.lastEventId(),
      this.deps.clock.now(),
    );
    const target = kind === 'email' ? { to } : { url: created.url, format };
    await this.deps.events.append([{ type: 'subscription.created', actor, data: { subscriptionId: created.id, kind, ...target, events: created.events } }]);
    await this.deps.onChange();
    return publicSubscription(created);
  }

  /** 1-20 bare addresses (a string may list them comma-separated), lower-cased domains, no repeats. */
  private recipients(raw: unknown, errors: ErrorDetail[]): string[] {
    const list = typeof raw === 'string' ? raw.split(',') : raw;
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_RECIPIENTS || !list.every((a) => typeof a === 'string')) {
      errors.push({ path: 'to', message: `is required: 1-${MAX_RECIPIENTS} email addresses, like ["ops@example.com"]` });
      return [];
    }
    const out: string[] = [];
    for (const [i, entry] of (list as string[]).entries()) {
      const address = entry.trim();
      if (address.length > 254 || !EMAIL_ADDRESS.test(address)) {
        errors.push({ path: `to.${i}`, message: `must be a bare address like ops@example.com (got ${JSON.stringify(address.slice(0, 80))})` });
        continue;
      }
      const at = address.lastIndexOf('@');
      const normal = `${address.slice(0, at)}@${address.slice(at + 1).toLowerCase()}`;
      if (!out.includes(normal)) out.push(normal);
    }
    return out;
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
