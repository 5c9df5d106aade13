/** How a lane retries retryable failures. Resolved from the destination's `retry` settings. */
export interface RetryPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  multiplier: number;
  /** Fraction of the delay that is randomised, 0..1: delay × (1 − jitter + 2 × jitter × random). */
  jitter: number;
  /** Attempts (the first one included) before a record is parked as retries_exhausted; null = forever. */
  maxAttempts: number | null;
}

/** The longest Retry-After a destination may impose; longer requests are capped to this. */
export const maxRetryAfterMs = 15 * 60_000;

/**
 * The delay before attempt `attempt + 1`, after `attempt` failed attempts (attempt ≥ 1).
 * Exponential, capped at maxDelayMs, jittered, and never shorter than the destination's Retry-After.
 */
export function backoffDelayMs(policy: RetryPolicy, attempt: number, retryAfterMs?: number, random: () => number = Math.random): number {
  const exponent = Math.max(0, attempt - 1);
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** exponent);
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  const jittered = Math.min(policy.maxDelayMs, base * (1 - jitter + 2 * jitter * random()));
  const floor = retryAfterMs === undefined ? 0 : Math.min(retryAfterMs, maxRetryAfterMs);
  return Math.round(Math.max(jittered, floor));
}

/** Whether another attempt is allowed after `attempt` failed attempts. */
export function mayRetry(policy: RetryPolicy, attempt: number): boolean {
  return policy.maxAttempts === null || attempt < policy.maxAttempts;
}
