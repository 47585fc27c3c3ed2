// Bandwidth caps: rates parsed with clear errors, and the token bucket's pacing against an
// injected clock (no waiting, no wall-clock assertions).
import { describe, expect, it } from 'vitest';
import { formatBandwidth, parseBandwidth, TokenBucket } from './bandwidth.js';

describe('parseBandwidth', () => {
  it('reads decimal, binary and bit units per second, and plain bytes per second', () => {
    expect(parseBandwidth('50MB/s')).toBe(50_000_000);
    expect(parseBandwidth('10 MB/s')).toBe(10_000_000);
    expect(parseBandwidth('512KiB/s')).toBe(524_288);
    expect(parseBandwidth('1.5 GiB/s')).toBe(Math.round(1.5 * 1024 ** 3));
    expect(parseBandwidth('200Mbit/s')).toBe(25_000_000);
    expect(parseBandwidth('200mbps')).toBe(25_000_000);
    expect(parseBandwidth('64kB')).toBe(64_000);
    expect(parseBandwidth('2000')).toBe(2000);
    expect(parseBandwidth(10_485_760)).toBe(10_485_760);
  });

  it('refuses what is not a rate, and absurd rates, saying why', () => {
    expect(() => parseBandwidth('fast')).toThrow(/is not a rate: write a number and a unit per second, such as "50MB\/s"/);
    expect(() => parseBandwidth('50 furlongs/s')).toThrow(/is not a rate/);
    expect(() => parseBandwidth('-5MB/s')).toThrow(/is not a rate/);
    expect(() => parseBandwidth('10B/s')).toThrow(/from 1kB\/s to 100GB\/s \(got 10 B\/s\)/);
    expect(() => parseBandwidth('1TB/s')).toThrow(/is not a rate/);
    expect(() => parseBandwidth('500GB/s')).toThrow(/from 1kB\/s to 100GB\/s \(got 500 GB\/s\)/);
    expect(() => parseBandwidth(Infinity)).toThrow(/finite/);
    expect(() => parseBandwidth(true)).toThrow(/must be a rate/);
    expect(() => parseBandwidth('9'.repeat(50))).toThrow(/must be a rate/);
  });

  it('formats rates as it reads them', () => {
    expect(formatBandwidth(10_000_000)).toBe('10 MB/s');
    expect(formatBandwidth(524_288)).toBe('524.29 kB/s');
    expect(parseBandwidth(formatBandwidth(25_000_000).replace(' ', ''))).toBe(25_000_000);
  });
});

describe('TokenBucket', () => {
  it('lets the burst go at once, then paces to the rate', () => {
    const bucket = new TokenBucket(1000, 500, 0);
    expect(bucket.reserve(500, 0)).toBe(0);
    // 1000 more bytes at 1000 B/s: one second.
    expect(bucket.reserve(1000, 0)).toBe(1000);
    // A second sender asking meanwhile queues behind the first.
    expect(bucket.reserve(1000, 0)).toBe(2000);
    // Time pays the debt back.
    expect(bucket.reserve(0, 2000)).toBe(0);
    expect(bucket.idle(2000)).toBe(false);
    expect(bucket.idle(2500)).toBe(true);
  });

  it('never holds more than its burst after an idle spell', () => {
    const bucket = new TokenBucket(1000, 500, 0);
    expect(bucket.reserve(500, 60_000)).toBe(0);
    expect(bucket.reserve(100, 60_000)).toBe(100);
  });

  it('refuses a rate or burst that is not positive', () => {
    expect(() => new TokenBucket(0, 1, 0)).toThrow(/positive/);
    expect(() => new TokenBucket(1, -1, 0)).toThrow(/positive/);
  });
});
