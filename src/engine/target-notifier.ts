// Tells the device API which devices' target state may have changed, on this server and, on
// PostgreSQL, on every server sharing the database (NOTIFY/LISTEN on one channel).
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import type { Database } from '../store/index.js';
import type { TargetChangedListener } from './device-sync.js';

const CHANNEL = 'uo_target_changed';
/** NOTIFY payloads must stay under 8000 bytes. */
const MAX_PAYLOAD = 7000;

export class TargetNotifier {
  private readonly emitter = new EventEmitter();
  private readonly origin = randomUUID();
  private client: pg.PoolClient | null = null;
  private stopped = false;
  private sending: Promise<void> = Promise.resolve();
  private readonly resetListeners = new Set<() => void>();

  constructor(private readonly pool?: pg.Pool) {
    this.emitter.setMaxListeners(0);
  }

  /**
   * Called when listening resumed after the connection was lost: changes notified in the gap are
   * unknown, so caches must drop everything.
   */
  onReset(listener: () => void): () => void {
    this.resetListeners.add(listener);
    return () => this.resetListeners.delete(listener);
  }

  /** Starts listening for other servers' notifications (PostgreSQL only). */
  async start(): Promise<void> {
    this.stopped = false;
    if (!this.pool || this.client) return;
    const client = await this.pool.connect();
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL || !message.payload) return;
      try {
        const { origin, ids } = JSON.parse(message.payload) as { origin: string; ids: string[] };
        if (origin !== this.origin) this.emit(ids);
      } catch {
        // A malformed payload from elsewhere is ignored.
      }
    });
    // A lost connection (database restart, network, terminated backend): listen again.
    client.on('error', () => this.lost(client));
    try {
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      client.release(true);
      throw error;
    }
    this.client = client;
  }

  private lost(client: pg.PoolClient): void {
    if (this.client !== client) return;
    this.client = null;
    client.release(true);
    const retry = () => {
      if (this.stopped) return;
      this.start().then(
        () => {
          for (const listener of this.resetListeners) listener();
        },
        () => setTimeout(retry, 1000).unref(),
      );
    };
    setTimeout(retry, 200).unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const client = this.client;
    this.client = null;
    if (!client) return;
    try {
      await client.query(`UNLISTEN ${CHANNEL}`);
    } catch {
      // The connection may already be gone.
    }
    client.release();
  }

  subscribe(listener: TargetChangedListener): () => void {
    const safe = (ids: string[]) => {
      try {
        listener(ids);
      } catch {
        // A broken listener must not break the engine.
      }
    };
    this.emitter.on('changed', safe);
    return () => this.emitter.off('changed', safe);
  }

  /** Fires local listeners now and notifies other servers (best effort). */
  changed(deviceIds: string[]): void {
    if (deviceIds.length === 0) return;
    this.emit(deviceIds);
    if (!this.pool) return;
    // One after another, so other servers hear the chunks in the order they were sent.
    const pool = this.pool;
    const payloads = [...this.payloads(deviceIds)];
    this.sending = this.sending.then(async () => {
      for (const payload of payloads) await pool.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]).catch(() => {});
    });
  }

  /**
   * Notifies the other servers from inside `trx`: PostgreSQL delivers the notification exactly when
   * the transaction commits, so a server killed right after committing cannot leave the others
   * serving a stale target. Call `changedHere` after the commit for this server's listeners.
   */
  async changedIn(trx: Kysely<Database>, deviceIds: string[]): Promise<void> {
    if (!this.pool || deviceIds.length === 0) return;
    for (const payload of this.payloads(deviceIds)) await sql`SELECT pg_notify(${CHANNEL}, ${payload})`.execute(trx);
  }

  /** Fires this server's listeners only (the others were told by `changedIn`). */
  changedHere(deviceIds: string[]): void {
    if (deviceIds.length) this.emit(deviceIds);
  }

  private emit(ids: string[]): void {
    this.emitter.emit('changed', ids);
  }

  private *payloads(ids: string[]): Generator<string> {
    let batch: string[] = [];
    let size = 100;
    for (const id of ids) {
      if (size + id.length + 3 > MAX_PAYLOAD && batch.length) {
        yield JSON.stringify({ origin: this.origin, ids: batch });
        batch = [];
        size = 100;
      }
      batch.push(id);
      size += id.length + 3;
    }
    if (batch.length) yield JSON.stringify({ origin: this.origin, ids: batch });
  }
}
