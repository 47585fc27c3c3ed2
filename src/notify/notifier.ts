// Outbound notifications, durable and in order. Each subscription keeps the id of the last event
// it handled; a lane reads the matching events after it from the event log (the store), sends them
// one at a time and moves the id on. A webhook POSTs each, signed with HMAC-SHA256 of the body
// (X-Orchestrator-Signature-256: sha256=<hex>) when the subscription has a secret; network errors,
// timeouts, 429 and 5xx are retried with exponential backoff and jitter, other 4xx are final. An
// email subscription mails each through the server's SMTP settings (email.ts), with the same
// retries (4xx replies and connection problems; 5xx replies are final). A restart resumes where
// the last one stopped; with several servers, a lease per subscription lets exactly one send.
// Webhook connections go through the outbound guard: an address on the deny list fails the event
// for good (the SMTP server is the operator's own setting, not checked).
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Agent, fetch } from 'undici';
import { outboundDenial, OutboundGuard } from '../outbound/index.js';
import { eventTypeMatches, hmacSignature, type Clock, type EventRecord } from '../core/index.js';
import type { EventRepository, LockRepository } from '../store/index.js';
import { EMAIL_DEFAULT_EVENTS, emailSubject, emailText } from './email-format.js';
import type { MailSender, SendResult } from './email.js';
import { formatNotification, JSON_DEFAULT_EVENTS, SLACK_DEFAULT_EVENTS } from './format.js';
import type { SubscriptionRepository, SubscriptionWithSecret } from '../store/index.js';

/** Tuning and seams; defaults suit production. */
export interface NotifierOptions {
  subscriptions: SubscriptionRepository;
  /** The event log's repository: lanes read from the store, not from memory. */
  events: EventRepository;
  /** Wakes lanes when events are appended (on any server). */
  feed: { subscribe(listener: (events: EventRecord[]) => void): () => void };
  locks: LockRepository;
  clock: Clock;
  logger: Logger;
  /** Counts attempts by result (sent, retry, failed). */
  count?: (result: 'sent' | 'retry' | 'failed') => void;
  /** Addresses webhook notifications may not reach (default: link-local and cloud metadata). */
  outbound?: OutboundGuard;
  userAgent?: string;
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  timeoutMs?: number;
  random?: () => number;
  /** How often subscriptions are re-read and idle lanes look again, ms. */
  refreshMs?: number;
  /** A rollout's display name for human-readable (Slack, email) messages. */
  rolloutName?: (rolloutId: string) => Promise<string | null>;
  /** Sends email subscriptions' mail (the server's SMTP settings); without one they wait, unsent. */
  mailer?: MailSender;
  /** The dashboard's base URL for links in email. */
  dashboardUrl?: string;
  /**
   * PostgreSQL hands out event ids before commit: an event is sent only once it is this old, so a
   * lower id committed a moment later is not skipped. 0 for SQLite (one writer, ids in order).
   */
  commitGraceMs?: number;
}

const LEASE_MS = 30_000;
const PAGE = 100;

export function typesOf(subscription: SubscriptionWithSecret): string[] {
  if (subscription.events.length) return subscription.events;
  if (subscription.kind === 'email') return EMAIL_DEFAULT_EVENTS;
  return subscription.format === 'slack' ? SLACK_DEFAULT_EVENTS : JSON_DEFAULT_EVENTS;
}

export function wantsEvent(subscription: SubscriptionWithSecret, type: string): boolean {
  return typesOf(subscription).some((t) => eventTypeMatches(t, type));
}

export class Notifier {
  private subscriptions = new Map<string, SubscriptionWithSecret>();
  private readonly lanes = new Map<string, Promise<void>>();
  private readonly owner = `notifier-${randomUUID()}`;
  private wakers: (() => void)[] = [];
  private unsubscribe: (() => void) | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private readonly inflight = new Set<AbortController>();
  private readonly names = new Map<string, string | null>();
  private stopped = false;
  private readonly o: Required<Omit<NotifierOptions, 'count' | 'userAgent' | 'rolloutName' | 'mailer' | 'dashboardUrl'>> & Pick<NotifierOptions, 'count' | 'userAgent' | 'rolloutName' | 'mailer' | 'dashboardUrl'>;
  private readonly dispatcher: Agent;

