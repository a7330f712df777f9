/**
 * @module A grammar that applies only from a trigger text on (llama.cpp's "lazy grammar"), for
 * `tool_choice: "auto"`: the model writes freely until its output contains the trigger
 * (`<tool_call>`); from the trigger's first byte the grammar (one call) holds the output, and when
 * the grammar is complete the output is free again, until the next trigger. A token that carries
 * the trigger and then text the grammar refuses cannot be taken back: the grammar stays off for
 * that occurrence (the API's parser then leaves the block in the content). Pure.
 */
import type { TokenConstraint } from "../generation/port.ts";
import { GrammarRuntime, type MatchState } from "./matcher.ts";
import { type Grammar, parseGrammar } from "./parse.ts";
import { allowedTokens, stepToken, type VocabTrie } from "./trie.ts";
import { GrammarError } from "./parse.ts";

const utf8 = new TextEncoder();

/**
 * Starts a triggered constraint.
 *
 * @param grammar the compiled grammar; its sentences must start with the trigger.
 * @param trie the model's vocabulary trie.
 * @param trigger the text that switches the grammar on (non-empty).
 * @returns a constraint that is never `done` (the model ends the text when it is free).
 * @throws {RangeError} for an empty trigger.
 * @example
 * ```ts
 * const c = createTriggeredConstraint(parseGrammar(toolGrammar), trie, "<tool_call>");
 * ```
 */
export function createTriggeredConstraint(
  grammar: Grammar,
  trie: VocabTrie,
  trigger: string,
): TokenConstraint {
  const t = utf8.encode(trigger);
  if (t.length === 0) throw new RangeError("Cannot use an empty trigger");
  const runtime = new GrammarRuntime(grammar);
  let state: MatchState | null = null; // null: free
  let tail = new Uint8Array(0); // the last bytes of free text (a trigger may span tokens)

  const step = (token: number): MatchState | null => {
    runtime.beginStep();
    return stepToken(trie, runtime, state!, token);
  };
  const free = (): void => {
    state = null;
    tail = new Uint8Array(0);
  };

  return {
    get done(): boolean {
      return false;
    },
    allows(token: number): boolean {
      return state === null || step(token) !== null;
    },
    allowed(out: Int32Array): number {
      if (state === null) {
        for (let id = 0; id < trie.nVocab; id++) out[id] = id;
        return trie.nVocab;
      }
      runtime.beginStep();
      const n = allowedTokens(trie, runtime, state, out);
      if (n === 0) {
        throw new GrammarError(
          "Cannot continue generation: the grammar allows no token of the vocabulary here",
        );
      }
      return n;
    },
    accept(token: number): void {
      if (state !== null) {
        const next = step(token);
        if (next === null) {
          throw new GrammarError(
            `Cannot accept token ${token}: the grammar does not allow it here`,
          );
        }
        if (next.set.done && next.remaining === 0) free();
        else state = next;
        return;
      }
      const bytes = trie.tokenBytes[token] ?? new Uint8Array(0);
      const text = concat(tail, bytes);
      const at = indexOf(text, t);
      if (at === -1) {
        tail = text.slice(Math.max(0, text.length - (t.length - 1)));
        return;
      }
      runtime.beginStep();
      const next = runtime.stepBytes(runtime.start, text.subarray(at));
      if (next === null) free(); // the token went past the trigger into refused text
      else if (next.set.done && next.remaining === 0) free();
      else state = next;
    },
  };
}

/**
 * Compiles a request's triggered grammar, already past `forced` tokens (fail-over).
 *
 * @param grammarText GBNF text whose sentences start with the trigger.
 * @param trie the model's trie.
 * @param trigger the trigger text.
 * @param forced tokens already generated under the same constraint.
 * @returns the constraint.
 * @throws {GrammarError} for a bad grammar, or forced tokens it refuses.
 */
export function triggeredConstraintFor(
  grammarText: string,
  trie: VocabTrie,
  trigger: string,
  forced: readonly number[] = [],
): TokenConstraint {
  const c = createTriggeredConstraint(parseGrammar(grammarText), trie, trigger);
  for (const token of forced) c.accept(token);
  return c;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
