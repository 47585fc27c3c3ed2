// WsSession's ordering rules, with the store read and the socket write held by the test so each
// interleaving is forced rather than hoped for: a replay and live events meet without a loss or a
// duplicate, and a new subscription during a replay leaves the session live.
import type { WebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import type { EventRecord } from '../core/index.js';
import type { EventRepository } from '../store/index.js';
import { DEFAULT_LIMITS, WsSession, type FlushScheduler, type ServerMessage } from './ws-session.js';

const record = (id: number): EventRecord => ({ id, ts: new Date(0).toISOString(), type: 'execution.succeeded', actor: null, rolloutId: 'r1', deviceId: `d${id}`, executionId: null, data: {} });

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A socket whose writes complete when the test says so (or at once when `autoAck`). */
function heldSocket() {
  const sent: ServerMessage[] = [];
  const acks: Array<() => void> = [];
  const socket = {
    OPEN: 1,
    readyState: 1,
    bufferedAmount: 0,
    autoAck: true,
    send(data: string, cb: () => void) {
      sent.push(JSON.parse(data) as ServerMessage);
      if (this.autoAck) cb();
      else acks.push(cb);
    },
  };
  return { socket, sent, ackAll: () => acks.splice(0).forEach((cb) => cb()) };
}

/** Store reads the test answers one by one. */
function heldEvents() {
  const reads: Array<{ afterId: number; answer: (page: EventRecord[]) => void }> = [];
  const repo = {
    list: (query: { afterId?: number }) => {
      const d = deferred<EventRecord[]>();
      reads.push({ afterId: query.afterId ?? 0, answer: d.resolve });
      return d.promise;
    },
  };
  return { repo: repo as unknown as EventRepository, reads };
}

/** Flushes run when the test calls `run()`. */
function heldFlushes() {
  const pending = new Set<() => void>();
  const schedule: FlushScheduler = (flush) => {
    pending.add(flush);
    return () => void pending.delete(flush);
  };
  return { schedule, run: () => [...pending].forEach((f) => (pending.delete(f), f())), get size() { return pending.size; } };
}

const delivered = (sent: ServerMessage[]) => sent.flatMap((m) => (m.type === 'events' ? m.events.map((e) => e.id) : []));
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('WsSession', () => {
  it('delivers an event that arrives while "subscribed" is being written once, by the replay', async () => {
    const { socket, sent, ackAll } = heldSocket();
    const { repo, reads } = heldEvents();
    const flushes = heldFlushes();
    const session = new WsSession(socket as unknown as WebSocket, repo, DEFAULT_LIMITS, flushes.schedule);
    socket.autoAck = false;
    const subscribed = session.subscribe({ rolloutId: 'r1' }, 10);
    // Event 11 is appended while the "subscribed" message is still on its way; the store has it.
    session.offer([record(11)]);
    socket.autoAck = true;
    ackAll();
    await tick();
    expect(reads).toHaveLength(1);
    reads[0]!.answer([record(11)]);
    await subscribed;
    flushes.run();
    expect(delivered(sent)).toEqual([11]);
  });

  it('stays live when a subscription without a resume point replaces one whose replay is still reading', async () => {
    const { socket, sent } = heldSocket();
    const { repo, reads } = heldEvents();
    const flushes = heldFlushes();
    const session = new WsSession(socket as unknown as WebSocket, repo, DEFAULT_LIMITS, flushes.schedule);
    const first = session.subscribe({ rolloutId: 'r1' }, 10);
    await tick();
    expect(reads).toHaveLength(1);
    await session.subscribe({ rolloutId: 'r1' }, null);
    // The first replay's read returns after it was replaced: it must send nothing and change nothing.
    reads[0]!.answer([record(11)]);
    await first;
    session.offer([record(12), record(13)]);
    expect(flushes.size).toBe(1);
    flushes.run();
    expect(delivered(sent)).toEqual([12, 13]);
    expect(sent.filter((m) => m.type === 'subscribed').map((m) => (m as { replayFrom: number | null }).replayFrom)).toEqual([10, null]);
  });

  it('hands over from a replay to live events without a gap or a duplicate', async () => {
    const { socket, sent } = heldSocket();
    const { repo, reads } = heldEvents();
    const flushes = heldFlushes();
    const session = new WsSession(socket as unknown as WebSocket, repo, { ...DEFAULT_LIMITS, replayPage: 2 }, flushes.schedule);
    const replay = session.subscribe({ rolloutId: 'r1' }, 0);
    await tick();
    // Live events 3..5 arrive during the replay; the store's pages also hold 3 (already committed).
    session.offer([record(3), record(4)]);
    reads[0]!.answer([record(1), record(2)]);
    await tick();
    session.offer([record(5)]);
    reads[1]!.answer([record(3)]);
    await replay;
    expect(flushes.size).toBe(1);
    flushes.run();
    expect(delivered(sent)).toEqual([1, 2, 3, 4, 5]);
  });

  it('does not send again an event the replay sent when the feed delivers it afterwards', async () => {
    const { socket, sent } = heldSocket();
    const { repo, reads } = heldEvents();
    const flushes = heldFlushes();
    const session = new WsSession(socket as unknown as WebSocket, repo, DEFAULT_LIMITS, flushes.schedule);
    const replay = session.subscribe({ rolloutId: 'r1' }, 10);
    await tick();
    // Another server committed 11 and 12 just before the replay read; its NOTIFY arrives later.
    reads[0]!.answer([record(11), record(12)]);
    await replay;
    session.offer([record(11), record(12), record(13)]);
    flushes.run();
    expect(delivered(sent)).toEqual([11, 12, 13]);
  });

  it('delivers a held event below the replay cursor that the replay did not read (committed late)', async () => {
    const { socket, sent } = heldSocket();
    const { repo, reads } = heldEvents();
    const flushes = heldFlushes();
    const session = new WsSession(socket as unknown as WebSocket, repo, DEFAULT_LIMITS, flushes.schedule);
    const replay = session.subscribe({ rolloutId: 'r1' }, 0);
    await tick();
    // Id 2's transaction commits after 3's: the replay reads 1 and 3, and 2 arrives live.
    session.offer([record(2)]);
    reads[0]!.answer([record(1), record(3)]);
    await replay;
    flushes.run();
    expect(delivered(sent)).toEqual([1, 3, 2]);
  });
});