  constructor(options: NotifierOptions) {
    this.o = { maxAttempts: 6, baseDelayMs: 1000, maxDelayMs: 60_000, timeoutMs: 10_000, random: Math.random, refreshMs: 2000, commitGraceMs: 0, outbound: OutboundGuard.fromEntries(), ...options };
    this.dispatcher = new Agent({ connect: { lookup: this.o.outbound.lookup } });
  }

  async start(): Promise<void> {
    this.unsubscribe = this.o.feed.subscribe(() => this.wakeAll());
    await this.refresh();
    const tick = () => {
      this.refreshTimer = setTimeout(() => {
        void this.refresh()
          .catch((error: unknown) => this.o.logger.warn({ err: error }, 'cannot read notification subscriptions'))
          .finally(() => {
            this.wakeAll();
            if (!this.stopped) tick();
          });
      }, this.o.refreshMs);
      this.refreshTimer.unref();
    };
    tick();
  }

  /** Re-reads subscriptions and starts a lane for each new one (call after a change). */
  async refresh(): Promise<void> {
    const enabled = (await this.o.subscriptions.list()).filter((s) => s.enabled);
    this.subscriptions = new Map(enabled.map((s) => [s.id, s]));
    for (const s of enabled) {
      if (this.lanes.has(s.id) || this.stopped) continue;
      const lane = this.runLane(s.id)
        .catch((error: unknown) => this.o.logger.error({ err: error, subscription: s.id }, 'notification lane failed'))
        .finally(() => this.lanes.delete(s.id));
      this.lanes.set(s.id, lane);
    }
    this.wakeAll();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    clearTimeout(this.refreshTimer);
    for (const controller of this.inflight) controller.abort();
    this.wakeAll();
    await Promise.all(this.lanes.values());
    await this.dispatcher.close();
  }

  private wakeAll(): void {
    const wakers = this.wakers;
    this.wakers = [];
    for (const wake of wakers) wake();
  }

