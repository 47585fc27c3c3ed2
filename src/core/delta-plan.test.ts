import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chunkOffsets, indexBytes } from './chunk-index.js';
import { chunkerParams } from './chunker.js';
import { chunksIn, nextBatch, planDelta, rangeBytes, rangeHeader, type ByteRange } from './delta-plan.js';

function generated(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let at = 0, i = 0; at < size; i++) at += createHash('sha256').update(`${seed}/${i}`).digest().copy(out, at);
  return out;
}

describe('planDelta', () => {
  const v1 = generated('plan-v1', 2 << 20);
  const v2 = Buffer.from(v1);
  generated('plan-change', 4096).copy(v2, 1_000_000);

  it('copies what is held and fetches only the chunks around a change', () => {
    const wanted = indexBytes(v2);
    const plan = planDelta(wanted, [indexBytes(v1)]);
    expect(plan.reusedBytes + plan.missingBytes).toBe(v2.length);
    expect(plan.missing.length).toBe(1);
    const [offset, length] = plan.missing[0]!;
    expect(offset).toBeLessThanOrEqual(1_000_000);
    expect(offset + length).toBeGreaterThanOrEqual(1_004_096);
    expect(length).toBeLessThanOrEqual(2 * 256 * 1024);
    // Every copy lands where the wanted index says, from bytes that hash the same.
    for (const c of plan.copies) expect(v1.subarray(c.sourceOffset, c.sourceOffset + c.length).equals(v2.subarray(c.offset, c.offset + c.length))).toBe(true);
  });

  it('fetches everything without sources, coalesced and cut at the range limit', () => {
    const wanted = indexBytes(v2);
    const plan = planDelta(wanted, [], { maxRangeBytes: 512 * 1024 });
    expect(plan.reusedBytes).toBe(0);
    expect(rangeBytes(plan.missing)).toBe(v2.length);
    for (const [, length] of plan.missing) expect(length).toBeLessThanOrEqual(512 * 1024);
    for (let i = 1; i < plan.missing.length; i++) expect(plan.missing[i]![0]).toBe(plan.missing[i - 1]![0] + plan.missing[i - 1]![1]);
  });

  it('ignores sources chunked with other parameters', () => {
    const plan = planDelta(indexBytes(v2), [indexBytes(v1, chunkerParams(16 * 1024))]);
    expect(plan.reusedBytes).toBe(0);
  });
});

describe('batches and ranges', () => {
  const ranges: ByteRange[] = [[0, 10], [20, 10], [40, 100], [200, 5]];

  it('bounds a batch by ranges and bytes, but always takes one', () => {
    expect(nextBatch(ranges, 0, { maxRanges: 2, maxBytes: 1000 })).toBe(2);
    expect(nextBatch(ranges, 0, { maxRanges: 10, maxBytes: 25 })).toBe(2);
    expect(nextBatch(ranges, 2, { maxRanges: 10, maxBytes: 50 })).toBe(3);
    expect(nextBatch(ranges, 4, { maxRanges: 10, maxBytes: 50 })).toBe(4);
  });

  it('writes Range headers and finds the chunks of a range', () => {
    expect(rangeHeader(ranges.slice(0, 2))).toBe('bytes=0-9,20-29');
    const index = indexBytes(generated('chunks-in', 1 << 20));
    const offsets = chunkOffsets(index);
    expect(chunksIn(offsets, [offsets[2]!, offsets[5]! - offsets[2]!])).toEqual([2, 5]);
    expect(chunksIn(offsets, [0, index.size])).toEqual([0, offsets.length]);
  });
});
