// Where a bulk import's validated devices wait until every row has been checked (nothing is
// written when a row is bad), and how they are then written. Each store stages them in the
// database itself: SQLite in a scratch database, PostgreSQL in a temporary table.
import type { DeviceInput } from './device.js';

/**
 * Source bytes of the rows a staging batch holds at most before it is written, besides its count
 * of rows: a valid device may be tens of KiB (16 KiB of metadata, 64 tags), and a batch of 5,000
 * such devices parsed would be hundreds of MiB.
 */
export const STAGE_MAX_BYTES = 4 * 1024 * 1024;

export interface ImportStaging {
  /**
   * Pass 1: takes one validated device, in file order; a later row of the same id replaces an
   * earlier one. `rowBytes` is the size of the row it came from, so that a batch is bounded by
   * size (STAGE_MAX_BYTES) as well as by count. Answers a promise only when the caller must wait
   * (backpressure).
   */
  add(device: DeviceInput, rowBytes?: number): void | Promise<void>;
  /** Pass 2: writes everything staged; answers how many devices were new and how many replaced. */
  commit(onProgress?: (written: number) => void): Promise<{ created: number; updated: number }>;
  /** Releases the staging storage (after commit, or instead of it). */
  close(): Promise<void>;
}
