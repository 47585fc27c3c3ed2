// Retries inside one delivery: exponential backoff with full jitter for retryable failures, with
// randomness and sleeping injected so tests run without waiting.
import { DeliveryError } from './transport.js';

/** How often and how patiently a transport retries a retryable failure. */
export interface RetryPolicy {
  /** Total tries including the first (1 = no retry). */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 250, maxDelayMs: 8_000 };

/** Sleeps `ms` or rejects when the signal aborts. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const realSleep: Sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Delay before retry number `retry` (1-based): full jitter over an exponentially growing cap. */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

export interface RetryContext {
  policy: RetryPolicy;
  random: () => number;
  sleep: Sleep;
  now: () => number;
  signal?: AbortSignal;
  deadline?: number;
  /** Told about each failure that will be retried (logging, metrics). */
  onRetry?: (error: DeliveryError, attempt: number, delayMs: number) => void;
}

/** Runs `attempt` until it succeeds, fails permanently, runs out of tries or would pass the deadline. */
export async function withRetries<T>(context: RetryContext, attempt: (n: number) => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (!(error instanceof DeliveryError) || !error.retryable || n >= context.policy.attempts || context.signal?.aborted) throw error;
      const delay = backoffDelay(n, context.policy, context.random);
      if (context.deadline !== undefined && context.now() + delay >= context.deadline) throw error;
      context.onRetry?.(error, n, delay);
      try {
        await context.sleep(delay, context.signal);
      } catch {
        throw new DeliveryError('aborted', 'the delivery was aborted while waiting to retry', true, { cause: error });
      }
    }
  }
}