  /** Resolves at the next wake-up, or after `ms`. */
  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakers.push(done);
    });
  }

  /** Waits exactly `ms` (backoff), unless the notifier stops. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const until = Date.now() + ms;
      const step = async () => {
        while (!this.stopped && Date.now() < until) await this.sleep(until - Date.now());
        resolve();
      };
      void step();
    });
  }

  private async runLane(id: string): Promise<void> {
    const lock = `notify:${id}`;
    try {
      while (!this.stopped) {
        const subscription = this.subscriptions.get(id);
        if (!subscription) return;
        if (!(await this.o.locks.acquire(lock, this.owner, this.o.clock.now(), LEASE_MS))) {
          await this.sleep(this.o.refreshMs);
          continue;
        }
        // Read the position each round: another server may have held the lease before.
        const after = await this.o.subscriptions.lastEventId(id);
        if (after === null) return;
        const page = await this.o.events.list({ afterId: after, type: typesOf(subscription), limit: PAGE });
        if (page.length === 0) {
          await this.sleep(this.o.refreshMs);
          continue;
        }
        for (const event of page) {
          if (this.stopped || !this.subscriptions.has(id)) return;
          const young = Date.parse(event.ts) + this.o.commitGraceMs - this.o.clock.now();
          if (young > 0) {
            // Read again once it is old enough: a lower id may have committed meanwhile.
            await this.pause(young);
            break;
          }
          // Renew the lease per event so a slow receiver never lets another server send twice.
          if (!(await this.o.locks.acquire(lock, this.owner, this.o.clock.now(), LEASE_MS))) break;
          await this.deliver(subscription, event, lock);
          if (this.stopped) return;
          await this.o.subscriptions.setLastEventId(id, event.id);
        }
      }
    } finally {
      await this.o.locks.release(lock, this.owner).catch(() => {});
    }
  }

  /** Delay before attempt `attempt` (2, 3, ...): exponential, capped, jittered over its upper half. */
  backoffMs(attempt: number): number {
    const ceiling = Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** (attempt - 2));
    return Math.round(ceiling / 2 + (ceiling / 2) * this.o.random());
  }

  /** Sends one event with retries: the same backoff and attempts for every kind of subscription. */
  private async deliver(subscription: SubscriptionWithSecret, event: EventRecord, lock: string): Promise<void> {
    const once = subscription.kind === 'email' ? await this.emailAttempt(subscription, event) : await this.webhookAttempt(subscription, event);
    for (let attempt = 1; attempt <= this.o.maxAttempts && !this.stopped; attempt++) {
      if (attempt > 1) {
        await this.pause(this.backoffMs(attempt));
        if (this.stopped) return;
        await this.o.locks.acquire(lock, this.owner, this.o.clock.now(), LEASE_MS);
      }
      const result = await once();
      if (result === null) return; // stopped mid-attempt
      let { outcome } = result;
      const { detail } = result;
      if (outcome === 'retry' && attempt === this.o.maxAttempts) outcome = 'failed';
      this.o.count?.(outcome);
      if (outcome === 'sent') return;
      if (outcome === 'failed') {
        this.o.logger.warn({ subscription: subscription.id, eventId: event.id, attempt, detail }, 'notification failed for good');
        return;
      }
      this.o.logger.info({ subscription: subscription.id, eventId: event.id, attempt, detail }, 'notification failed; will retry');
    }
  }

  /** One POST of the event to a webhook; null when the notifier stopped meanwhile. */
  private async webhookAttempt(subscription: SubscriptionWithSecret, event: EventRecord): Promise<() => Promise<SendResult | null>> {
    const body = formatNotification(await this.named(event, subscription.format === 'slack'), subscription.format);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': this.o.userAgent ?? 'update-orchestrator',
      'x-orchestrator-event': event.type,
      'x-orchestrator-delivery': `${subscription.id}:${event.id}`,
    };
    if (subscription.secret) headers['x-orchestrator-signature-256'] = hmacSignature(subscription.secret, body);
    return async () => {
      const controller = new AbortController();
      const timeout = setTimeout(() => controller.abort(), this.o.timeoutMs);
      this.inflight.add(controller);
      try {
        // An IP literal skips the lookup, so it is checked here; names are checked at connect.
        this.o.outbound.checkHost(new URL(subscription.url ?? '').hostname);
        const response = await fetch(subscription.url ?? '', { method: 'POST', headers, body, signal: controller.signal, redirect: 'manual', dispatcher: this.dispatcher });
        await response.body?.cancel().catch(() => {});
        return { detail: `HTTP ${response.status}`, outcome: response.ok ? 'sent' : response.status === 429 || response.status >= 500 ? 'retry' : 'failed' };
      } catch (error) {
        if (this.stopped) return null;
        const denied = outboundDenial(error);
        if (denied) return { outcome: 'failed', detail: denied.message };
        return { outcome: 'retry', detail: controller.signal.aborted ? `timeout after ${this.o.timeoutMs} ms` : ((error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message) };
      } finally {
        clearTimeout(timeout);
        this.inflight.delete(controller);
      }
    };
  }

  /** One SMTP send of the event to an email subscription's recipients. */
  private async emailAttempt(subscription: SubscriptionWithSecret, event: EventRecord): Promise<() => Promise<SendResult | null>> {
    const named = await this.named(event, true);
    const rolloutName = typeof named.data.name === 'string' ? named.data.name : null;
    const ctx = { rolloutName, dashboardUrl: this.o.dashboardUrl ?? null, subscription };
    const message = { to: subscription.to, subject: emailSubject(named, ctx), text: emailText(named, ctx), headers: { 'X-Orchestrator-Event': event.type, 'X-Orchestrator-Delivery': `${subscription.id}:${event.id}` } };
    return async () => {
      // Without SMTP settings (removed since the subscription was made) the mail cannot go: retried,
      // then counted failed and logged, as a receiver that stays down.
      if (!this.o.mailer) return { outcome: 'retry', detail: 'no SMTP server configured (ORCHESTRATOR_SMTP_URL)' };
      const result = await this.o.mailer.send(message);
      return this.stopped && result.outcome !== 'sent' ? null : result;
    };
  }

  /** Adds the rollout's name to the event of a human-readable message when the event does not carry it. */
  private async named(event: EventRecord, wanted: boolean): Promise<EventRecord> {
    if (!wanted || !event.rolloutId || typeof event.data.name === 'string' || !this.o.rolloutName) return event;
    if (!this.names.has(event.rolloutId)) {
      if (this.names.size > 10_000) this.names.clear();
      this.names.set(event.rolloutId, await this.o.rolloutName(event.rolloutId).catch(() => null));
    }
    const name = this.names.get(event.rolloutId);
    return name ? { ...event, data: { ...event.data, name } } : event;
  }
}
