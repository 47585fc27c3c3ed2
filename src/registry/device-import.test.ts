// The streamed CSV/NDJSON import on its own: line numbers across quoted multi-line cells, empty
// lines and CRLF, a byte-order mark, UTF-8 split between chunks, broken quoting, a file large
// enough that the parser pauses while rows wait, and the per-row byte limit (the attack over HTTP
// is in src/security/bounded-import.test.ts).
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ValidationError, type DeviceInput, type ImportStaging } from '../core/index.js';
import { importDevices, type DeviceFormat } from './device-import.js';
import { RowTooLongError } from './row-limit.js';

/** Streams `text` in chunks of `size` bytes (so multi-byte characters may be cut in two). */
const chunked = (text: string, size = 7) => {
  const bytes = Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts);
};

/** Staging in memory (the stores' own are tested in src/store): what commit writes lands in `written`, the last row of an id winning; `sizes` gets each row's size. */
function memoryStaging(written: DeviceInput[], sizes: number[] = []): ImportStaging {
  const staged = new Map<string, DeviceInput>();
  return {
    add(device, rowBytes) {
      sizes.push(rowBytes ?? -1);
      staged.delete(device.id);
      staged.set(device.id, device);
    },
    async commit() {
      written.push(...staged.values());
      return { created: staged.size, updated: 0 };
    },
    async close() {},
  };
}

async function run(text: string, options: { format?: DeviceFormat; skipInvalid?: boolean; chunk?: number; maxRowBytes?: number } = {}) {
  const written: DeviceInput[] = [];
  const result = await importDevices(chunked(text, options.chunk), { format: options.format ?? 'csv', skipInvalid: options.skipInvalid ?? true, maxRowBytes: options.maxRowBytes, stage: () => memoryStaging(written) });
  return { result, written };
}

async function refusal(text: string): Promise<ValidationError> {
  const error = await run(text, { skipInvalid: false }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ValidationError);
  return error as ValidationError;
}

describe('importDevices (CSV)', () => {
  it('numbers lines across quoted multi-line cells, empty lines and CRLF', async () => {
    const csv = ['\uFEFFid,name,metadata', 'a-1,one,"{""note"":', '""two lines""}"', '', 'bad id!,x,', 'a-2,"Caf\u00e9 ""Zo\u00eb""",', 'a-3,z,{not json}', ''].join('\r\n');
    const { result, written } = await run(csv);
    expect(written.map((d) => [d.id, d.name, d.metadata])).toEqual([
      ['a-1', 'one', { note: 'two lines' }],
      ['a-2', 'Caf\u00e9 "Zo\u00eb"', {}],
    ]);
    expect(result.invalid.map((p) => p.line)).toEqual([5, 7]);
    expect(result.invalid[1]!.message).toMatch(/metadata/);
    expect(result).toMatchObject({ rows: 4, created: 2, skipped: 2 });
  });

  it('reads the deviceType column, and refuses a bad one on its line', async () => {
    const { result, written } = await run('id,deviceType\nt-1,rpi4\nt-2,\nt-3,bad type\n');
    expect(written.map((d) => [d.id, d.deviceType])).toEqual([['t-1', 'rpi4'], ['t-2', null]]);
    expect(result.invalid).toEqual([expect.objectContaining({ line: 4, message: expect.stringMatching(/deviceType/) })]);
  });

  it('keeps characters cut between chunks whole', async () => {
    const { written } = await run('id,name\nz-1,\u00e5\u00e4\u00f6 \u65e5\u672c \u{1F680}\n', { chunk: 1 });
    expect(written[0]!.name).toBe('\u00e5\u00e4\u00f6 \u65e5\u672c \u{1F680}');
  });

  it('refuses a cell whose quote never closes, or text after a closing quote, saying on which line', async () => {
    expect((await refusal('id,name\nq-1,ok\nq-2,"open\nq-3,x\n')).details).toEqual([{ path: 'line 3', message: expect.stringMatching(/never closed/) }]);
    expect((await refusal('id,name\nq-1,"x"y\n')).details).toEqual([{ path: 'line 2', message: expect.stringMatching(/closing quote/) }]);
  });

  it('refuses a header that does not name device fields', async () => {
    expect((await refusal('id,colour\nh-1,red\n')).message).toMatch(/unknown: colour/);
    expect((await refusal('name\nx\n')).message).toMatch(/no id column/);
  });

  it('writes nothing when a row is bad and skipInvalid is off', async () => {
    const written: DeviceInput[] = [];
    const error = await importDevices(chunked('id\nok-1\nnot ok\n'), { format: 'csv', skipInvalid: false, stage: () => memoryStaging(written) }).catch((e: unknown) => e);
    expect((error as ValidationError).details).toEqual([{ path: 'line 3', message: expect.any(String) }]);
    expect(written).toEqual([]);
  });

  it('streams a file larger than the parser queue in order, the last row of an id winning', async () => {
    const lines = ['id,name'];
    for (let i = 0; i < 25_000; i++) lines.push(`big-${String(i).padStart(5, '0')},n${i}`);
    lines.push('big-24999,last');
    const { result, written } = await run(lines.join('\n'), { chunk: 65536 });
    expect(result.rows).toBe(25_001);
    expect(written.length).toBe(25_000);
    expect(written[0]!.id).toBe('big-00000');
    expect(written.at(-1)).toMatchObject({ id: 'big-24999', name: 'last' });
  });
});

