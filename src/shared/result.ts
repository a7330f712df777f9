/** @module A success-or-failure value for the p2p pure core (STYLE.md B2 shared/result.ts shape). */

/** Success with a value or failure with an error. */
export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };
