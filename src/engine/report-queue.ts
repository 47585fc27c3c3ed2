// Group commit for device reports: the reports read in one turn of the event loop, and those that
// arrive while a batch is being written, make up the next batch, and each batch is one unit of
// work (one commit, multi-row statements). A lone report is written right after the turn that read
// it, so a quiet fleet waits for nothing; a busy one shares its commits.
//
// Per batch, each entry settles on its own: a refusal (an unknown or stopped execution) is that
// entry's answer, not the batch's. When the batch's unit of work throws (a database error), it
// rolled back as a whole and every entry is written again alone, so one bad report fails only
// itself and none is written twice. Two reports of one device never share a batch or run in two
// batches at once: the later waits, in order.

/** What a batch answers for one entry: its result, or the error its caller gets. */
export type Settled<R> = { value: R } | { error: unknown };

export interface ReportQueueOptions {
  /** At most this many entries per batch (a batch holds the database while it writes). */
  maxBatch?: number;
  /** Batches written at once (1 for SQLite's one connection; more for a PostgreSQL pool). */
  concurrency?: number;
}

interface Waiting<E, R> {
  key: string;
  entry: E;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

export class ReportQueue<E, R> {
  private waiting: Waiting<E, R>[] = [];
  /** Keys of the entries in batches being written. */
  private readonly busy = new Set<string>();
  private running = 0;
  private scheduled = false;
  private readonly maxBatch: number;
  private readonly concurrency: number;

  /**
   * `write` writes a batch in one unit of work and answers one Settled per entry, in order; it
   * throws only when the unit of work failed as a whole (rolled back).
   */
  constructor(
    private readonly write: (entries: E[]) => Promise<Settled<R>[]>,
    options: ReportQueueOptions = {},
  ) {
    this.maxBatch = Math.max(1, options.maxBatch ?? 256);
    this.concurrency = Math.max(1, options.concurrency ?? 1);
  }

  /** Queues an entry (`key`: what may not be written twice at once, the device); settles when its batch committed. */
  submit(key: string, entry: E): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ key, entry, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Writes once the reports of this turn of the event loop are in: on SQLite a batch runs to its
   * commit without yielding to I/O, so the requests read in the same turn would otherwise each
   * get a batch of their own. setImmediate runs right after the turn's I/O: no timer, no wait.
   */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /** Entries waiting for a batch (for tests and gauges). */
  get depth(): number {
    return this.waiting.length;
  }

  private pump(): void {
    while (this.running < this.concurrency) {
      const batch = this.take();
      if (batch.length === 0) return;
      this.running++;
      void this.run(batch).finally(() => {
        this.running--;
        for (const w of batch) this.busy.delete(w.key);
        this.pump();
      });
    }
  }

  /** The oldest waiting entries, one per key, none whose key is being written; the rest keep their order. */
  private take(): Waiting<E, R>[] {
    const batch: Waiting<E, R>[] = [];
    const rest: Waiting<E, R>[] = [];
    const taken = new Set<string>();
    for (const w of this.waiting) {
      if (batch.length < this.maxBatch && !this.busy.has(w.key) && !taken.has(w.key)) {
        batch.push(w);
        taken.add(w.key);
      } else {
        rest.push(w);
        // A later report of a key that waits must wait behind it.
        taken.add(w.key);
      }
    }
    if (batch.length === 0) return batch;
    this.waiting = rest;
    for (const w of batch) this.busy.add(w.key);
    return batch;
  }

  private async run(batch: Waiting<E, R>[]): Promise<void> {
    let settled: Settled<R>[];
    try {
      settled = await this.write(batch.map((w) => w.entry));
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      // The batch rolled back: each entry alone, so only the one at fault fails.
      settled = [];
      for (const w of batch) {
        try {
          settled.push(...(await this.write([w.entry])));
        } catch (alone) {
          settled.push({ error: alone });
        }
      }
    }
    batch.forEach((w, i) => {
      const s = settled[i];
      if (!s) w.reject(new Error('report batch answered fewer results than entries'));
      else if ('error' in s) w.reject(s.error);
      else w.resolve(s.value);
    });
  }
}
