// The per-row byte limit of streamed imports (ORCHESTRATOR_IMPORT_MAX_ROW_BYTES, docs/security.md):
// whatever the upload, no more than one row's worth of it is held in memory, and a row that passes
// the limit stops the import at that point, naming the line it starts on. NDJSON goes through a
// bounded line splitter (readline would grow one string until V8 gives up); CSV through a guard
// that follows the parser's quoting and counts the bytes of the record being read, so an
// unterminated quoted cell is cut off at the limit instead of buffered to the end of the upload.
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { ValidationError } from '../core/index.js';

export const DEFAULT_MAX_ROW_BYTES = 1024 * 1024;

const bytesText = (n: number) => (n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : n % 1024 === 0 ? `${n / 1024} KiB` : `${n} bytes`);

export class RowTooLongError extends ValidationError {
  constructor(
    readonly line: number,
    readonly maxRowBytes: number,
  ) {
    super(`the row at line ${line} is longer than ${bytesText(maxRowBytes)} (ORCHESTRATOR_IMPORT_MAX_ROW_BYTES); nothing was imported`, [
      { path: `line ${line}`, message: `is longer than ${maxRowBytes} bytes` },
    ]);
  }
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Lines of an NDJSON upload, split on LF, CRLF or a lone CR as readline does, numbered from 1
 * (blank lines counted). Reads the source without destroying it when the caller stops early, so
 * an HTTP request can still be answered; throws RowTooLongError as soon as a line passes the limit.
 */
export async function* boundedLines(source: Readable, maxRowBytes: number): AsyncGenerator<{ line: number; text: string; bytes: number }> {
  let parts: Buffer[] = [];
  let size = 0;
  let line = 1;
  /** The last line ended with a CR: an LF right after it belongs to the same line break. */
  let afterCR = false;
  const take = (piece: Buffer) => {
    if (piece.length === 0) return;
    size += piece.length;
    if (size > maxRowBytes) throw new RowTooLongError(line, maxRowBytes);
    parts.push(piece);
  };
  const finish = () => {
    const text = parts.length === 1 ? parts[0]!.toString('utf8') : Buffer.concat(parts, size).toString('utf8');
    const bytes = size;
    parts = [];
    size = 0;
    return { line: line++, text, bytes };
  };
  for await (const raw of source.iterator({ destroyOnReturn: false })) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : (raw as Buffer);
    let p = 0;
    let lf = -1;
    let cr = -1;
    while (p < chunk.length) {
      if (afterCR) {
        afterCR = false;
        if (chunk[p] === LF) {
          p++;
          continue;
        }
      }
      if (lf < p && lf !== -2) lf = chunk.indexOf(LF, p);
      if (cr < p && cr !== -2) cr = chunk.indexOf(CR, p);
      if (lf === -1) lf = -2; // none left in this chunk
      if (cr === -1) cr = -2;
      const end = lf === -2 ? cr : cr === -2 ? lf : Math.min(lf, cr);
      if (end === -2) {
        take(chunk.subarray(p));
        break;
      }
      take(chunk.subarray(p, end));
      afterCR = chunk[end] === CR;
      p = end + 1;
      yield finish();
    }
  }
  if (size > 0) yield finish();
}

// The CSV guard's states, as papaparse reads a record (src/registry/device-import.ts parses with it).
const FIELD_START = 0; // at the start of a record or after a comma: a quote here opens a quoted cell
const UNQUOTED = 1; // a cell without quotes: ends at a comma or a line break (quotes inside are text)
const QUOTED = 2; // inside a quoted cell: commas and line breaks are text
const QUOTE = 3; // a quote inside a quoted cell: "" is a quote, else it closes the cell
const CLOSED = 4; // whitespace after a closing quote, before the comma or the line break

/**
 * Passes CSV text (strings, after decoding) through unchanged while counting the UTF-8 bytes of
 * the record being read, following papaparse's rules with the same `newline`: a quote opens a
 * quoted cell only at the start of a cell, `""` inside it is a quote, and a quote followed by
 * anything but whitespace, a comma or the line break does not close it (papaparse keeps reading
 * the cell and reports the bad quote only when the record ends). Fails the stream with
 * RowTooLongError when a record passes `maxRowBytes`, naming the line it starts on; lines are
 * counted as the importer counts them (LF, CRLF and a lone CR each end one).
 */
export class CsvRowLimit extends Transform {
  private state = FIELD_START;
  private size = 0;
  /** Line the current record starts on, and the current line. */
  private start = 1;
  private line = 1;
  private prevCR = false;
  /** For a CRLF newline: a CR was seen where a line break would end the record. */
  private pendingCR = false;

  constructor(
    private readonly newline: '\n' | '\r\n' | '\r',
    private readonly maxRowBytes: number,
  ) {
    super({ decodeStrings: false, encoding: 'utf8' });
  }

  override _transform(chunk: string | Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    try {
      this.scan(text);
    } catch (error) {
      done(error as Error);
      return;
    }
    done(null, text);
  }

  override _flush(done: TransformCallback): void {
    // A CR that ends the upload was text after all.
    if (this.pendingCR && this.size + 1 > this.maxRowBytes) done(new RowTooLongError(this.start, this.maxRowBytes));
    else done();
  }

  private scan(text: string): void {
    const { newline, maxRowBytes } = this;
    // The hot loop works on locals, written back at the end (or when it throws).
    let { state, size, start, line, prevCR, pendingCR } = this;
    try {
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        // Line numbers: LF, CRLF (once) and a lone CR.
        if (c === CR) line++;
        else if (c === LF && !prevCR) line++;
        prevCR = c === CR;
        size += c < 0x80 ? 1 : c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 2 : 3;

        if (pendingCR) {
          pendingCR = false;
          if (c === LF) {
            state = FIELD_START;
            size = 0;
            start = line;
            continue;
          }
          // The CR was text after all: of an unquoted cell, or whitespace after a closing quote.
          size++;
          state = state === QUOTE || state === CLOSED ? CLOSED : UNQUOTED;
        }
        const breaks = newline === '\n' ? c === LF : c === CR;
        if (state === QUOTED) {
          if (c === 0x22) state = QUOTE;
        } else if (breaks) {
          if (newline === '\r\n') {
            pendingCR = true; // counted once the LF shows whether it ends the record
            size--;
          } else {
            state = FIELD_START;
            size = 0;
            start = line;
          }
        } else if (c === 0x2c) state = FIELD_START;
        else if (state === FIELD_START) state = c === 0x22 ? QUOTED : UNQUOTED;
        else if (state === QUOTE || state === CLOSED) {
          if (c === 0x22) state = state === QUOTE ? QUOTED : QUOTE;
          else if (c === 0x20 || c === 0x09 || /\s/.test(text[i]!)) state = CLOSED;
          else state = QUOTED; // papaparse goes on reading the cell, and reports the bad quote when the record ends
        }
        if (size > maxRowBytes) throw new RowTooLongError(start, maxRowBytes);
      }
    } finally {
      Object.assign(this, { state, size, start, line, prevCR, pendingCR });
    }
  }
}
