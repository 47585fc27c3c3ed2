// Bandwidth caps: rates as operators write them ("50MB/s", "200Mbit/s", 10485760) parsed to
// bytes per second, and the token bucket that paces downloads to a rate. Pure: the clock is an
// argument, so the pacing is tested without waiting.

/** Lowest and highest cap accepted, bytes per second (1 kB/s .. 100 GB/s). */
export const MIN_BANDWIDTH = 1_000;
export const MAX_BANDWIDTH = 100_000_000_000;

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  bit: 1 / 8,
  kbit: 1e3 / 8,
  mbit: 1e6 / 8,
  gbit: 1e9 / 8,
  bps: 1 / 8,
  kbps: 1e3 / 8,
  mbps: 1e6 / 8,
  gbps: 1e9 / 8,
};
const FORM = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*(\/\s*s)?\s*$/i;

/**
 * A rate in bytes per second, from a number (bytes per second) or a string: a number and a unit
 * (B, kB, MB, GB decimal; KiB, MiB, GiB binary; bit, kbit, Mbit, Gbit), optionally "/s"
 * ("50MB/s", "1.5 GiB/s", "200Mbit/s", "200Mbps"; case does not matter, so bits are spelled bit or bps). Throws an Error saying what is wrong.
 */
export function parseBandwidth(raw: unknown): number {
  let bytes: number;
  if (typeof raw === 'number') bytes = raw;
  else if (typeof raw === 'string' && raw.length <= 40) {
    const m = FORM.exec(raw);
    const unit = m ? UNITS[(m[2] || 'b').toLowerCase()] : undefined;
    if (!m || unit === undefined) throw new Error(`${JSON.stringify(raw)} is not a rate: write a number and a unit per second, such as "50MB/s", "512KiB/s" or "200Mbit/s"`);
    bytes = Number(m[1]) * unit;
  } else throw new Error('must be a rate such as "50MB/s" or a number of bytes per second');
  if (!Number.isFinite(bytes)) throw new Error('must be a finite rate');
  bytes = Math.round(bytes);
  if (bytes < MIN_BANDWIDTH || bytes > MAX_BANDWIDTH) throw new Error(`must be from 1kB/s to 100GB/s (got ${formatBandwidth(bytes)})`);
  return bytes;
}

/** A rate for people: "10 MB/s", "512 kB/s" (decimal units, as parseBandwidth reads them back). */
export function formatBandwidth(bytesPerSecond: number): string {
  const steps: [number, string][] = [
    [1e9, 'GB/s'],
    [1e6, 'MB/s'],
    [1e3, 'kB/s'],
  ];
  for (const [size, unit] of steps) if (bytesPerSecond >= size) return `${Math.round((bytesPerSecond / size) * 100) / 100} ${unit}`;
  return `${bytesPerSecond} B/s`;
}

/**
 * A token bucket that paces several streams to one rate. A sender reserves the bytes it is about
 * to write and waits the answer (ms) before writing them; reservations queue up as debt, so
 * concurrent senders share the rate in the order they asked, and none is ever refused.
 * `burst` bytes may go at once after an idle spell.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly rate: number,
    readonly burst: number,
    now: number,
  ) {
    if (!(rate > 0) || !(burst > 0)) throw new Error('a token bucket needs a positive rate and burst');
    this.tokens = burst;
    this.last = now;
  }

  /** Reserves `bytes` at `now`; answers how many ms to wait before sending them (0: at once). */
  reserve(bytes: number, now: number): number {
    this.refill(now);
    this.tokens -= bytes;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.rate) * 1000);
  }

  /** True when the bucket is full again (nothing reserved is still owed): it may be forgotten. */
  idle(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.burst;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
      this.last = now;
    }
  }
}
