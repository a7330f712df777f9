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

/** A request is outside the node owner's consent policy: HTTP 403 / peer CONSENT_DENIED. */
export class ConsentDeniedError extends AriaError {
  /**
   * @param reason why the policy refuses it, e.g. "Model \"x\" is not in the allowed models".
   * @param options standard error options.
   */
  constructor(reason: string, options?: ErrorOptions) {
    super("CONSENT_DENIED", reason, options);
  }
}

/** The consent policy's concurrency limit is reached: HTTP 503 / peer BUSY (retry later). */
export class ConsentBusyError extends AriaError {
  /**
   * @param reason what is full, e.g. "4 of 4 concurrent requests allowed by the consent policy".
   * @param options standard error options.
   */
  constructor(reason: string, options?: ErrorOptions) {
    super("BUSY", reason, options);
  }
}

/** A request field ARIA does not implement, or a backend that cannot honour it: HTTP 400
 * `unsupported_parameter` naming the field (never silently ignored). */
export class UnsupportedParameterError extends AriaError {
  /**
   * @param param the wire name of the field, e.g. "tools".
   * @param message why, e.g. `"tools" is not supported yet`.
   * @param options standard error options.
   */
  constructor(readonly param: string, message: string, options?: ErrorOptions) {
    super("UNSUPPORTED_PARAMETER", message, options);
  }
}
