// One WebSocket client of the live event stream: its subscription filter, replay from the store
// after a reconnect, and batching. Events are queued and flushed at most every `flushMs`; when the
// client cannot keep up (its socket buffer or our queue grows too large), the queued events are
// dropped and replaced by one "gap" notice that says which ids to fetch from /api/v1/events.
import type { WebSocket } from 'ws';
import { eventTypeMatches, type EventRecord } from '../core/index.js';
import type { EventRepository } from '../store/index.js';

/** What a client wants to see. Empty fields match everything. */
export interface EventFilter {
  rolloutId?: string;
  deviceId?: string;
  /** Exact types or prefixes ("execution.*", "rollout."). */
  types?: string[];
}

/** Tuning of batching and slow-client handling. */
export interface SessionLimits {
  flushMs: number;
  /** Most events in one "events" message. */
  maxBatch: number;
  /** Queued events beyond this turn into a gap notice. */
  maxQueue: number;
  /** Bytes the socket may hold unsent before the client counts as slow. */
  maxBuffered: number;
  replayPage: number;
}

export const DEFAULT_LIMITS: SessionLimits = { flushMs: 100, maxBatch: 2000, maxQueue: 5000, maxBuffered: 1 << 20, replayPage: 1000 };

/** Runs `flush` after `delayMs` and answers its cancel; tests inject one that flushes when told. */
export type FlushScheduler = (flush: () => void, delayMs: number) => () => void;

export const timerFlush: FlushScheduler = (flush, delayMs) => {
  const timer = setTimeout(flush, delayMs);
  return () => clearTimeout(timer);
};

/**
 * The feed delivers each event once, but it may deliver one the replay has already read from the
 * store: an event committed just before the replay's read reaches the feed a moment later (the
 * NOTIFY debounce, a remote read, the publish after commit). So the ids a replay sent are kept for
 * a while, and a live copy of one of them is dropped. Only the last REPLAY_MEMORY ids are kept; a
 * live event at or below the highest id forgotten counts as sent.
 */
const REPLAY_MEMORY = 10_000;
const REDELIVERY_MS = 60_000;

export type ServerMessage =
  | { type: 'hello'; role: string; lastEventId: number }
  | { type: 'subscribed'; filter: EventFilter; replayFrom: number | null }
  | { type: 'events'; events: EventRecord[]; lastEventId: number }
  | { type: 'gap'; afterId: number; untilId: number; dropped: number; summary: Record<string, number> }
  | { type: 'error'; code: string; message: string };

export function matchesFilter(filter: EventFilter, event: EventRecord): boolean {
  if (filter.rolloutId && event.rolloutId !== filter.rolloutId) return false;
  if (filter.deviceId && event.deviceId !== filter.deviceId) return false;
  if (filter.types?.length && !filter.types.some((t) => eventTypeMatches(t, event.type))) return false;
  return true;
}

export class WsSession {
  private filter: EventFilter = {};
  private queue: EventRecord[] = [];
  /** Live events that arrive while a replay reads the store. */
  private pending: EventRecord[] | null = null;
  private lastSentId = 0;
  /** What the last replay sent, while a live copy of it may still arrive. */
  private replayed: { ids: Set<number>; floor: number; until: number } | null = null;
  /** Cancels the scheduled flush, while one is scheduled. */
  private cancelFlush: (() => void) | undefined;
  private generation = 0;
  private closed = false;
  onGap: () => void = () => {};

  constructor(
    private readonly socket: WebSocket,
    private readonly events: EventRepository,
    private readonly limits: SessionLimits,
    private readonly scheduleFlush: FlushScheduler = timerFlush,
  ) {}

  send(message: ServerMessage): Promise<void> {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return Promise.resolve();
    return new Promise((resolve) => this.socket.send(JSON.stringify(message), () => resolve()));
  }

