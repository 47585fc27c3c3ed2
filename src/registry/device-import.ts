// Streaming bulk import of devices from CSV or NDJSON. Rows are validated one by one and staged by
// the store (ImportStaging: in a scratch database or a temporary table), so a million-row import
// never sits in memory and nothing is written when a row is bad (unless the caller asked to skip
// bad rows). No row longer than maxRowBytes is ever held: it stops the import (row-limit.ts).
// Re-importing an id updates it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import Papa from 'papaparse';
import { ValidationError, parseDeviceInput, type DeviceInput, type ErrorDetail, type ImportStaging } from '../core/index.js';
import { csvRecordToInput, CSV_COLUMNS } from './device-csv.js';
import { boundedLines, CsvRowLimit, DEFAULT_MAX_ROW_BYTES } from './row-limit.js';

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
  /** Where validated rows wait until every row is checked; `dir` is the import's temporary directory. */
  stage(dir: string): ImportStaging;
  /** A problem with a valid row that only the store can see (a "[set]" credential with no stored value), or null. */
  check?(device: DeviceInput): string | null | Promise<string | null>;
  /** Called after each written batch with the rows written so far. */
  onProgress?(written: number): void;
  tmpDir?: string;
  /**
   * Largest row in bytes (a CSV record, quoted line breaks included; an NDJSON line): a longer one
   * stops the import with RowTooLongError, whatever skipInvalid says. Default 1 MiB.
   */
  maxRowBytes?: number;
}

