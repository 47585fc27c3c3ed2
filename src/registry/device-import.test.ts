// The streamed CSV/NDJSON import on its own: line numbers across quoted multi-line cells, empty
// lines and CRLF, a byte-order mark, UTF-8 split between chunks, broken quoting, and a file large
// enough that the parser pauses while rows wait.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ValidationError, type DeviceInput, type ImportStaging } from '../core/index.js';
import { importDevices, type DeviceFormat } from './device-import.js';

/** Streams `text` in chunks of `size` bytes (so multi-byte characters may be cut in two). */
const chunked = (text: string, size = 7) => {
  const bytes = Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts);
};

/** Staging in memory (the stores' own are tested in src/store): what commit writes lands in `written`, the last row of an id winning. */
function memoryStaging(written: DeviceInput[]): ImportStaging {
  const staged = new Map<string, DeviceInput>();
  return {
    add(device) {
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

async function run(text: string, options: { format?: DeviceFormat; skipInvalid?: boolean; chunk?: number } = {}) {
  const written: DeviceInput[] = [];
  const result = await importDevices(chunked(text, options.chunk), { format: options.format ?? 'csv', skipInvalid: options.skipInvalid ?? true, stage: () => memoryStaging(written) });
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