  /** Replaces the filter; with `lastEventId`, replays what the client missed before going live. */
  async subscribe(filter: EventFilter, lastEventId: number | null): Promise<void> {
    const generation = ++this.generation;
    const replaced = () => generation !== this.generation || this.closed;
    this.filter = filter;
    this.queue = [];
    // Live events are held from now on while a replay runs (the store has them too, so the replay
    // sends them), and a previous subscription's held events are dropped with it.
    this.pending = lastEventId === null ? null : [];
    this.replayed = null;
    await this.send({ type: 'subscribed', filter, replayFrom: lastEventId });
    if (lastEventId === null || replaced()) return;
    let cursor = lastEventId;
    const replayed = { ids: new Set<number>(), floor: 0, until: Infinity };
    this.replayed = replayed;
    for (;;) {
      const page = await this.events.list({ rolloutId: filter.rolloutId, deviceId: filter.deviceId, type: filter.types, afterId: cursor, limit: this.limits.replayPage });
      if (replaced()) return;
      if (page.length === 0) break;
      cursor = page[page.length - 1]!.id;
      this.lastSentId = cursor;
      for (const e of page) replayed.ids.add(e.id);
      for (const id of replayed.ids) {
        if (replayed.ids.size <= REPLAY_MEMORY) break;
        replayed.ids.delete(id);
        replayed.floor = Math.max(replayed.floor, id);
      }
      // Waiting for each page to be written is the backpressure of a long replay.
      await this.send({ type: 'events', events: page, lastEventId: cursor });
      if (replaced()) return;
      if (page.length < this.limits.replayPage) break;
    }
    // Held live events the replay did not send: newer ones, and older ones whose transaction
    // committed after the replay read past their id.
    replayed.until = Date.now() + REDELIVERY_MS;
    const live = (this.pending ?? []).filter((e) => !this.sentByReplay(e));
    this.pending = null;
    this.enqueue(live);
  }

  /** Called with every live batch; cheap when nothing matches. */
  offer(events: EventRecord[]): void {
    if (this.closed) return;
    const matching = events.filter((e) => matchesFilter(this.filter, e));
    if (matching.length === 0) return;
    if (this.pending) this.pending.push(...matching);
    else this.enqueue(this.replayed ? matching.filter((e) => !this.sentByReplay(e)) : matching);
  }

  /** Whether the replay already sent this event (each id is delivered live once, so it is forgotten). */
  private sentByReplay(event: EventRecord): boolean {
    const replayed = this.replayed;
    if (!replayed) return false;
    if (Date.now() > replayed.until) {
      this.replayed = null;
      return false;
    }
    return event.id <= replayed.floor || replayed.ids.delete(event.id);
  }

  private enqueue(events: EventRecord[]): void {
    if (events.length === 0) return;
    this.queue.push(...events);
    if (this.queue.length > this.limits.maxQueue) {
      this.dropQueue();
      return;
    }
    this.cancelFlush ??= this.scheduleFlush(() => this.flush(), this.limits.flushMs);
  }

  private flush(): void {
    this.cancelFlush = undefined;
    if (this.closed || this.queue.length === 0) return;
    if (this.socket.bufferedAmount > this.limits.maxBuffered) {
      this.dropQueue();
      return;
    }
    const batch = this.queue.splice(0, this.limits.maxBatch);
    this.lastSentId = Math.max(this.lastSentId, batch[batch.length - 1]!.id);
    void this.send({ type: 'events', events: batch, lastEventId: this.lastSentId });
    if (this.queue.length) this.cancelFlush = this.scheduleFlush(() => this.flush(), this.limits.flushMs);
  }

  /** Drops the queue and tells the client which ids it missed, with a count per type. */
  private dropQueue(): void {
    const dropped = this.queue;
    this.queue = [];
    this.cancelFlush?.();
    this.cancelFlush = undefined;
    const summary: Record<string, number> = {};
    let minId = Infinity;
    let untilId = 0;
    for (const e of dropped) {
      summary[e.type] = (summary[e.type] ?? 0) + 1;
      minId = Math.min(minId, e.id);
      untilId = Math.max(untilId, e.id);
    }
    const afterId = minId - 1;
    this.lastSentId = Math.max(this.lastSentId, untilId);
    this.onGap();
    void this.send({ type: 'gap', afterId, untilId, dropped: dropped.length, summary });
  }

  close(): void {
    this.closed = true;
    this.cancelFlush?.();
    this.cancelFlush = undefined;
    this.queue = [];
    this.pending = null;
    this.replayed = null;
  }
}
