// The event log as the rest of the system uses it: append durably, then tell live listeners
// (WebSocket, notifications, caches). Listeners never block or fail an append.
import { EventEmitter } from 'node:events';
import type { Clock, EventRecord, NewEvent } from '../core/index.js';
import type { EventRepository } from './event.repository.js';

export class EventLog {
  private readonly emitter = new EventEmitter();

  constructor(
    private readonly events: EventRepository,
    private readonly clock: Clock,
  ) {
    this.emitter.setMaxListeners(0);
  }

  /**
   * Appends inside the transaction `tx` (a unit of work's repositories) when given; call `publish`
   * with the result after the commit. Without one, appends and publishes at once.
   */
  async append(events: NewEvent[], tx?: { events: EventRepository }): Promise<EventRecord[]> {
    if (events.length === 0) return [];
    const records = await (tx?.events ?? this.events).append(events, this.clock.now());
    if (!tx) this.publish(records);
    return records;
  }

  publish(records: EventRecord[]): void {
    if (records.length > 0) this.emitter.emit('events', records);
  }

  /** Subscribes to events as they are appended; returns the unsubscribe function. */
  subscribe(listener: (events: EventRecord[]) => void): () => void {
    const safe = (events: EventRecord[]) => {
      try {
        listener(events);
      } catch {
        // A broken listener must not break the writer.
      }
    };
    this.emitter.on('events', safe);
    return () => this.emitter.off('events', safe);
  }
}
