// The one channel between the servers sharing a store: topics carry small JSON payloads, a
// message published on one server reaches the subscribers on every server. On SQLite (one server)
// it stays in the process (in-process-channel.ts); on PostgreSQL it crosses servers over
// LISTEN/NOTIFY (postgres-channel.ts). It is a hint, not a log: a server that was not listening
// misses messages, and hears `onResume` when it listens again so it can start over.
import { randomUUID } from 'node:crypto';
import type { StoreTransaction } from '../store/index.js';

/** A named stream of messages whose payloads are `T` (JSON-serialisable). */
export interface Topic<T> {
  readonly name: string;
  /** Never set: carries the payload type. */
  readonly payload?: T;
}

export function topic<T>(name: string): Topic<T> {
  if (!/^[a-z][a-z0-9.-]*$/.test(name)) throw new Error(`not a topic name: '${name}'`);
  return { name };
}

/** One payload, serialised, may take this many bytes (PostgreSQL's NOTIFY limit, less the envelope). */
export const MAX_PAYLOAD_BYTES = 7000;

export type MessageHandler<T> = (payload: T, origin: string) => void;

export interface SubscribeOptions {
  /** Only messages of other servers: this server's own publications skip the handler. */
  othersOnly?: boolean;
}

export interface ClusterChannel {
  /** This server's id, the `origin` of what it publishes. */
  readonly serverId: string;
  /** Whether other servers can hear this one (false: one server alone, nothing to tell anyone). */
  readonly reachesOtherServers: boolean;
  /** Starts listening to the other servers. */
  start(): Promise<void>;
  /** Stops listening, waits for what is being sent, and lets go of its connection. */
  stop(): Promise<void>;
  /**
   * Delivers `payload` to this server's subscribers now (unless they asked for others only) and
   * to every other server's, best effort, in the order published.
   */
  publish<T>(topic: Topic<T>, payload: T): void;
  /**
   * Delivers `payload` to the other servers when `tx` commits, and never if it rolls back. This
   * server's subscribers are not told: call `deliverHere` after the commit.
   */
  publishIn<T>(tx: StoreTransaction, topic: Topic<T>, payload: T): Promise<void>;
  /** Delivers `payload` to this server's subscribers only (those that take their own messages). */
  deliverHere<T>(topic: Topic<T>, payload: T): void;
  subscribe<T>(topic: Topic<T>, handler: MessageHandler<T>, options?: SubscribeOptions): () => void;
  /**
   * Called when listening resumed after the connection was lost: messages sent in the gap are
   * unknown, so whatever they would have kept fresh must start over.
   */
  onResume(listener: () => void): () => void;
}

/** Refuses a payload the PostgreSQL channel could not carry, on every implementation alike. */
export function serialised(topic: Topic<unknown>, payload: unknown): string {
  const text = JSON.stringify(payload);
  if (text === undefined) throw new TypeError(`topic '${topic.name}': the payload is not JSON`);
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_PAYLOAD_BYTES) throw new RangeError(`topic '${topic.name}': a payload takes at most ${MAX_PAYLOAD_BYTES} bytes, this one ${bytes}`);
  return text;
}

interface Subscription {
  handler: MessageHandler<unknown>;
  othersOnly: boolean;
}

/** The subscribers of one server, by topic; a failing handler breaks neither the others nor the sender. */
export class Subscribers {
  private readonly byTopic = new Map<string, Set<Subscription>>();
  private readonly resumeListeners = new Set<() => void>();

  constructor(private readonly onHandlerError: (error: unknown, topic: string) => void) {}

  add<T>(topic: Topic<T>, handler: MessageHandler<T>, options: SubscribeOptions = {}): () => void {
    let set = this.byTopic.get(topic.name);
    if (!set) this.byTopic.set(topic.name, (set = new Set()));
    const subscription: Subscription = { handler: handler as MessageHandler<unknown>, othersOnly: options.othersOnly ?? false };
    set.add(subscription);
    return () => {
      set.delete(subscription);
      if (set.size === 0 && this.byTopic.get(topic.name) === set) this.byTopic.delete(topic.name);
    };
  }

  /** Whether anyone on this server listens to `topic`. */
  has(topicName: string): boolean {
    return this.byTopic.has(topicName);
  }

  deliver(topicName: string, payload: unknown, origin: string, own: boolean): void {
    const set = this.byTopic.get(topicName);
    if (!set) return;
    for (const { handler, othersOnly } of [...set]) {
      if (own && othersOnly) continue;
      try {
        handler(payload, origin);
      } catch (error) {
        this.onHandlerError(error, topicName);
      }
    }
  }

  onResume(listener: () => void): () => void {
    this.resumeListeners.add(listener);
    return () => this.resumeListeners.delete(listener);
  }

  resumed(): void {
    for (const listener of [...this.resumeListeners]) {
      try {
        listener();
      } catch (error) {
        this.onHandlerError(error, 'resume');
      }
    }
  }

  clear(): void {
    this.byTopic.clear();
    this.resumeListeners.clear();
  }
}

/** Where a channel reports what goes wrong (a pino logger fits). */
export interface ChannelLog {
  warn(details: object, message: string): void;
}

export const silentLog: ChannelLog = { warn: () => {} };

/** What both implementations share: this server's id and subscribers, and delivery here. */
export abstract class SubscribersChannel {
  readonly serverId = randomUUID();
  protected readonly subscribers: Subscribers;

  constructor(log: ChannelLog) {
    this.subscribers = new Subscribers((error, topic) => log.warn({ err: error, topic }, 'cluster channel handler failed'));
  }

  deliverHere<T>(topic: Topic<T>, payload: T): void {
    this.subscribers.deliver(topic.name, payload, this.serverId, true);
  }

  subscribe<T>(topic: Topic<T>, handler: MessageHandler<T>, options?: SubscribeOptions): () => void {
    return this.subscribers.add(topic, handler, options);
  }

  onResume(listener: () => void): () => void {
    return this.subscribers.onResume(listener);
  }
}
