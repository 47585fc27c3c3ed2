// Checkpoints SQLite's write-ahead log on a worker thread. By default SQLite checkpoints inside
// the commit that pushes the WAL past 1,000 pages: on the server's one connection that is the
// event loop, and under a burst of device reports about a quarter of each commit's time went to
// copying pages back into the database. Here the server's connection never checkpoints
// (wal_autocheckpoint = 0) while a second connection on another thread does, PASSIVE, so neither
// waits for the other. If the thread dies the connection checkpoints itself again, as before.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type SQLite from 'better-sqlite3';

/**
 * The thread: its own connection to the file copies what the WAL holds back into the database,
 * PASSIVE (it never waits for, nor blocks, the server's connection), every `intervalMs`. Inline
 * (CommonJS, given better-sqlite3's resolved path) so that it runs the same from the sources
 * under the test runner and from the build.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const SQLite = require(workerData.driver);
const db = new SQLite(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy now (a writer restarting the WAL): the next turn tries again.
  }
}, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/** The WAL SQLite keeps on disk after a checkpoint reset it (a burst may grow it past this). */
const WAL_SIZE_LIMIT = 64 * 1024 * 1024;
const SQLITE_DEFAULT_AUTOCHECKPOINT = 1000;

export class SqliteCheckpointer {
  private readonly worker: Worker;
  private stopped = false;
  private exited = false;

  constructor(
    private readonly sqlite: SQLite.Database,
    file: string,
    intervalMs = 250,
  ) {
    sqlite.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`);
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER, { eval: true, workerData: { driver, file, intervalMs } });
    // It must not keep a process alive that is otherwise done.
    this.worker.unref();
    this.worker.on('online', () => {
      if (!this.stopped) sqlite.pragma('wal_autocheckpoint = 0');
    });
    const fallBack = () => {
      if (!this.stopped && sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_AUTOCHECKPOINT}`);
    };
    this.worker.on('error', fallBack);
    this.worker.on('exit', () => {
      this.exited = true;
      fallBack();
    });
  }

  /** Stops the thread; the connection checkpoints itself again (and SQLite checkpoints on close). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    if (this.sqlite.open) this.sqlite.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_AUTOCHECKPOINT}`);
    this.stopped = true;
    if (this.exited) return;
    // Held while it stops: a process waiting for it must not end with the wait unsettled.
    this.worker.ref();
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage('stop');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, 2_000)))]);
    clearTimeout(timer);
    await this.worker.terminate();
  }
}
