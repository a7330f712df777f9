/**
 * @module Maps libbitnet status codes (enum aria_status in aria.h) to `EngineError`s. Pure.
 */
import { AriaError } from "../shared/errors.ts";

/** Status codes of aria.h, mirrored. */
export const ARIA_STATUS = {
  OK: 0,
  CANCELLED: 1,
  INVALID_ARG: -1,
  NO_MEMORY: -2,
  IO: -3,
  BAD_FORMAT: -4,
  UNSUPPORTED: -5,
  CTX_FULL: -6,
  INTERNAL: -7,
} as const;

const CODE_BY_STATUS = new Map<number, string>([
  [ARIA_STATUS.CANCELLED, "ENGINE_CANCELLED"],
  [ARIA_STATUS.INVALID_ARG, "ENGINE_INVALID_ARG"],
  [ARIA_STATUS.NO_MEMORY, "ENGINE_NO_MEMORY"],
  [ARIA_STATUS.IO, "ENGINE_IO"],
  [ARIA_STATUS.BAD_FORMAT, "ENGINE_BAD_FORMAT"],
  [ARIA_STATUS.UNSUPPORTED, "ENGINE_UNSUPPORTED"],
  [ARIA_STATUS.CTX_FULL, "ENGINE_CTX_FULL"],
  [ARIA_STATUS.INTERNAL, "ENGINE_INTERNAL"],
]);

/** An error reported by libbitnet (or by the engine shell around it). */
export class EngineError extends AriaError {
  /** The native status code (0 for errors raised by the TypeScript side). */
  readonly status: number;

  /**
   * @param status native status code.
   * @param message what failed, including the native message when there is one.
   * @param options standard error options.
   */
  constructor(status: number, message: string, options?: ErrorOptions & { code?: string }) {
    super(options?.code ?? CODE_BY_STATUS.get(status) ?? "ENGINE_UNKNOWN", message, options);
    this.status = status;
  }
}

/**
 * Builds the error for a failed native call.
 *
 * @param status the non-zero status returned.
 * @param action what was being done, e.g. "Cannot load model".
 * @param detail the native message (aria_ctx_last_error or the load error buffer), may be empty.
 * @returns the error to throw.
 */
export function toEngineError(status: number, action: string, detail: string): EngineError {
  const what = detail.length > 0 ? detail : `status ${status}`;
  const message = detail.startsWith("Cannot ") ? detail : `${action}: ${what}`;
  return new EngineError(status, message);
}
