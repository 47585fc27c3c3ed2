// Target-change notifications between servers ride on the transaction that makes the change:
// PostgreSQL delivers a NOTIFY issued inside a transaction when, and only when, it commits. So a
// server that dies right after committing a change cannot leave the others with a stale target.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../store/index.js';
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../testing/postgres.js';
import { PostgresChannel } from './postgres-channel.js';
import { TargetChanges } from './target-changes.js';

const unavailable = await postgresUnavailable();

describe.skipIf(unavailable !== null)('target-change notifications inside a transaction', () => {
  let db: TestDatabase;
  let a: Store;
  let b: Store;
  let channelA: PostgresChannel;
  let channelB: PostgresChannel;
  let notifierA: TargetChanges;
  let notifierB: TargetChanges;
  const heardByB: string[][] = [];
  const heardByA: string[][] = [];

  beforeAll(async () => {
    db = await createTestDatabase('uo_notify');
    a = await openStore({ url: db.url });
    b = await openStore({ url: db.url });
    channelA = new PostgresChannel(a.notifications!);
    channelB = new PostgresChannel(b.notifications!);
    await channelA.start();
    await channelB.start();
    notifierA = new TargetChanges(channelA);
    notifierB = new TargetChanges(channelB);
    notifierA.subscribe((ids) => heardByA.push(ids));
    notifierB.subscribe((ids) => heardByB.push(ids));
  });
  afterAll(async () => {
    await channelA?.stop();
    await channelB?.stop();
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  const heard = (ids: string[]) => new Promise<void>((resolve, reject) => {
    const deadline = Date.now() + 10_000;
    const check = () => (heardByB.some((h) => h.join() === ids.join()) ? resolve() : Date.now() > deadline ? reject(new Error(`B never heard ${ids.join()}`)) : setTimeout(check, 20));
    check();
  });

  it('reaches the other server when the transaction commits, never when it rolls back', async () => {
    await a.transaction(async (tx) => {
      await notifierA.changedIn(tx, ['dev-rolled-back']);
      throw new Error('roll back');
    }).catch(() => {});
    await a.transaction((tx) => notifierA.changedIn(tx, ['dev-committed']));
    await heard(['dev-committed']);
    // Notifications arrive in commit order: the rolled-back one would have come first.
    expect(heardByB.flat()).not.toContain('dev-rolled-back');
    // The sending server's own listeners are told separately (changedHere), not by the echo.
    expect(heardByA.flat()).not.toContain('dev-committed');
  });

  it('splits large id lists into several notifications under the payload limit', async () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `device-with-a-long-identifier-${i}`);
    await a.transaction((tx) => notifierA.changedIn(tx, ids));
    const deadline = Date.now() + 10_000;
    while (new Set(heardByB.flat()).size < ids.length + 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(new Set(heardByB.flat().filter((id) => id.startsWith('device-with'))).size).toBe(ids.length);
  });
});
