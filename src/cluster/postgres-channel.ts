// The cluster channel over PostgreSQL LISTEN/NOTIFY (the store's Notifications): every message is
// one NOTIFY on one database channel, {origin, topic, payload} as JSON, so one connection per server
// listens for every topic. A lost LISTEN connection is replaced with backoff, and subscribers hear
// `onResume` once it listens again.
import type { Listening, Notifications, StoreTransaction } from '../store/index.js';
import { serialised, silentLog, SubscribersChannel, type ChannelLog, type ClusterChannel, type Topic } from './channel.js';

/** The database channel every server LISTENs on. */
export const PG_CHANNEL = 'uo_cluster';

export interface Backoff {
  /** The wait before the first attempt to listen again. */
  initialMs: number;
  /** The longest wait between attempts (each failure doubles the wait up to this). */
  maxMs: number;
}

const DEFAULT_BACKOFF: Backoff = { initialMs: 200, maxMs: 5000 };

interface Envelope {
  o: string;
  t: string;
  p: unknown;
}

export class PostgresChannel extends SubscribersChannel implements ClusterChannel {
  readonly reachesOtherServers = true;
  private listening: Listening | null = null;
  private connecting: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | undefined;
  private waitMs: number;
  private started = false;
  private sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly notifications: Notifications,
    private readonly log: ChannelLog = silentLog,
    private readonly backoff: Backoff = DEFAULT_BACKOFF,
  ) {
    super(log);
    this.waitMs = backoff.initialMs;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    try {
      await this.listen();
    } catch (error) {
      this.started = false;
      throw error;
    }
  }

  async stop(): Promise<void> {
    this.started = false;
    clearTimeout(this.retryTimer);
    await this.connecting?.catch(() => {});
    await this.sending;
    const listening = this.listening;
    this.listening = null;
    await listening?.close();
    this.subscribers.clear();
  }

  publish<T>(topic: Topic<T>, payload: T): void {
    const text = this.envelope(topic, payload);
    this.subscribers.deliver(topic.name, payload, this.serverId, true);
    // One after another, so the other servers hear them in the order they were published.
    this.sending = this.sending.then(() =>
      this.notifications.notify(PG_CHANNEL, text).catch((error: unknown) => this.log.warn({ err: error, topic: topic.name }, 'cluster NOTIFY failed')),
    );
  }

  async publishIn<T>(tx: StoreTransaction, topic: Topic<T>, payload: T): Promise<void> {
    await tx.notify(PG_CHANNEL, this.envelope(topic, payload));
  }

  private envelope(topic: Topic<unknown>, payload: unknown): string {
    // The size check first (the same on every implementation), then the envelope.
    const text = serialised(topic, payload);
    return `{"o":${JSON.stringify(this.serverId)},"t":${JSON.stringify(topic.name)},"p":${text}}`;
  }

  private async listen(): Promise<void> {
    const attempt = this.notifications.listen(PG_CHANNEL, {
      message: (text) => this.receive(text),
      lost: (error) => this.lost(error),
    });
    this.connecting = attempt.then(() => undefined);
    try {
      const listening = await attempt;
      if (!this.started) {
        await listening.close();
        return;
      }
      this.listening = listening;
    } finally {
      this.connecting = null;
    }
  }

  private receive(text: string): void {
    let message: Envelope;
    try {
      message = JSON.parse(text) as Envelope;
    } catch {
      return; // Not ours: a malformed payload from elsewhere is ignored.
    }
    if (typeof message?.o !== 'string' || typeof message.t !== 'string' || message.o === this.serverId) return;
    this.subscribers.deliver(message.t, message.p, message.o, false);
  }

  private lost(error: Error): void {
    this.listening = null;
    if (!this.started) return;
    this.log.warn({ err: error }, 'cluster LISTEN connection lost; listening again');
    this.retry();
  }

  private retry(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (!this.started) return;
      this.listen().then(
        () => {
          if (!this.listening) return;
          this.waitMs = this.backoff.initialMs;
          this.subscribers.resumed();
        },
        (error: unknown) => {
          this.log.warn({ err: error }, 'cannot LISTEN on the cluster channel; retrying');
          this.waitMs = Math.min(this.waitMs * 2, this.backoff.maxMs);
          this.retry();
        },
      );
    }, this.waitMs).unref();
  }
}
