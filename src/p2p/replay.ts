/**
 * @module The replay guard: a bounded cache of (sender, nonce) pairs seen within the freshness
 * window. Pure (the caller passes the clock reading). Bounded memory: when full, the oldest entry
 * is evicted and its timestamp becomes a floor — anything at or below the floor is refused as
 * stale, so an evicted nonce can never be replayed.
 */
import { MAX_SKEW_MS } from "./protocol.ts";

/** Default capacity. Why 65 536: about 2 MB of keys; at the default rate limit (50 msg/s per
 * peer) it holds a full minute-long window for 20 busy peers before the floor starts rising. */
export const DEFAULT_NONCE_CAPACITY = 65_536;

/** A bounded nonce cache. */
export class NonceCache {
  readonly #capacity: number;
  readonly #window: number;
  readonly #seen = new Map<string, number>();
  #floor = -Infinity;

  /**
   * @param capacity most entries kept (>= 1).
   * @param windowMs how long an entry matters (default twice the skew: any older message is
   *   already refused as stale).
   * @throws {RangeError} for a capacity below 1.
   */
  constructor(capacity = DEFAULT_NONCE_CAPACITY, windowMs = 2 * MAX_SKEW_MS) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`Invalid nonce cache capacity ${capacity}: expected an integer >= 1`);
    }
    this.#capacity = capacity;
    this.#window = windowMs;
  }

  /** Entries held now. */
  get size(): number {
    return this.#seen.size;
  }

  /**
   * Records a nonce.
   *
   * @param from sender id.
   * @param nonce the message nonce.
   * @param ts the message timestamp.
   * @param now the receiver's clock.
   * @returns "new" (accept), "replay" (seen before) or "stale" (too old to judge).
   */
  remember(from: string, nonce: string, ts: number, now: number): "new" | "replay" | "stale" {
    this.#prune(now);
    if (ts <= this.#floor || ts < now - this.#window) return "stale";
    const key = `${from}:${nonce}`;
    if (this.#seen.has(key)) return "replay";
    this.#seen.set(key, ts);
    if (this.#seen.size > this.#capacity) {
      const [oldest, oldTs] = this.#seen.entries().next().value as [string, number];
      this.#seen.delete(oldest);
      this.#floor = Math.max(this.#floor, oldTs);
    }
    return "new";
  }

  #prune(now: number): void {
    for (const [key, ts] of this.#seen) {
      if (ts >= now - this.#window) break; // insertion order is close to time order
      this.#seen.delete(key);
    }
  }
}
