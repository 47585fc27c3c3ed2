// The group commit's queue on its own: batching while a batch is written, one entry per key per
// batch in order, each entry settling on its own, and a failed batch written again entry by entry.
import { describe, expect, it } from 'vitest';
import { ReportQueue, type Settled } from './report-queue.js';

/** A write that holds each batch until released, recording what it was given. */
function heldWrite(answer: (entry: string) => Settled<string> = (e) => ({ value: e.toUpperCase() })) {
  const batches: string[][] = [];
  const releases: (() => void)[] = [];
  const write = async (entries: string[]) => {
    batches.push(entries);
    await new Promise<void>((resolve) => releases.push(resolve));
    return entries.map(answer);
  };
  const releaseNext = async () => {
    while (releases.length === 0) await new Promise((r) => setImmediate(r));
    releases.shift()!();
  };
  return { batches, write, releaseNext };
}

/** Lets the queue's setImmediate run (the end of the event loop's turn). */
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('ReportQueue', () => {
  it('writes what one turn of the event loop brought together, and batches what arrives while it is written', async () => {
    const w = heldWrite();
    const queue = new ReportQueue<string, string>(w.write);
    const first = queue.submit('a', 'a1');
    expect(w.batches).toEqual([]);
    await turn();
    expect(w.batches).toEqual([['a1']]);
    const rest = ['b1', 'c1', 'd1'].map((e) => queue.submit(e[0]!, e));
    await turn();
    expect(queue.depth).toBe(3);
    await w.releaseNext();
    expect(await first).toBe('A1');
    await w.releaseNext();
    expect(await Promise.all(rest)).toEqual(['B1', 'C1', 'D1']);
    expect(w.batches).toEqual([['a1'], ['b1', 'c1', 'd1']]);
  });

  it('never puts two entries of one key in a batch or in two batches at once, and keeps their order', async () => {
    const w = heldWrite();
    const queue = new ReportQueue<string, string>(w.write, { concurrency: 2 });
    const all = [queue.submit('a', 'a1')];
    await turn();
    // a1 is being written: a2 waits; b1 and c1 start beside it (concurrency 2); a3 waits behind a2.
    all.push(queue.submit('a', 'a2'), queue.submit('b', 'b1'), queue.submit('a', 'a3'), queue.submit('c', 'c1'));
    await turn();
    expect(w.batches).toEqual([['a1'], ['b1', 'c1']]);
    await w.releaseNext();
    await w.releaseNext();
    await w.releaseNext();
    await w.releaseNext();
    await Promise.all(all);
    expect(w.batches).toEqual([['a1'], ['b1', 'c1'], ['a2'], ['a3']]);
  });

  it('bounds a batch and settles each entry on its own', async () => {
    const w = heldWrite((e) => (e.startsWith('x') ? { error: new Error(`refused ${e}`) } : { value: e }));
    const queue = new ReportQueue<string, string>(w.write, { maxBatch: 2 });
    const first = queue.submit('0', '01');
    await turn();
    const waiting = Promise.allSettled(['x1', 'k1', 'm1'].map((e) => queue.submit(e, e)));
    await w.releaseNext();
    await first;
    await w.releaseNext();
    await w.releaseNext();
    const settled = await waiting;
    expect(w.batches).toEqual([['01'], ['x1', 'k1'], ['m1']]);
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toEqual(['refused x1', 'k1', 'm1']);
  });

  it('writes a batch that failed as a whole again entry by entry, so only the bad one fails', async () => {
    const calls: string[][] = [];
    let hold: Promise<void> = Promise.resolve();
    const queue = new ReportQueue<string, string>(async (entries) => {
      calls.push(entries);
      await hold;
      if (entries.includes('bad')) throw new Error('constraint failed');
      return entries.map((e) => ({ value: e }));
    });
    let release!: () => void;
    hold = new Promise((r) => (release = r));
    const first = queue.submit('z', 'z');
    await turn();
    const batch = Promise.allSettled(['a', 'bad', 'c'].map((e) => queue.submit(e, e)));
    release();
    await first;
    const settled = await batch;
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(calls).toEqual([['z'], ['a', 'bad', 'c'], ['a'], ['bad'], ['c']]);
  });

  it('rejects a lone entry whose write fails with that error', async () => {
    const queue = new ReportQueue<string, string>(async () => {
      throw new Error('disk full');
    });
    await expect(queue.submit('a', 'a')).rejects.toThrow('disk full');
    // The queue goes on afterwards.
    await expect(queue.submit('a', 'b')).rejects.toThrow('disk full');
  });
});