describe('importDevices (NDJSON)', () => {
  it('reports a line that is not JSON and imports the rest', async () => {
    const { result, written } = await run('{"id":"n-1"}\n\n{oops\n{"id":"n-2","tags":{"a":"b"}}\n', { format: 'ndjson' });
    expect(written.map((d) => d.id)).toEqual(['n-1', 'n-2']);
    expect(result.invalid).toEqual([{ line: 3, message: expect.stringMatching(/not valid JSON/) }]);
  });
});

describe('importDevices: the per-row byte limit', () => {
  /** Runs with skipInvalid on (a long row stops the import all the same) and answers the refusal. */
  async function tooLong(text: string, options: { format?: DeviceFormat; chunk?: number; maxRowBytes: number }) {
    const written: DeviceInput[] = [];
    const source = chunked(text, options.chunk ?? 5);
    const error = await importDevices(source, { format: options.format ?? 'csv', skipInvalid: true, maxRowBytes: options.maxRowBytes, stage: () => memoryStaging(written) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RowTooLongError);
    expect(written).toEqual([]);
    // The source is left for the caller (an HTTP request must still be answered): not destroyed
    // before its end (a source read to its end destroys itself).
    expect(source.destroyed && !source.readableEnded).toBe(false);
    return error as RowTooLongError;
  }

  it('refuses an NDJSON line one byte over the limit, naming it, whatever skipInvalid says; a line at the limit passes', async () => {
    const at = JSON.stringify({ id: 'n-1', name: '\u00e9'.repeat(10) }); // 20 of its bytes are 10 characters
    const limit = Buffer.byteLength(at);
    const over = JSON.stringify({ id: 'n-2', name: '\u00e9'.repeat(10) + 'x' });
    const { written } = await run(`${at}\r\n${at}\n`, { format: 'ndjson', maxRowBytes: limit, chunk: 1 });
    expect(written.map((d) => d.id)).toEqual(['n-1']);
    // CRLF, a lone CR and a blank line each end one line, as readline counted them.
    const error = await tooLong(`${at}\r\n\r${at}\n${over}\n${at}\n`, { format: 'ndjson', maxRowBytes: limit });
    expect(error.line).toBe(4);
    expect(error.message).toMatch(/line 4 is longer than .*ORCHESTRATOR_IMPORT_MAX_ROW_BYTES.*nothing was imported/);
    expect(error.details).toEqual([{ path: 'line 4', message: `is longer than ${limit} bytes` }]);
  });

  it('stops at the limit of a line that never ends, without reading the rest', async () => {
    const error = await tooLong(`{"id":"n-1"}\n{"id":"n-2","name":"${'x'.repeat(10_000)}`, { format: 'ndjson', maxRowBytes: 100, chunk: 64 });
    expect(error.line).toBe(2);
  });

  it('limits each row, not the file: many rows together far over the limit import', async () => {
    const rows = Array.from({ length: 500 }, (_, i) => `r-${i},name ${i}`);
    const { result } = await run(['id,name', ...rows].join('\n'), { maxRowBytes: 24, chunk: 100 });
    expect(result).toMatchObject({ rows: 500, created: 500, skipped: 0 });
    const ndjson = rows.map((r) => JSON.stringify({ id: r.split(',')[0] })).join('\n');
    expect((await run(ndjson, { format: 'ndjson', maxRowBytes: 24 })).result).toMatchObject({ rows: 500, created: 500 });
  });

  it('counts a CSV record with its quoted line breaks, and names the line it starts on', async () => {
    const cell = '"{""note"":\n""' + 'y'.repeat(30) + '""}"';
    const record = `c-1,one,${cell}`;
    const limit = Buffer.byteLength(record);
    expect((await run(`id,name,metadata\n${record}\n`, { maxRowBytes: limit })).written.map((d) => d.id)).toEqual(['c-1']);
    const error = await tooLong(`id,name,metadata\n\n${record}\n${record.replace('c-1', 'c-2').replace('one', 'one!')}\n`, { maxRowBytes: limit });
    expect(error.line).toBe(5); // header, a blank line, c-1 over lines 3 and 4, c-2 from line 5
  });

  it('cuts off an unterminated quoted cell at the limit, with LF, CRLF and CR files', async () => {
    for (const nl of ['\n', '\r\n', '\r']) {
      const text = ['id,name', 'q-1,ok', 'q-2,"open', ...Array.from({ length: 50 }, (_, i) => `q-${i + 3},more text`)].join(nl);
      const error = await tooLong(text, { maxRowBytes: 64 });
      expect(error.line).toBe(3);
    }
  });

  it('follows the parser: a quote inside an unquoted cell is text, "" is a quote, and spaces may follow a closing quote', async () => {
    const lines = ['id,name', ...Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? `s-${i},5" screen` : i % 3 === 1 ? `s-${i},"say ""hi"", twice"` : `s-${i},"padded"  `))];
    const { result } = await run(lines.join('\r\n'), { maxRowBytes: 32, chunk: 3 });
    expect(result).toMatchObject({ rows: 40, created: 40, skipped: 0 });
  });

  it('tells the staging how large each row was, so that its batches are bounded by size too', async () => {
    const sizes: number[] = [];
    const ndjson = ['{"id":"z-1"}', `{"id":"z-2","name":"${'\u00e9'.repeat(100)}"}`].join('\r\n');
    await importDevices(chunked(ndjson), { format: 'ndjson', skipInvalid: false, stage: () => memoryStaging([], sizes) });
    expect(sizes).toEqual([12, 20 + 200 + 2]);
    sizes.length = 0;
    await importDevices(chunked('id,metadata\nz-1,"{\n}"\nz-2,\n'), { format: 'csv', skipInvalid: false, stage: () => memoryStaging([], sizes) });
    expect(sizes).toEqual([3 + 3, 3]); // the cells' characters
  });

  it('lists a bad row whose message quotes a long value shortly, so that 1,000 listed problems stay small', async () => {
    const rows = Array.from({ length: 20 }, (_, i) => JSON.stringify({ id: `m-${i}`, status: 'x'.repeat(50_000) }));
    const { result } = await run(rows.join('\n'), { format: 'ndjson' });
    expect(result.invalid).toHaveLength(20);
    for (const problem of result.invalid) {
      expect(problem.message).toMatch(/^status must be one of .*\u2026$/);
      expect(problem.message.length).toBe(300);
    }
  });

  it('refuses a header line that is too long before looking for its line break further', async () => {
    const error = await tooLong(`id,${'name,'.repeat(100)}\nx-1\n`, { maxRowBytes: 50, chunk: 7 });
    expect(error.line).toBe(1);
  });
});
