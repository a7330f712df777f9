/**
 * @module The ARIA error base class (STYLE.md B7). Domain errors extend it and carry a
 * stable machine-readable `code`; callers branch on the class and the code, never on the
 * message. Pure: no I/O.
 */

/**
 * Base class of ARIA's domain errors.
 *
 * @example
 * ```ts
 * throw new AriaError("CONFIG_INVALID", "Cannot load config: port is \"abc\"");
 * ```
 */
export class AriaError extends Error {
  /** Stable machine-readable code, UPPER_SNAKE. */
  readonly code: string;

  /**
   * @param code stable machine-readable code.
   * @param message human-readable message (STYLE.md B7.1 wording rules).
   * @param options standard error options; pass `cause` when wrapping.
   */
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The server cannot take more work now (queue full): HTTP 503 / peer BUSY. */
export class CapacityError extends AriaError {
  /**
   * @param message what is full, e.g. "Cannot queue request: 64 requests are waiting".
   * @param options standard error options.
   */
  constructor(message: string, options?: ErrorOptions) {
    super("CAPACITY", message, options);
  }
}
