// Streaming bulk import of devices from CSV or NDJSON. Rows are validated one by one and spooled
// to a temporary file, so a million-row import never sits in memory and nothing is written
// when a row is bad (unless the caller asked to skip bad rows). Re-importing an id updates it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CsvError, parse } from 'csv-parse';
import { ValidationError, parseDeviceInput, type DeviceInput, type ErrorDetail } from '../core/index.js';
import { csvRecordToInput, CSV_COLUMNS } from './device-csv.js';

export type DeviceFormat = 'csv' | 'ndjson';

export interface ImportProblem {
  line: number;
  message: string;
}

export interface ImportResult {
  /** Rows read (excluding the CSV header and blank lines). */
  rows: number;
  created: number;
  updated: number;
  /** Bad rows not written (only with skipInvalid). */
  skipped: number;
  /** The first problems found, with line numbers (at most MAX_LISTED). */
  invalid: ImportProblem[];
}

export interface ImportOptions {
  format: DeviceFormat;
  skipInvalid: boolean;
  /** Writes one batch; answers how many were new and how many replaced. */
  write(batch: DeviceInput[]): Promise<{ created: number; updated: number }>;
  /**
   * Called once all rows are validated, before the first batch is written, with how many will be;
   * the function it answers is called after the last batch (also when writing failed).
   */
  begin?(rows: number): () => Promise<void>;
  /** Called after each written batch with the rows written so far. */
  onProgress?(written: number): void;
  tmpDir?: string;
  batchSize?: number;
}

const MAX_LISTED = 1000;

async function* csvRows(source: Readable): AsyncGenerator<{ line: number; input: unknown } | { line: number; error: string }> {
  // Records come as arrays (mapping to the header ourselves is much faster than `columns`);
  // `info.lines` is the line a record ends on, right even for quoted multi-line cells.
  const parser = parse({ bom: true, info: true, skip_empty_lines: true, relax_column_count: true });
  const done = pipeline(source, parser);
  // A parse error reaches the loop below too; without this it would also be an unhandled rejection.
  done.catch(() => {});
  let header: string[] | null = null;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!header) {
        header = record.map((h) => h.trim());
        const unknown = header.filter((k) => !(CSV_COLUMNS as readonly string[]).includes(k));
        if (unknown.length || !header.includes('id')) {
          throw new ValidationError(`the CSV header must name device fields (${CSV_COLUMNS.join(',')}); ${unknown.length ? `unknown: ${unknown.join(', ')}` : 'it has no id column'}`, [{ path: 'line 1', message: 'bad header' }]);
        }
        continue;
      }
      if (record.length > header.length) {
        yield { line: info.lines, error: `has ${record.length} cells but the header has ${header.length} (quote cells that contain commas)` };
        continue;
      }
      const cells: Record<string, string> = {};
      for (let i = 0; i < record.length; i++) cells[header[i]!] = record[i]!;
      const input = csvRecordToInput(cells);
      yield typeof input === 'string' ? { line: info.lines, error: input } : { line: info.lines, input };
    }
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    const e = error as { code?: string; lines?: number; message: string };
    // Not every CsvError code starts with CSV_ (INVALID_OPENING_QUOTE does not).
    if (error instanceof CsvError || e.code?.startsWith('CSV_')) throw new ValidationError(`the CSV cannot be parsed at line ${e.lines ?? '?'}: ${e.message}`, [{ path: `line ${e.lines ?? '?'}`, message: e.message }]);
    throw error;
  }
  await done;
}

async function* ndjsonRows(source: Readable): AsyncGenerator<{ line: number; input: unknown } | { line: number; error: string }> {
  const lines = readline.createInterface({ input: source, crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    try {
      yield { line, input: JSON.parse(text) };
    } catch {
      yield { line, error: 'is not valid JSON (NDJSON wants one device object per line)' };
    }
  }
}

const describe = (errors: ErrorDetail[]) => errors.map((e) => (e.path ? `${e.path} ${e.message}` : e.message)).join('; ');

export async function importDevices(source: Readable, options: ImportOptions): Promise<ImportResult> {
  const tmp = await fs.promises.mkdtemp(path.join(options.tmpDir ?? os.tmpdir(), 'device-import-'));
  const spoolPath = path.join(tmp, 'rows.ndjson');
  const result: ImportResult = { rows: 0, created: 0, updated: 0, skipped: 0, invalid: [] };
  let bad = 0;
  try {
    // Pass 1: validate every row, spool the good ones.
    const spool = fs.createWriteStream(spoolPath);
    let pending = '';
    const flush = async () => {
      if (pending && !spool.write(pending)) await new Promise<void>((r) => spool.once('drain', () => r()));
      pending = '';
    };
    const rows = options.format === 'csv' ? csvRows(source) : ndjsonRows(source);
    for await (const row of rows) {
      result.rows++;
      let problem: string | null = 'error' in row ? row.error : null;
      let device: DeviceInput | null = null;
      if (!problem) {
        const parsed = parseDeviceInput((row as { input: unknown }).input);
        if (parsed.errors.length) problem = describe(parsed.errors);
        else device = parsed.device;
      }
      if (problem || !device) {
        bad++;
        if (result.invalid.length < MAX_LISTED) result.invalid.push({ line: row.line, message: problem ?? 'invalid row' });
        continue;
      }
      pending += JSON.stringify(device) + '\n';
      if (pending.length > 1 << 20) await flush();
    }
    await flush();
    await new Promise<void>((resolve, reject) => spool.end((error?: Error | null) => (error ? reject(error) : resolve())));

    if (bad > 0 && !options.skipInvalid) {
      throw new ValidationError(
        `${bad} of ${result.rows} rows are invalid; nothing was imported. Fix them, or pass skipInvalid (--skip-invalid) to import the ${result.rows - bad} good rows`,
        result.invalid.slice(0, 100).map((p) => ({ path: `line ${p.line}`, message: p.message })),
      );
    }
    result.skipped = bad;

    // Pass 2: write the spooled rows in batches. Within a batch the last row of an id wins.
    const batchSize = options.batchSize ?? 2000;
    let batch = new Map<string, DeviceInput>();
    let written = 0;
    const writeBatch = async () => {
      if (batch.size === 0) return;
      const counts = await options.write([...batch.values()]);
      result.created += counts.created;
      result.updated += counts.updated;
      written += batch.size;
      batch = new Map();
      options.onProgress?.(written);
    };
    const end = options.begin?.(result.rows - bad);
    try {
      const spooled = readline.createInterface({ input: fs.createReadStream(spoolPath), crlfDelay: Infinity });
      for await (const text of spooled) {
        const device = JSON.parse(text) as DeviceInput;
        if (batch.has(device.id)) batch.delete(device.id);
        batch.set(device.id, device);
        if (batch.size >= batchSize) await writeBatch();
      }
      await writeBatch();
    } finally {
      await end?.();
    }
    return result;
  } finally {
    await fs.promises.rm(tmp, { recursive: true, force: true });
  }
}
