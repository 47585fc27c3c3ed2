// The device API's pacing logic with an injected clock: 100 devices downloading at once under a
// 10 MB/s rollout cap get 10 MB/s together (within 10%), a device cap holds one device to its
// rate, and downloads of a rollout without caps are not paced. The same over real HTTP is the
// `bandwidth` case of `npm run bench -- delta` (docs/benchmarks.md).
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/index.js';
import { BandwidthLimiter, type BandwidthCaps, type Pacer } from './bandwidth-limiter.js';

const CHUNK = 64 * 1024;

/**
 * Streams `bytes` on each pacer the way the device API does (a chunk is read, reserved, written
 * after the wait, the next is read at once), as discrete events on the clock; answers when the
 * last byte was written, ms.
 */
function stream(clock: ManualClock, pacers: Pacer[], bytes: number): number {
  const next = pacers.map(() => clock.now());
  const left = pacers.map(() => bytes);
  let end = clock.now();
  for (;;) {
    let i = -1;
    for (let k = 0; k < pacers.length; k++) if (left[k]! > 0 && (i < 0 || next[k]! < next[i]!)) i = k;
    if (i < 0) return end;
    clock.set(next[i]!);
    const n = Math.min(CHUNK, left[i]!);
    const wait = pacers[i]!(n);
    left[i]! -= n;
    next[i] = clock.now() + wait;
    end = Math.max(end, next[i]!);
  }
}

describe('BandwidthLimiter', () => {
  it('keeps 100 devices of a rollout capped at 10 MB/s within 10% of that rate together', () => {
    const clock = new ManualClock(0);
    const limiter = new BandwidthLimiter(clock);
    const caps: BandwidthCaps = { maxBandwidth: 10_000_000, maxDeviceBandwidth: null };
    const pacers = Array.from({ length: 100 }, (_, i) => limiter.pacer('r1', `d${i}`, caps)!);
    const bytes = 1024 * 1024;
    const ms = stream(clock, pacers, bytes);
    const rate = (100 * bytes) / (ms / 1000);
    expect(rate).toBeGreaterThan(9_000_000);
    expect(rate).toBeLessThan(11_000_000);
  });

  it('holds each device to its own cap, and the rollout to its total', () => {
    const clock = new ManualClock(0);
    const limiter = new BandwidthLimiter(clock);
    const caps: BandwidthCaps = { maxBandwidth: 10_000_000, maxDeviceBandwidth: 1_000_000 };
    const one = stream(clock, [limiter.pacer('r2', 'solo', caps)!], 5_000_000);
    expect(5_000_000 / (one / 1000)).toBeGreaterThan(900_000);
    expect(5_000_000 / (one / 1000)).toBeLessThan(1_100_000);
    // 20 devices at 1 MB/s each would be 20 MB/s: the rollout's 10 MB/s wins.
    const start = clock.now();
    const many = stream(clock, Array.from({ length: 20 }, (_, i) => limiter.pacer('r2', `m${i}`, caps)!), 2_000_000) - start;
    const rate = (20 * 2_000_000) / (many / 1000);
    expect(rate).toBeGreaterThan(9_000_000);
    expect(rate).toBeLessThan(11_000_000);
  });

  it('paces nothing for a rollout without caps, and keeps rollouts apart', async () => {
    const clock = new ManualClock(0);
    const caps = new Map<string, BandwidthCaps>([['free', { maxBandwidth: null, maxDeviceBandwidth: null }], ['slow', { maxBandwidth: 1_000, maxDeviceBandwidth: null }]]);
    const limiter = new BandwidthLimiter(clock, async (id) => caps.get(id) ?? null);
    expect(await limiter.pacerFor('free', 'd1')).toBeNull();
    expect(await limiter.pacerFor('gone', 'd1')).toBeNull();
    const slow = (await limiter.pacerFor('slow', 'd1'))!;
    expect(slow(16 * 1024 + 1000)).toBe(1000);
    // Another rollout's bucket is its own.
    const other = limiter.pacer('other', 'd1', { maxBandwidth: 1_000, maxDeviceBandwidth: null })!;
    expect(other(16 * 1024)).toBe(0);
  });
});
