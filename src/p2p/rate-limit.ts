/**
 * @module Token-bucket rate limiting per peer. Pure: the bucket is a value and the clock reading
 * comes in. A refused message is answered RATE_LIMITED at once; nothing is queued.
 */

/** Bucket settings. */
export interface RateLimit {
  /** Tokens added per second. */
  ratePerSec: number;
  /** Most tokens held (the burst). */
  burst: number;
}

/** Default for messages from one peer. Why 50/s with a burst of 100: a streaming reply is one
 * message per token and aria-nano decodes about 100 tokens/s per node. */
export const DEFAULT_PEER_RATE: RateLimit = { ratePerSec: 50, burst: 100 };

/** A bucket's state. */
export interface Bucket {
  tokens: number;
  updatedMs: number;
}

/**
 * A full bucket.
 *
 * @param limit the settings.
 * @param now clock reading (ms).
 * @returns the bucket.
 */
export function newBucket(limit: RateLimit, now: number): Bucket {
  return { tokens: limit.burst, updatedMs: now };
}

/**
 * Takes one token if there is one.
 *
 * @param bucket current state.
 * @param limit the settings.
 * @param now clock reading (ms); a clock going backwards adds nothing.
 * @returns whether the message may pass, and the new state.
 */
export function takeToken(
  bucket: Bucket,
  limit: RateLimit,
  now: number,
): { ok: boolean; bucket: Bucket } {
  const elapsed = Math.max(0, now - bucket.updatedMs);
  const tokens = Math.min(limit.burst, bucket.tokens + (elapsed * limit.ratePerSec) / 1000);
  if (tokens < 1) {
    return { ok: false, bucket: { tokens, updatedMs: Math.max(now, bucket.updatedMs) } };
  }
  return { ok: true, bucket: { tokens: tokens - 1, updatedMs: Math.max(now, bucket.updatedMs) } };
}
