// Bandwidth caps on the device API: one token bucket per rollout (its maxBandwidth, shared by every
// download of the rollout on this server) and one per device of it (maxDeviceBandwidth). A
// download reserves each chunk it is about to write in both and waits the longer answer, so the
// streams are paced and no request is ever refused. In process: with several servers each one
// enforces the cap on what it serves (docs/pull-agents.md).
import { TokenBucket, type Clock, type Rollout } from '../core/index.js';

/** The caps of a rollout, bytes per second (null: none). */
export type BandwidthCaps = Pick<Rollout, 'maxBandwidth' | 'maxDeviceBandwidth'>;

/** Answers how many ms to wait before writing `bytes`. */
export type Pacer = (bytes: number) => number;

/** The burst a bucket allows after an idle spell: a twentieth of a second of its rate, at least 16 KiB. */
const burstOf = (rate: number) => Math.max(16 * 1024, Math.floor(rate / 20));
/** Buckets kept before idle ones are forgotten. */
const SWEEP_AT = 10_000;
/** How long a rollout's caps are remembered (they never change; a deleted rollout is forgotten). */
const CAPS_MS = 5_000;

export class BandwidthLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly caps = new Map<string, { caps: BandwidthCaps | null; at: number }>();

  /** `load`: a rollout's caps from the store (null: no such rollout). */
  constructor(
    private readonly clock: Clock,
    private readonly load: (rolloutId: string) => Promise<BandwidthCaps | null> = async () => null,
  ) {}

  /** The pacer of a download for a rollout by a device, with the rollout's stored caps. */
  async pacerFor(rolloutId: string, deviceId: string): Promise<Pacer | null> {
    const now = this.clock.now();
    let hit = this.caps.get(rolloutId);
    if (!hit || now - hit.at > CAPS_MS) {
      hit = { caps: await this.load(rolloutId), at: now };
      if (this.caps.size > 10_000) this.caps.clear();
      this.caps.set(rolloutId, hit);
    }
    return hit.caps ? this.pacer(rolloutId, deviceId, hit.caps) : null;
  }

  /** The pacer of one download for a rollout by a device; null when the rollout caps nothing. */
  pacer(rolloutId: string, deviceId: string, caps: BandwidthCaps): Pacer | null {
    const buckets: TokenBucket[] = [];
    if (caps.maxBandwidth) buckets.push(this.bucket(`r:${rolloutId}`, caps.maxBandwidth));
    if (caps.maxDeviceBandwidth) buckets.push(this.bucket(`d:${rolloutId}:${deviceId}`, caps.maxDeviceBandwidth));
    if (buckets.length === 0) return null;
    return (bytes) => {
      const now = this.clock.now();
      return Math.max(...buckets.map((b) => b.reserve(bytes, now)));
    };
  }

  /** Buckets in use (for tests and metrics). */
  get size(): number {
    return this.buckets.size;
  }

  private bucket(key: string, rate: number): TokenBucket {
    let bucket = this.buckets.get(key);
    if (bucket?.rate === rate) return bucket;
    if (this.buckets.size >= SWEEP_AT) this.sweep();
    bucket = new TokenBucket(rate, burstOf(rate), this.clock.now());
    this.buckets.set(key, bucket);
    return bucket;
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const [key, bucket] of this.buckets) if (bucket.idle(now)) this.buckets.delete(key);
  }
}
