/**
 * @module `PolicyGate`: enforces a consent policy on live traffic. It keeps the counters
 * `evaluateConsent` needs (requests in flight, tokens used on the current UTC day), admits or
 * refuses each request, and hands out a ticket that counts tokens and frees the slot once.
 * Implements the API's `ConsentGate` port (src/contract/completion.ts) and serves peers the same way.
 * Pure given the injected clock: in-memory state only, no I/O.
 */
import { ConsentBusyError, ConsentDeniedError } from "../shared/errors.ts";
import { type ConsentRequest, type ConsentUsage, evaluateConsent, utcDay } from "./evaluate.ts";
import type { ConsentPolicy } from "./policy.ts";

/** One admitted request's handle. */
export interface ConsentTicket {
  /** Counts `n` tokens (prompt or generated) against today's quota. */
  addTokens(n: number): void;
  /** Frees the concurrency slot; later calls do nothing. */
  release(): void;
}

/** Counts and enforces one policy; `setPolicy` swaps it (after `aria consent set`). */
export class PolicyGate {
  #policy: ConsentPolicy;
  readonly #clock: { nowMs(): number };
  #inFlight = 0;
  #tokens = 0;
  #day: number;

  /**
   * @param policy the policy to enforce.
   * @param clock the time source (UTC days and schedule windows are read from it).
   */
  constructor(policy: ConsentPolicy, clock: { nowMs(): number }) {
    this.#policy = policy;
    this.#clock = clock;
    this.#day = utcDay(clock.nowMs());
  }

  /** The policy in force. */
  get policy(): ConsentPolicy {
    return this.#policy;
  }

  /**
   * Replaces the policy; in-flight requests finish under the old one, counters are kept.
   *
   * @param policy the new policy.
   */
  setPolicy(policy: ConsentPolicy): void {
    this.#policy = policy;
  }

  /** @returns the current counters (tokens of today only). */
  usage(): ConsentUsage {
    this.#roll();
    return { inFlight: this.#inFlight, tokens: this.#tokens, day: this.#day };
  }

  /**
   * Admits a request or refuses it.
   *
   * @param request what is asked.
   * @returns a ticket; call `release()` exactly when the work ends (done, error or abort).
   * @throws {ConsentDeniedError} when the policy refuses it (HTTP 403).
   * @throws {ConsentBusyError} when maxConcurrent requests are running (HTTP 503).
   */
  admit(request: ConsentRequest): ConsentTicket {
    const decision = evaluateConsent(this.#policy, request, this.usage(), this.#clock.nowMs());
    if (!decision.allow) {
      throw decision.code === "BUSY"
        ? new ConsentBusyError(decision.reason)
        : new ConsentDeniedError(decision.reason);
    }
    this.#inFlight++;
    let released = false;
    return {
      addTokens: (n) => {
        // Handled here: a bad count from a backend is ignored rather than corrupting the quota.
        if (!Number.isSafeInteger(n) || n <= 0) return;
        this.#roll();
        this.#tokens += n;
      },
      release: () => {
        if (released) return;
        released = true;
        this.#inFlight--;
      },
    };
  }

  /** Starts a new count at UTC midnight (tokens are counted on the day they are used). */
  #roll(): void {
    const today = utcDay(this.#clock.nowMs());
    if (today !== this.#day) {
      this.#day = today;
      this.#tokens = 0;
    }
  }
}
