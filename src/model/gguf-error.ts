/**
 * @module The error thrown for malformed GGUF bytes. It extends `SyntaxError` (a parse
 * failure of data, STYLE.md B7.1) rather than `AriaError`, so it carries its own `code`.
 * Pure: no I/O.
 */

/**
 * Thrown when GGUF bytes cannot be parsed or a metadata value has the wrong type.
 *
 * @example
 * ```ts
 * throw new GgufFormatError('Cannot parse GGUF header: magic is "GGUL"', 0);
 * ```
 */
export class GgufFormatError extends SyntaxError {
  /** Always `"GGUF_FORMAT"`. */
  readonly code = "GGUF_FORMAT";
  /** Byte offset in the file where the problem was found (-1 when not tied to a byte). */
  readonly offset: number;

  /**
   * @param message what could not be done and why (STYLE.md B7.1 wording rules).
   * @param offset byte offset of the problem, -1 if none applies.
   * @param options standard error options; pass `cause` when wrapping.
   */
  constructor(message: string, offset: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "GgufFormatError";
    this.offset = offset;
  }
}
