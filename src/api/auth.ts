/**
 * @module Optional Bearer-token auth for `/v1/*`. `constantTimeEqual` compares bytes without an
 * early exit so that the time taken does not reveal how many leading bytes of a guess are right.
 * Only `/v1/*` is guarded: `/health` and `/metrics` stay open so that load balancers and
 * Prometheus scrapers work without the key (they expose no prompts or outputs), and CORS
 * preflights (`OPTIONS`) are answered before auth. Pure.
 */
import type { MiddlewareHandler } from "hono";
import { authError } from "./errors.ts";

const encoder = new TextEncoder();

/**
 * Compares two byte strings in time that depends only on their lengths.
 *
 * @param a the bytes received.
 * @param b the expected bytes.
 * @returns true when equal.
 * @example
 * ```ts
 * constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])); // true
 * ```
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  // A length difference makes diff non-zero, and the loop still runs over all of b.
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i]!;
  return diff === 0;
}

/**
 * Middleware that requires `Authorization: Bearer <apiKey>`.
 *
 * @param apiKey the expected key.
 * @returns a hono middleware.
 * @throws {ApiError} 401 (through `onError`) when the header is missing or wrong.
 */
export function bearerAuth(apiKey: string): MiddlewareHandler {
  const expected = encoder.encode(apiKey);
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match || !constantTimeEqual(encoder.encode(match[1]!.trim()), expected)) {
      c.header("www-authenticate", "Bearer");
      throw authError();
    }
    await next();
  };
}
