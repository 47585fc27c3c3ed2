// The cluster-wide live event feed. Events appended on this server arrive from EventLog.subscribe;
// with several servers on PostgreSQL, each server NOTIFYs a channel with its last id after it
// appends, and the others read what they have not seen from the store (the store stays the
// source of truth, the notification only says "look").
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type pg from 'pg';
import type { EventRecord } from '../core/index.js';
import type { EventLog, Store } from '../store/index.js';

export const EVENTS_CHANNEL = 'orchestrator_events';
const READ_PAGE = 1000;
const NOTIFY_DEBOUNCE_MS = 20;
const MAX_LOCAL_IDS = 100_000;
/** How long an id hole may wait for its transaction to commit before the feed moves past it. */
export const COMMIT_GRACE_MS = 2000;

export type FeedListener = (events: EventRecord[]) => void;

/** Live events of every server sharing the store, each delivered once, ids ascending per batch. */
export class EventFeed {
  private readonly listeners = new Set<FeedListener>();
  private readonly serverId = randomUUID();
  private unsubscribe: (() => void) | undefined;
  /** The LISTEN connection and its release (once, by whoever gets there first: stop or an error). */
  private listener: { client: pg.PoolClient; release(error?: Error): boolean } | undefined;
  /** Ids this server published itself and the remote reader must skip. */
  private readonly localIds = new Set<number>();
  /** Ids above the cursor already emitted (read past a hole). */
  private readonly emitted = new Set<number>();
  private holeTimer: NodeJS.Timeout | undefined;
  private remoteCursor = 0;
  private reading: Promise<void> | undefined;
  private readAgain = false;
  private notifyTimer: NodeJS.Timeout | undefined;
  private pendingNotifyId = 0;
  private stopped = false;

  constructor(
    private readonly events: EventLog,
    private readonly store: Store,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = this.events.subscribe((records) => this.onLocal(records));
    if (this.store.handle.pool) {
      this.remoteCursor = await this.store.events.lastId();
      await this.listen();
    }
  }

  subscribe(listener: FeedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    clearTimeout(this.notifyTimer);
    clearTimeout(this.holeTimer);
    await this.reading;
    const listener = this.listener;
    this.listener = undefined;
    if (listener) {
      await listener.client.query(`UNLISTEN ${EVENTS_CHANNEL}`).catch(() => {});
      listener.release();
    }
  }

  private emit(records: EventRecord[]): void {
    for (const listener of this.listeners) {
      try {
        listener(records);
      } catch (error) {
        this.logger.warn({ err: error }, 'live event listener failed');
      }
    }
  }

  private onLocal(records: EventRecord[]): void {
    this.emit(records);
    if (!this.store.handle.pool) return;
    for (const r of records) {
      this.localIds.add(r.id);
      this.pendingNotifyId = Math.max(this.pendingNotifyId, r.id);
    }
    if (this.localIds.size > MAX_LOCAL_IDS) this.scheduleRead();
    this.notifyTimer ??= setTimeout(() => {
      this.notifyTimer = undefined;
      const payload = `${this.serverId}:${this.pendingNotifyId}`;
      this.store.handle.pool!.query('SELECT pg_notify($1, $2)', [EVENTS_CHANNEL, payload]).catch((error: unknown) => this.logger.warn({ err: error }, 'event NOTIFY failed'));
    }, NOTIFY_DEBOUNCE_MS);
  }

  private async listen(): Promise<void> {
    if (this.stopped) return;
    let client: pg.PoolClient;
    try {
      client = await this.store.handle.pool!.connect();
    } catch (error) {
      this.retryListen(error, 'cannot LISTEN for events; retrying');
      return;
    }
    // A dying connection may report several errors, also after stop() gave it back to the pool:
    // it is released once, and only a connection lost while in use is replaced.
    let released = false;
    const release = (error?: Error): boolean => {
      if (released) return false;
      released = true;
      if (this.listener?.client === client) this.listener = undefined;
      client.release(error);
      return true;
    };
    client.on('notification', (message) => {
      if (message.channel !== EVENTS_CHANNEL || message.payload?.startsWith(this.serverId)) return;
      this.scheduleRead();
    });
    client.on('error', (error) => {
      if (release(error)) this.retryListen(error, 'event LISTEN connection lost; reconnecting');
    });
    try {
      await client.query(`LISTEN ${EVENTS_CHANNEL}`);
    } catch (error) {
      if (release(error as Error)) this.retryListen(error, 'cannot LISTEN for events; retrying');
      return;
    }
    if (this.stopped) {
      release();
      return;
    }
    this.listener = { client, release };
    // Whatever was appended while we were not listening.
    this.scheduleRead();
  }

  private retryListen(error: unknown, message: string): void {
    if (this.stopped) return;
    this.logger.warn({ err: error }, message);
    setTimeout(() => void this.listen(), 1000).unref();
  }

  private scheduleRead(): void {
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = this.readRemote()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'reading remote events failed'))
      .finally(() => {
        this.reading = undefined;
        if (this.readAgain && !this.stopped) {
          this.readAgain = false;
          this.scheduleRead();
        }
      });
  }

  /**
   * Reads what other servers appended. PostgreSQL hands out ids before commit, so a transaction
   * may commit a lower id after a higher one is visible: the cursor only moves over ids that are
   * contiguous or older than COMMIT_GRACE_MS, later events are emitted at once and remembered so a
   * re-read does not emit them twice, and a re-read is scheduled while a hole remains.
   */
  private async readRemote(): Promise<void> {
    for (;;) {
      const page = await this.store.events.list({ afterId: this.remoteCursor, limit: READ_PAGE });
      if (page.length === 0) return;
      const fresh = page.filter((e) => !this.localIds.has(e.id) && !this.emitted.has(e.id));
      const oldEnough = Date.now() - COMMIT_GRACE_MS;
      let cursor = this.remoteCursor;
      for (const e of page) {
        if (e.id === cursor + 1 || Date.parse(e.ts) < oldEnough) cursor = e.id;
        else break;
      }
      this.remoteCursor = cursor;
      for (const e of page) if (e.id > cursor) this.emitted.add(e.id);
      for (const id of this.emitted) if (id <= cursor) this.emitted.delete(id);
      for (const id of this.localIds) if (id <= cursor) this.localIds.delete(id);
      if (fresh.length) this.emit(fresh);
      if (cursor < page[page.length - 1]!.id) {
        // A hole: look again once it is old enough to be given up (or filled).
        clearTimeout(this.holeTimer);
        this.holeTimer = setTimeout(() => this.scheduleRead(), COMMIT_GRACE_MS).unref();
        return;
      }
      if (page.length < READ_PAGE || this.stopped) return;
    }
  }
}
