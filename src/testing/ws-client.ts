// Test support: a WebSocket client of /ws that records every message and lets a test await the
// first message matching a predicate (no sleeps).
import WebSocket from 'ws';

/** A recorded connection to /ws. */
export interface TestWsClient {
  socket: WebSocket;
  messages: Record<string, unknown>[];
  /** Resolves with the first message (already received or future) matching `predicate`. */
  waitFor(predicate: (m: Record<string, unknown>) => boolean, what?: string): Promise<Record<string, unknown>>;
  /** Ids of every event received, in order. */
  eventIds(): number[];
  send(message: unknown): void;
  close(): Promise<void>;
}

export async function connectWs(baseUrl: string, options: { token?: string; query?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<TestWsClient> {
  const url = new URL(baseUrl.replace(/^http/, 'ws') + '/ws');
  for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
  const socket = new WebSocket(url, { headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...options.headers } });
  const messages: Record<string, unknown>[] = [];
  const waiters: { predicate: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void }[] = [];
  socket.on('message', (data) => {
    const message = JSON.parse(data.toString()) as Record<string, unknown>;
    messages.push(message);
    for (const w of [...waiters]) {
      if (w.predicate(message)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(message);
      }
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
  return {
    socket,
    messages,
    waitFor(predicate, what = 'message') {
      const found = messages.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        waiters.push({ predicate, resolve });
        socket.once('close', (code, reason) => reject(new Error(`socket closed (${code} ${reason.toString()}) while waiting for ${what}`)));
      });
    },
    eventIds() {
      return messages.filter((m) => m.type === 'events').flatMap((m) => (m.events as { id: number }[]).map((e) => e.id));
    },
    send(message) {
      socket.send(JSON.stringify(message));
    },
    close() {
      if (socket.readyState === socket.CLOSED) return Promise.resolve();
      return new Promise((resolve) => {
        socket.once('close', () => resolve());
        socket.close();
      });
    },
  };
}
