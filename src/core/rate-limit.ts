// Rate limits on starting deliveries: N per minute, growing by a factor after every M successes
// (exponential rollout, as AWS IoT Jobs does it).
import type { RateLimit } from './rollout.js';

/** Starts per minute allowed once `succeeded` devices have succeeded. */
export function currentRatePerMinute(limit: RateLimit, succeeded: number): number {
  const steps = Math.floor(succeeded / limit.growEvery);
  const rate = limit.perMinute * limit.growthFactor ** Math.min(steps, 1000);
  return Math.max(1, Math.min(limit.maxPerMinute, Math.floor(rate)));
}

/** How many more starts fit in the sliding minute, given how many started in the last 60 s. */
export function startsAllowed(limit: RateLimit, succeeded: number, startedInLastMinute: number): number {
  return Math.max(0, currentRatePerMinute(limit, succeeded) - startedInLastMinute);
}
