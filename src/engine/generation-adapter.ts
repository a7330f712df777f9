/**
 * @module Shell: a `GenerationEngine` (src/generation/port.ts) over one sequence of a
 * `NativeContext`, so that the pure generation loop can drive libbitnet. The prompt is evaluated
 * in batches of at most `nBatch` tokens, computing logits only for the last one, with a turn of
 * the event loop between batches (STYLE.md B2: keep each FFI call bounded).
 */
import type { GenerationEngine } from "../generation/index.ts";
import type { NativeContext } from "./engine.ts";

/** Options of {@link createGenerationEngine}. */
export interface GenerationEngineOptions {
  /** The sequence to generate in (default 0). */
  seq?: number;
}

/**
 * Adapts a native context to the generation port.
 *
 * @param ctx an open context; the adapter does not own it.
 * @param options which sequence to use.
 * @returns the port; `evalPrompt` clears the sequence first. Its logits are zero-copy views,
 *   valid until the next evaluation on `ctx`.
 * @throws {EngineError} from the calls, as `NativeContext.decode` does.
 */
export function createGenerationEngine(
  ctx: NativeContext,
  options: Readonly<GenerationEngineOptions> = {},
): GenerationEngine {
  const seq = options.seq ?? 0;
  return {
    nCtx: ctx.options.nCtx,
    async evalPrompt(tokens: readonly number[]): Promise<Float32Array> {
      ctx.truncate(seq, 0);
      const nBatch = ctx.options.nBatch;
      for (let i = 0; i < tokens.length; i += nBatch) {
        const last = i + nBatch >= tokens.length;
        ctx.decode(tokens.slice(i, i + nBatch), { seq, logits: last ? "last" : "none" });
        if (!last) await new Promise<void>((resolve) => setImmediate(resolve));
      }
      return ctx.logits(0);
    },
    evalToken(token: number): Float32Array {
      ctx.decode([token], { seq });
      return ctx.logits(0);
    },
  };
}
