// The cluster-wide live event feed. Events appended on this server arrive from EventLog.subscribe;
// when other servers share the store, each server publishes its last id on the cluster channel
// after it appends, and the others read what they have not seen from the store (the store stays
// the source of truth, the message only says "look").
import type { Logger } from 'pino';
import type { EventRecord } from '../core/index.js';
import type { EventLog, Store } from '../store/index.js';
import { topic, type ClusterChannel } from './channel.js';

/** "Look": the last event id the sending server appended. */
export const EVENTS_TOPIC = topic<number>('events');
const READ_PAGE = 1000;
const NOTIFY_DEBOUNCE_MS = 20;
const MAX_LOCAL_IDS = 100_000;
/** How long an id hole may wait for its transaction to commit before the feed moves past it. */
export const COMMIT_GRACE_MS = 2000;

export type FeedListener = (events: EventRecord[]) => void;

/** Live events of every server sharing the store, each delivered once, ids ascending per batch. */
export class EventFeed {
  private readonly listeners = new Set<FeedListener>();
  private readonly unsubscribe: Array<() => void> = [];
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
    private readonly store: Pick<Store, 'events'>,
    private readonly channel: ClusterChannel,
    private readonly logger: Pick<Logger, 'warn'>,
  ) {}

  async start(): Promise<void> {
    this.unsubscribe.push(this.events.subscribe((records) => this.onLocal(records)));
    if (!this.channel.reachesOtherServers) return;
    this.remoteCursor = await this.store.events.lastId();
    this.unsubscribe.push(
      this.channel.subscribe(EVENTS_TOPIC, () => this.scheduleRead(), { othersOnly: true }),
      // Whatever was appended while the channel was not listening.
      this.channel.onResume(() => this.scheduleRead()),
    );
    // Whatever was appended between reading the last id and subscribing.
    this.scheduleRead();
  }

  subscribe(listener: FeedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const off of this.unsubscribe.splice(0)) off();
    clearTimeout(this.notifyTimer);
    clearTimeout(this.holeTimer);
    await this.reading;
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
    if (!this.channel.reachesOtherServers) return;
    for (const r of records) {
      this.localIds.add(r.id);
      this.pendingNotifyId = Math.max(this.pendingNotifyId, r.id);
    }
    if (this.localIds.size > MAX_LOCAL_IDS) this.scheduleRead();
    this.notifyTimer ??= setTimeout(() => {
      this.notifyTimer = undefined;
      if (!this.stopped) this.channel.publish(EVENTS_TOPIC, this.pendingNotifyId);
    }, NOTIFY_DEBOUNCE_MS);
  }

  private scheduleRead(): void {
    if (this.stopped) return;
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
