// CsvRowLimit against papaparse itself: for random CSV-like text (quotes, escaped quotes, commas,
// spaces and tabs after closing quotes, every line ending, stray CRs and LFs, two-byte characters)
// cut into random chunks, the guard's record sizes are papaparse's. It never lets a record through
// that papaparse would hold in full beyond the limit (that would be memory), and on text that
// papaparse parses without a quoting error it refuses nothing that fits (that would refuse good files).
import { PassThrough } from 'node:stream';
import Papa from 'papaparse';
import { describe, expect, it } from 'vitest';
import { CsvRowLimit } from './row-limit.js';

type Newline = '\n' | '\r\n' | '\r';

/** A small seeded generator (LCG), so a failure is reproducible. */
function random(seed: number) {
  let state = seed;
  return () => ((state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
}

/** The largest record papaparse reads, in UTF-8 bytes without the line ending that ends it; whether it reported a quoting error. */
function papaparseLongest(text: string, newline: Newline): { longest: number; quotingError: boolean } {
  let longest = 0;
  let quotingError = false;
  let at = 0;
  Papa.parse<string[]>(text, {
    delimiter: ',',
    newline,
    step: (results) => {
      if (results.errors.length) quotingError = true;
      let record = text.slice(at, results.meta.cursor);
      at = results.meta.cursor;
      if (record.endsWith(newline)) record = record.slice(0, -newline.length);
      longest = Math.max(longest, Buffer.byteLength(record));
    },
  });
  return { longest, quotingError };
}

/** Whether the guard lets all of `pieces` through with this limit. */
function accepts(pieces: string[], newline: Newline, limit: number): Promise<boolean> {
  const guard = new CsvRowLimit(newline, limit);
  return new Promise((resolve) => {
    guard.on('error', () => resolve(false));
    guard.on('end', () => resolve(true));
    guard.resume();
    const source = new PassThrough({ encoding: 'utf8' });
    source.pipe(guard);
    for (const piece of pieces) source.write(piece);
    source.end();
  });
}

describe('CsvRowLimit follows papaparse', () => {
  it('agrees on the longest record of 3,000 random texts in random chunks, for LF, CRLF and CR files', async () => {
    const next = random(20261202);
    let checked = 0;
    for (let n = 0; n < 3000; n++) {
      const newline = (['\n', '\r\n', '\r'] as const)[n % 3]!;
      const alphabet = ['a', ',', '"', '"', ' ', '\t', newline, newline, '\n', '\r', '\u00e9'];
      let text = '';
      const length = 1 + Math.floor(next() * 60);
      for (let i = 0; i < length; i++) text += alphabet[Math.floor(next() * alphabet.length)];
      const pieces: string[] = [];
      for (let at = 0; at < text.length; ) {
        const size = 1 + Math.floor(next() * 8);
        pieces.push(text.slice(at, at + size));
        at += size;
      }
      const { longest, quotingError } = papaparseLongest(text, newline);
      const context = `${JSON.stringify(text)} with newline ${JSON.stringify(newline)}`;
      if (longest > 1) expect(await accepts(pieces, newline, longest - 1), `lets a record of ${longest} bytes through a limit of ${longest - 1}: ${context}`).toBe(false);
      if (!quotingError) expect(await accepts(pieces, newline, Math.max(longest, 1)), `refuses ${context} at a limit of ${longest}`).toBe(true);
      checked++;
    }
    expect(checked).toBe(3000);
  });
});
