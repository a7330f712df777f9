/**
 * @module `aria serve --layers A-B`: the pipeline-stage role. Parses the block range and holds
 * its usage text, apart from args.ts so that the stage flag merges cleanly. Pure.
 *
 * The range is half-open like aria.h's `layer_begin`/`layer_end` and Petals' block indices:
 * `--layers 0-3` loads blocks 0, 1 and 2 (and the token embedding, because it starts at 0);
 * `--layers 3-end` loads block 3 to the last (and the output norm and head). A-B with B past the
 * model's last block is refused when the model is loaded (the engine names the model's count).
 */
import { ConfigError } from "../config/defaults.ts";

/** A stage's blocks: [begin, end), `end` -1 = to the last block. */
export interface LayerRange {
  begin: number;
  end: number;
}

/** Most blocks a range may name (far above any model ARIA runs; bounds the integers). */
const MAX_LAYER = 4096;

/**
 * Parses `A-B` (half-open) or `A-end`.
 *
 * @param text the flag value.
 * @returns the range; `end` is -1 for "end".
 * @throws {ConfigError} for anything else, naming the value and the expected form.
 * @example
 * ```ts
 * parseLayerRange("0-15"); // { begin: 0, end: 15 }
 * parseLayerRange("15-end"); // { begin: 15, end: -1 }
 * ```
 */
export function parseLayerRange(text: string): LayerRange {
  const m = /^(\d{1,4})-(\d{1,4}|end)$/.exec(text.trim());
  const expected = 'expected "A-B" (blocks A to B-1) or "A-end", e.g. 0-15';
  if (m === null) throw new ConfigError(`Invalid --layers "${text}": ${expected}`);
  const begin = Number(m[1]);
  const end = m[2] === "end" ? -1 : Number(m[2]);
  if (begin > MAX_LAYER || end > MAX_LAYER) {
    throw new ConfigError(`Invalid --layers "${text}": blocks are at most ${MAX_LAYER}`);
  }
  if (end !== -1 && end <= begin) {
    throw new ConfigError(`Invalid --layers "${text}": the range is empty (${expected})`);
  }
  return { begin, end };
}

/** The --layers and --pipeline lines of `aria help serve`. */
export const LAYERS_USAGE =
  `  --layers A-B        serve only blocks A..B-1 as a pipeline stage (ARIA_LAYERS; "A-end" = to
                      the last block): only those tensors are read. With --p2p-port / --peers
                      the stage advertises its blocks and answers tensor frames from
                      authenticated peers (consent: pipeline-stages); POST /stage answers them
                      on 127.0.0.1 only. No OpenAI API in this role
  --pipeline          coordinator: serve the OpenAI API for --model through the stages that
                      peers advertise for the same model file (ARIA_PIPELINE; needs --peers or
                      --p2p-port); stages that die are replaced by replicas`;