const MAX_LISTED = 1000;
/** A problem's message as listed: validation messages may quote the value, which may be a row long. */
const MAX_MESSAGE = 300;
const shorten = (message: string) => (message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}\u2026` : message);


/** A row read from the file: its line, and its size in characters (CSV) or bytes (NDJSON) for the staging's batches. */
type SourceRow = { line: number; size: number; input: unknown } | { line: number; error: string };

/** Line breaks inside a cell (a quoted cell may span lines); CRLF counts once. */
function lineBreaks(cell: string): number {
  let n = 0;
  for (let i = cell.indexOf('\n'); i >= 0; i = cell.indexOf('\n', i + 1)) n++;
  if (cell.includes('\r')) for (let i = 0; i < cell.length; i++) if (cell[i] === '\r' && cell[i + 1] !== '\n') n++;
  return n;
}

const QUOTE_ERRORS: Record<string, string> = {
  MissingQuotes: 'a quoted cell is never closed',
  InvalidQuotes: 'a closing quote is followed by something other than a comma or the end of the line (write a quote inside a quoted cell as "")',
};

/**
 * Reads up to the end of the first line to learn the line ending (papaparse would guess from its
 * first chunk, which may end before the first line does); answers it and the whole stream again.
 * Reads at most `maxRowBytes` characters (a first line without a line break that long is too long
 * a row anyway: the row limit refuses it). Leaves `source` undestroyed, so that an HTTP request
 * whose import stops early can still be answered.
 */
async function detectNewline(source: Readable, maxRowBytes: number): Promise<{ newline: '\n' | '\r\n' | '\r'; stream: Readable }> {
  let head = '';
  const chunks = source.iterator({ destroyOnReturn: false });
  let ended = false;
  while (!/[\r\n]/.test(head.slice(0, -1)) && head.length <= maxRowBytes) {
    const next = await chunks.next();
    if (next.done) {
      ended = true;
      break;
    }
    head += next.value as string;
  }
  const lf = head.indexOf('\n');
  const cr = head.indexOf('\r');
  const newline = cr >= 0 && (lf < 0 || cr < lf) ? (head[cr + 1] === '\n' ? '\r\n' : '\r') : '\n';
  async function* rest(): AsyncGenerator<string> {
    try {
      if (head) yield head;
      if (ended) return;
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value as string;
    } finally {
      await chunks.return?.();
    }
  }
  return { newline, stream: Readable.from(rest(), { objectMode: false, encoding: 'utf8' }) };
}

async function* csvRows(source: Readable, maxRowBytes: number): AsyncGenerator<SourceRow> {
  // papaparse in step mode: rows arrive one by one as the stream is read; the parser is paused
  // while QUEUE_MAX rows or QUEUE_MAX_CHARS characters of them wait, so a fast upload never piles
  // up in memory. In front of it, CsvRowLimit cuts off a record longer than maxRowBytes (an
  // unterminated quote) before papaparse buffers it. Empty lines come as [''] and are counted,
  // which with the line breaks inside quoted cells gives exact line numbers.
  const QUEUE_MAX = 2000;
  const QUEUE_MAX_CHARS = 8 * 1024 * 1024;
  let queue: string[][] = [];
  let queuedChars = 0;
  let next = 0;
  let finished = false;
  // Set from papaparse's callbacks: a quoting error (the row it is on follows the rows queued) or a stream error.
  let failure = null as { message: string } | Error | null;
  let paused: Papa.Parser | null = null;
  let handle: Papa.Parser | null = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  source.setEncoding('utf8');
  const { newline, stream } = await detectNewline(source, maxRowBytes);
  const limited = stream.pipe(new CsvRowLimit(newline, maxRowBytes));
  Papa.parse<string[]>(limited as unknown as NodeJS.ReadableStream, {
    delimiter: ',',
    newline,
    step: (results, parser) => {
      handle = parser;
      if (failure) return;
      if (results.errors.length > 0) {
        const error = results.errors[0]!;
        failure = { message: QUOTE_ERRORS[error.code] ?? error.message };
        parser.abort();
      } else {
        queue.push(results.data);
        for (const cell of results.data) queuedChars += cell.length;
        if ((queue.length - next >= QUEUE_MAX || queuedChars >= QUEUE_MAX_CHARS) && !paused) {
          paused = parser;
          parser.pause();
        }
      }
      notify();
    },
    complete: () => {
      finished = true;
      notify();
    },
    error: (error: Error) => {
      failure ??= error;
      notify();
    },
  });

  let header: string[] | null = null;
  let line = 0;
  try {
    for (;;) {
      if (next < queue.length) {
        const record = queue[next++]!;
        if (next === queue.length) {
          queue = [];
          next = 0;
        }
        let breaks = 0;
        let size = 0;
        for (const cell of record) {
          size += cell.length;
          if (cell.length > 1) breaks += lineBreaks(cell);
        }
        queuedChars -= size;
        line += 1 + breaks;
        if (record.length === 1 && record[0] === '') continue; // an empty line
        if (!header) {
          header = record.map((h, i) => (i === 0 ? h.replace(/^\uFEFF/, '') : h).trim());
          const unknown = header.filter((k) => !(CSV_COLUMNS as readonly string[]).includes(k));
          if (unknown.length || !header.includes('id')) {
            throw new ValidationError(`the CSV header must name device fields (${CSV_COLUMNS.join(',')}); ${unknown.length ? `unknown: ${unknown.join(', ')}` : 'it has no id column'}`, [{ path: 'line 1', message: 'bad header' }]);
          }
          continue;
        }
        if (record.length > header.length) {
          yield { line, error: `has ${record.length} cells but the header has ${header.length} (quote cells that contain commas)` };
          continue;
        }
        const cells: Record<string, string> = {};
        for (let i = 0; i < record.length; i++) cells[header[i]!] = record[i]!;
        const input = csvRecordToInput(cells);
        yield typeof input === 'string' ? { line, error: input } : { line, size, input };
        continue;
      }
      const failed = failure as { message: string } | Error | null;
      if (failed) {
        if (failed instanceof Error) throw failed;
        const at = line + 1;
        throw new ValidationError(`the CSV cannot be parsed at line ${at}: ${failed.message}`, [{ path: `line ${at}`, message: failed.message }]);
      }
      if (finished) return;
      if (paused) {
        const parser: Papa.Parser = paused;
        paused = null;
        parser.resume(); // may deliver rows (and pause again) before it returns
        continue;
      }
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    if (!finished) {
      (handle as Papa.Parser | null)?.abort();
      // Stops reading the source without destroying it (an HTTP request is still to be answered).
      stream.destroy();
      limited.destroy();
    }
  }
}

async function* ndjsonRows(source: Readable, maxRowBytes: number): AsyncGenerator<SourceRow> {
  for await (const { line, text, bytes } of boundedLines(source, maxRowBytes)) {
    if (text.trim() === '') continue;
    try {
      yield { line, size: bytes, input: JSON.parse(text) };
    } catch {
      yield { line, error: 'is not valid JSON (NDJSON wants one device object per line)' };
    }
  }
}

const describe = (errors: ErrorDetail[]) => errors.map((e) => (e.path ? `${e.path} ${e.message}` : e.message)).join('; ');

export async function importDevices(source: Readable, options: ImportOptions): Promise<ImportResult> {
  const tmp = await fs.promises.mkdtemp(path.join(options.tmpDir ?? os.tmpdir(), 'device-import-'));
  const result: ImportResult = { rows: 0, created: 0, updated: 0, skipped: 0, invalid: [] };
  let bad = 0;
  let staging: ImportStaging | undefined;
  try {
    staging = options.stage(tmp);
    // Pass 1: validate every row, stage the good ones.
    const maxRowBytes = options.maxRowBytes ?? DEFAULT_MAX_ROW_BYTES;
    const rows = options.format === 'csv' ? csvRows(source, maxRowBytes) : ndjsonRows(source, maxRowBytes);
    for await (const row of rows) {
      result.rows++;
      let problem: string | null = 'error' in row ? row.error : null;
      let device: DeviceInput | null = null;
      if (!problem) {
        const parsed = parseDeviceInput((row as { input: unknown }).input);
        if (parsed.errors.length) problem = describe(parsed.errors);
        else device = parsed.device;
      }
      if (!problem && device && options.check) {
        // Most rows have nothing to check: no await (and no turn of the event loop) for them.
        const checked = options.check(device);
        problem = checked instanceof Promise ? await checked : checked;
      }
      if (problem || !device) {
        bad++;
        if (result.invalid.length < MAX_LISTED) result.invalid.push({ line: row.line, message: shorten(problem ?? 'invalid row') });
        continue;
      }
      const wait = staging.add(device, (row as { size: number }).size);
      if (wait) await wait;
    }

    if (bad > 0 && !options.skipInvalid) {
      throw new ValidationError(
        `${bad} of ${result.rows} rows are invalid; nothing was imported. Fix them, or pass skipInvalid (--skip-invalid) to import the ${result.rows - bad} good rows`,
        result.invalid.slice(0, 100).map((p) => ({ path: `line ${p.line}`, message: p.message })),
      );
    }
    result.skipped = bad;

    // Pass 2: write what was staged.
    const counts = await staging.commit(options.onProgress);
    result.created = counts.created;
    result.updated = counts.updated;
    return result;
  } finally {
    await staging?.close();
    await fs.promises.rm(tmp, { recursive: true, force: true });
  }
}
