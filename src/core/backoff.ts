// Retry delays: exponential backoff with jitter, randomness injected so tests are exact.
import type { RetryPolicy } from './rollout.js';

/** A source of uniform numbers in [0, 1), like Math.random. */
export type Random = () => number;

/**
 * Delay before attempt `attempt + 1` after `attempt` failed attempts (1-based): base * 2^(attempt-1),
 * capped at the maximum, then "equal jitter" (half fixed, half random) so retries spread out.
 */
export function backoffDelayMs(retry: RetryPolicy, attempt: number, random: Random): number {
  const exp = retry.backoffSeconds * 1000 * 2 ** Math.max(0, attempt - 1);
  const capped = Math.min(exp, retry.maxBackoffSeconds * 1000);
  return Math.round(capped / 2 + random() * (capped / 2));
}

/** True when another attempt is allowed after `attempts` attempts. */
export function mayRetry(retry: RetryPolicy, attempts: number): boolean {
  return attempts < retry.maxAttempts;
}
