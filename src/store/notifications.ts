// PostgreSQL LISTEN/NOTIFY, the store's one primitive for telling the other servers sharing the
// database: a dedicated pool connection that LISTENs on a channel, NOTIFY through the pool, and
// NOTIFY inside a transaction (delivered when, and only when, it commits). The cross-server channel
// (src/cluster) is built on it. SQLite has none: one server owns a SQLite file.
import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import type { Database } from './schema.js';

/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more. */
export const MAX_NOTIFY_BYTES = 7999;

export interface ListenHandlers {
  /** A notification on the channel (from any session, this server's own included). */
  message(payload: string): void;
  /**
   * The connection was lost (terminated backend, network, database restart): nothing more
   * arrives until the caller listens again. Called at most once, never after close().
   */
  lost(error: Error): void;
}

/** One LISTEN connection. */
export interface Listening {
  /** UNLISTENs and gives the connection back to the pool; harmless when it was lost or closed. */
  close(): Promise<void>;
}

export class Notifications {
  constructor(private readonly pool: pg.Pool) {}

  /** LISTENs on `channel` over a connection of its own, until close() or the connection is lost. */
  async listen(channel: string, handlers: ListenHandlers): Promise<Listening> {
    const name = identifier(channel);
    const client = await this.pool.connect();
    // A dying connection may report several errors, also after close() gave it back to the pool:
    // it is released once, and only a connection lost while in use is reported.
    let released = false;
    let listening = false;
    let closing = false;
    const onNotification = (message: pg.Notification) => {
      if (!closing && message.channel === channel) handlers.message(message.payload ?? '');
    };
    const release = (error?: Error): boolean => {
      if (released) return false;
      released = true;
      client.off('notification', onNotification);
      client.release(error);
      return true;
    };
    client.on('notification', onNotification);
    client.on('error', (error) => {
      if (release(error) && listening && !closing) handlers.lost(error);
    });
    try {
      await client.query(`LISTEN ${name}`);
    } catch (error) {
      release(error as Error);
      throw error;
    }
    listening = true;
    return {
      close: async () => {
        if (released || closing) return;
        closing = true;
        try {
          await client.query(`UNLISTEN ${name}`);
          release();
        } catch (error) {
          release(error as Error);
        }
      },
    };
  }

  /** NOTIFYs `channel` now, outside any transaction. */
  async notify(channel: string, payload: string): Promise<void> {
    await this.pool.query('SELECT pg_notify($1, $2)', [identifier(channel), checked(payload)]);
  }
}

/** NOTIFYs `channel` when `trx` commits (never when it rolls back): StoreTransaction.notify. */
export async function notifyIn(trx: Kysely<Database>, channel: string, payload: string): Promise<void> {
  await sql`SELECT pg_notify(${identifier(channel)}, ${checked(payload)})`.execute(trx);
}

/** Channel names are constants of the code: lower-case SQL identifiers, used unquoted. */
function identifier(channel: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) throw new Error(`not a notification channel name: '${channel}'`);
  return channel;
}

function checked(payload: string): string {
  const bytes = Buffer.byteLength(payload);
  if (bytes > MAX_NOTIFY_BYTES) throw new RangeError(`a notification carries at most ${MAX_NOTIFY_BYTES} bytes, this one ${bytes}`);
  return payload;
}
