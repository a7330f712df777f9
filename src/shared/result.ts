/**
 * @module The one success-or-failure value (STYLE.md B7.1: expected negative outcomes are
 * values, not exceptions). Pure; types only.
 */

/** Success with a value or failure with an error. */
export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };
