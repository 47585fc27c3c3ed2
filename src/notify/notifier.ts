// Outbound notifications: every event appended on this server that a subscription asks for is
// POSTed to its URL, signed with HMAC-SHA256 of the body (X-Orchestrator-Signature-256:
// sha256=<hex>) when the subscription has a secret. Per subscription, deliveries go out in order,
// one at a time; failures (network, timeout, 429, 5xx) are retried with exponential backoff and
// jitter; other 4xx answers are final. Only this server's own events are sent, so several servers
// sharing PostgreSQL do not notify twice.
import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import { eventTypeMatches, type Clock, type EventRecord } from '../core/index.js';
import type { EventLog } from '../store/index.js';
import { formatNotification, JSON_DEFAULT_EVENTS, SLACK_DEFAULT_EVENTS } from './format.js';
import type { SubscriptionRepository, SubscriptionWithSecret } from './subscription.repository.js';

/** Tuning and seams; defaults suit production. */
export interface NotifierOptions {
  subscriptions: SubscriptionRepository;
  events: EventLog;
  clock: Clock;
  logger: Logger;
  /** Counts attempts by result (sent, retry, failed, dropped). */
  count?: (result: 'sent' | 'retry' | 'failed' | 'dropped') => void;
  userAgent?: string;
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  timeoutMs?: number;
  /** Queued deliveries per subscription beyond which the oldest are dropped. */
  maxQueue?: number;
  random?: () => number;
  /** How often subscriptions are re-read (changes made on other servers). */
  refreshMs?: number;
  /** A rollout's display name for human-readable (Slack) messages. */
  rolloutName?: (rolloutId: string) => Promise<string | null>;
}

interface Lane {
  queue: EventRecord[];
  running: boolean;
}

export function signBody(secret: string, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

export function wantsEvent(subscription: SubscriptionWithSecret, type: string): boolean {
  const types = subscription.events.length ? subscription.events : subscription.format === 'slack' ? SLACK_DEFAULT_EVENTS : JSON_DEFAULT_EVENTS;
  return types.some((t) => eventTypeMatches(t, type));
}

export class Notifier {
  private subscriptions: SubscriptionWithSecret[] = [];
  private readonly lanes = new Map<string, Lane>();
  private unsubscribe: (() => void) | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inflight = new Set<AbortController>();
  private stopped = false;
  private readonly o: Required<Omit<NotifierOptions, 'count' | 'userAgent' | 'rolloutName'>> & Pick<NotifierOptions, 'count' | 'userAgent' | 'rolloutName'>;
  private readonly names = new Map<string, string | null>();

  constructor(options: NotifierOptions) {
    this.o = { maxAttempts: 6, baseDelayMs: 1000, maxDelayMs: 60_000, timeoutMs: 10_000, maxQueue: 10_000, random: Math.random, refreshMs: 30_000, ...options };
  }

  async start(): Promise<void> {
    await this.refresh();
    this.unsubscribe = this.o.events.subscribe((events) => this.offer(events));
    const tick = () => {
      this.refreshTimer = setTimeout(() => void this.refresh().catch(() => {}).finally(() => !this.stopped && tick()), this.o.refreshMs);
      this.refreshTimer.unref();
    };
    tick();
  }

  /** Re-reads subscriptions (call after a change through this server's API). */
  async refresh(): Promise<void> {
    this.subscriptions = (await this.o.subscriptions.list()).filter((s) => s.enabled);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    clearTimeout(this.refreshTimer);
    for (const timer of this.timers) clearTimeout(timer);
    for (const controller of this.inflight) controller.abort();
    this.lanes.clear();
  }

  private offer(events: EventRecord[]): void {
    if (this.stopped) return;
    for (const subscription of this.subscriptions) {
      const wanted = events.filter((e) => wantsEvent(subscription, e.type));
      if (wanted.length === 0) continue;
      let lane = this.lanes.get(subscription.id);
      if (!lane) this.lanes.set(subscription.id, (lane = { queue: [], running: false }));
      lane.queue.push(...wanted);
      const excess = lane.queue.length - this.o.maxQueue;
      if (excess > 0) {
        lane.queue.splice(0, excess);
        for (let i = 0; i < excess; i++) this.o.count?.('dropped');
        this.o.logger.warn({ subscription: subscription.id, dropped: excess }, 'notification queue full; oldest dropped');
      }
      if (!lane.running) void this.drain(subscription.id, lane);
    }
  }

  private async drain(subscriptionId: string, lane: Lane): Promise<void> {
    lane.running = true;
    try {
      while (lane.queue.length && !this.stopped) {
        const subscription = this.subscriptions.find((s) => s.id === subscriptionId);
        if (!subscription) {
          lane.queue = [];
          break;
        }
        await this.deliver(subscription, lane.queue[0]!);
        lane.queue.shift();
      }
    } finally {
      lane.running = false;
    }
  }

  /** Delay before attempt `attempt` (2, 3, ...): exponential, capped, with full jitter above half. */
  backoffMs(attempt: number): number {
    const ceiling = Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** (attempt - 2));
    return Math.round(ceiling / 2 + (ceiling / 2) * this.o.random());
  }

  private async deliver(subscription: SubscriptionWithSecret, event: EventRecord): Promise<void> {
    const body = formatNotification(await this.named(event, subscription.format), subscription.format);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': this.o.userAgent ?? 'update-orchestrator',
      'x-orchestrator-event': event.type,
      'x-orchestrator-delivery': `${subscription.id}:${event.id}`,
    };
    if (subscription.secret) headers['x-orchestrator-signature-256'] = signBody(subscription.secret, body);
    for (let attempt = 1; attempt <= this.o.maxAttempts && !this.stopped; attempt++) {
      if (attempt > 1) await this.wait(this.backoffMs(attempt));
      if (this.stopped) return;
      const controller = new AbortController();
      const timeout = setTimeout(() => controller.abort(), this.o.timeoutMs);
      this.inflight.add(controller);
      let outcome: 'sent' | 'retry' | 'failed';
      let detail: string;
      try {
        const response = await fetch(subscription.url, { method: 'POST', headers, body, signal: controller.signal, redirect: 'manual' });
        await response.body?.cancel().catch(() => {});
        detail = `HTTP ${response.status}`;
        outcome = response.ok ? 'sent' : response.status === 429 || response.status >= 500 ? 'retry' : 'failed';
      } catch (error) {
        outcome = 'retry';
        detail = controller.signal.aborted ? `timeout after ${this.o.timeoutMs} ms` : ((error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message);
      } finally {
        clearTimeout(timeout);
        this.inflight.delete(controller);
      }
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

  /** Adds the rollout's name to a Slack message's event when the event does not carry it. */
  private async named(event: EventRecord, format: string): Promise<EventRecord> {
    if (format !== 'slack' || !event.rolloutId || typeof event.data.name === 'string' || !this.o.rolloutName) return event;
    if (!this.names.has(event.rolloutId)) {
      if (this.names.size > 10_000) this.names.clear();
      this.names.set(event.rolloutId, await this.o.rolloutName(event.rolloutId).catch(() => null));
    }
    const name = this.names.get(event.rolloutId);
    return name ? { ...event, data: { ...event.data, name } } : event;
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
}
