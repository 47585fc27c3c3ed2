// Range parsing, and multipart/byteranges answers of the device API read back with the agent's parser.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ByteRangesParser, readRangedResponse } from '../agent/byteranges.js';
import { startTestApp, type TestApp } from '../testing/app.js';
import { addPullDevice, ManualTargets, uploadArtifact } from '../testing/pull.js';
import { MAX_RANGES_PER_REQUEST, parseRanges } from './byte-ranges.js';

describe('parseRanges', () => {
  it('sorts, merges overlapping and adjacent ranges, and drops those outside the file', () => {
    expect(parseRanges('bytes=50-59,0-9,10-19,5-7,-5,200-300', 100)).toEqual({ kind: 'ranges', ranges: [{ start: 0, end: 19 }, { start: 50, end: 59 }, { start: 95, end: 99 }] });
    expect(parseRanges('bytes=90-', 100)).toEqual({ kind: 'ranges', ranges: [{ start: 90, end: 99 }] });
    expect(parseRanges('bytes=100-,200-300', 100)).toEqual({ kind: 'unsatisfiable' });
  });

  it('parses single ranges: open, clipped, suffix, case and spaces', () => {
    expect(parseRanges('bytes=0-0', 10)).toEqual({ kind: 'ranges', ranges: [{ start: 0, end: 0 }] });
    expect(parseRanges('bytes=5-', 10)).toEqual({ kind: 'ranges', ranges: [{ start: 5, end: 9 }] });
    expect(parseRanges('bytes=3-100', 10)).toEqual({ kind: 'ranges', ranges: [{ start: 3, end: 9 }] });
    expect(parseRanges('bytes=-4', 10)).toEqual({ kind: 'ranges', ranges: [{ start: 6, end: 9 }] });
    expect(parseRanges('bytes=-40', 10)).toEqual({ kind: 'ranges', ranges: [{ start: 0, end: 9 }] });
    expect(parseRanges(' Bytes = 2 - 3 ', 10)).toEqual({ kind: 'ranges', ranges: [{ start: 2, end: 3 }] });
  });

  it('calls invalid ranges (last before first, zero suffix) and ranges past the end unsatisfiable, keeping valid ones beside them', () => {
    for (const bad of ['bytes=10-', 'bytes=5-2', 'bytes=-0', 'bytes=5-2,10-12']) expect(parseRanges(bad, 10)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRanges('bytes=-1', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRanges('bytes=5-2,0-1', 10)).toEqual({ kind: 'ranges', ranges: [{ start: 0, end: 1 }] });
  });

  it('ignores malformed headers (the whole file) and refuses too many ranges', () => {
    for (const bad of ['items=0-1', 'bytes=a-b', 'bytes=-', 'bytes=0-1,,2-3', 'bytes=']) expect(parseRanges(bad, 100)).toEqual({ kind: 'none' });
    const many = 'bytes=' + Array.from({ length: MAX_RANGES_PER_REQUEST + 1 }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(',');
    expect(parseRanges(many, 1e6)).toMatchObject({ kind: 'too-many', count: MAX_RANGES_PER_REQUEST + 1 });
    expect(parseRanges(undefined, 100)).toEqual({ kind: 'none' });
  });
});

describe('ByteRangesParser', () => {
  it('reads parts however the body is split', async () => {
    const body = Buffer.from('preamble\r\n--xx\r\nContent-Range: bytes 0-2/10\r\n\r\nabc\r\n--xx\r\ncontent-type: a/b\r\ncontent-range: bytes 7-9/10\r\n\r\nhij\r\n--xx--\r\n');
    for (const step of [1, 3, 7, body.length]) {
      const got: [number, string][] = [];
      const parser = new ByteRangesParser('xx', (offset, bytes) => void got.push([offset, Buffer.from(bytes).toString()]));
      for (let at = 0; at < body.length; at += step) await parser.push(body.subarray(at, at + step));
      expect(parser.done).toBe(true);
      const joined = new Map<number, string>();
      for (const [o, s] of got) for (let i = 0; i < s.length; i++) joined.set(o + i, s[i]!);
      expect([...joined.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]).join('')).toBe('abchij');
    }
  });

  it('refuses a part without a Content-Range', async () => {
    const parser = new ByteRangesParser('xx', () => undefined);
    await expect(parser.push(Buffer.from('--xx\r\ncontent-type: a/b\r\n\r\nabc'))).rejects.toThrow(/Content-Range/);
  });
});

describe('multi-range downloads (server)', () => {
  let t: TestApp;
  const targets = new ManualTargets();
  beforeAll(async () => {
    t = await startTestApp({ app: { deviceSync: targets } });
  });
  afterAll(async () => t.close());

  it('answers several ranges as multipart/byteranges with the right bytes and length', async () => {
    const bytes = randomBytes(300_000);
    const token = await addPullDevice(t.app, 'mr-1');
    const artifact = await uploadArtifact(t.app, bytes, { name: 'mr', version: '1' });
    targets.target('mr-1', artifact);
    const response = await fetch(`${t.url}/api/v1/device/artifacts/${artifact.id}`, { headers: { authorization: `Bearer ${token}`, range: 'bytes=200000-200999,0-99,150000-150009' } });
    expect(response.status).toBe(206);
    expect(response.headers.get('content-type')).toMatch(/^multipart\/byteranges; boundary=uo-/);
    const length = Number(response.headers.get('content-length'));
    const copy = Buffer.alloc(bytes.length);
    const seen: number[] = [];
    const received = await readRangedResponse(response, (offset, data) => {
      seen.push(offset);
      Buffer.from(data).copy(copy, offset);
    });
    expect(received).toBe(length);
    for (const [s, e] of [[0, 99], [150000, 150009], [200000, 200999]]) expect(copy.subarray(s!, e! + 1).equals(bytes.subarray(s!, e! + 1))).toBe(true);
    expect(seen[0]).toBe(0);
    const tooMany = 'bytes=' + Array.from({ length: 300 }, (_, i) => `${i * 100}-${i * 100 + 1}`).join(',');
    const refused = await fetch(`${t.url}/api/v1/device/artifacts/${artifact.id}`, { headers: { authorization: `Bearer ${token}`, range: tooMany } });
    expect(refused.status).toBe(416);
    expect(await refused.text()).toContain('too_many_ranges');
  });
});
