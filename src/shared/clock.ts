/**
 * @module The clock port and the system clock behind it [S]. Pure code takes a `Clock` (or the
 * time itself) as a parameter; the shells pass `systemClock`, tests pass a fixed clock.
 */

/** Where a module reads the time from: milliseconds since the Unix epoch. */
export interface Clock {
  nowMs(): number;
}

/** The machine's wall clock. */
export const systemClock: Clock = { nowMs: () => Date.now() };
