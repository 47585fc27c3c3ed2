// Where a bulk import's validated devices wait until every row has been checked (nothing is
// written when a row is bad), and how they are then written. Each store stages them in the
// database itself: SQLite in a scratch database, PostgreSQL in a temporary table.
import type { DeviceInput } from './device.js';

export interface ImportStaging {
  /**
   * Pass 1: takes one validated device, in file order; a later row of the same id replaces an
   * earlier one. Answers a promise only when the caller must wait (backpressure).
   */
  add(device: DeviceInput): void | Promise<void>;
  /** Pass 2: writes everything staged; answers how many devices were new and how many replaced. */
  commit(onProgress?: (written: number) => void): Promise<{ created: number; updated: number }>;
  /** Releases the staging storage (after commit, or instead of it). */
  close(): Promise<void>;
}
