/**
 * @module A grammar as a token constraint for the generation loop: which tokens may come next,
 * and the state after the one that was sampled. Implements `TokenConstraint` of
 * src/generation/port.ts over a compiled grammar and a vocabulary trie. Pure.
 */
import type { TokenConstraint } from "../generation/port.ts";
import { GrammarRuntime, type MatchState, type StackSet } from "./matcher.ts";
import { type Grammar, GrammarError, parseGrammar } from "./parse.ts";
import { allowedTokens, createVocabTrie, stepToken, type VocabTrie } from "./trie.ts";

/** Allowed lists kept per sequence (why 4: up to 2 MiB with a 128k vocabulary). */
const MASK_CACHE_SETS = 4;

/**
 * Starts constraining one generation.
 *
 * @param grammar the compiled grammar (shared, immutable).
 * @param trie the model's vocabulary trie (shared, immutable).
 * @returns a fresh constraint at the start of the grammar.
 * @throws {GrammarError} if the grammar's start already exceeds the matcher's limits.
 * @example
 * ```ts
 * const c = createGrammarConstraint(parseGrammar('root ::= "yes" | "no"'), trie);
 * if (c.allows(token)) c.accept(token);
 * ```
 */
export function createGrammarConstraint(grammar: Grammar, trie: VocabTrie): TokenConstraint {
  const runtime = new GrammarRuntime(grammar);
  let state: MatchState = runtime.start;
  // the allowed lists of the last few sets (at a character boundary the list depends on the set
  // alone): a refused token in a long string costs one trie walk, not one per refusal
  const masks = new Map<StackSet, Int32Array>();
  // the last single-token check, reused by accept()
  let checked = -1;
  let checkedState: MatchState | null = null;

  const check = (token: number): MatchState | null => {
    if (token !== checked) {
      checkedState = stepToken(trie, runtime, state, token);
      checked = token;
    }
    return checkedState;
  };

  return {
    get done(): boolean {
      return state.set.done && state.remaining === 0;
    },
    allows(token: number): boolean {
      return check(token) !== null;
    },
    allowed(out: Int32Array): number {
      const boundary = state.remaining === 0;
      const hit = boundary ? masks.get(state.set) : undefined;
      if (hit !== undefined) {
        masks.delete(state.set); // most recent last
        masks.set(state.set, hit);
        out.set(hit);
        return hit.length;
      }
      const n = allowedTokens(trie, runtime, state, out);
      if (n === 0) {
        throw new GrammarError(
          "Cannot continue generation: the grammar allows no token of the vocabulary here",
        );
      }
      if (boundary) {
        masks.set(state.set, out.slice(0, n));
        if (masks.size > MASK_CACHE_SETS) masks.delete(masks.keys().next().value!);
      }
      return n;
    },
    accept(token: number): void {
      const next = check(token);
      if (next === null) {
        throw new GrammarError(`Cannot accept token ${token}: the grammar does not allow it here`);
      }
      state = next;
      checked = -1;
      checkedState = null;
    },
  };
}

/** What building a trie needs from a tokenizer (`Tokenizer` of src/tokenizer fits). */
export interface TrieTokenizer {
  readonly nVocab: number;
  tokenBytes(id: number): Uint8Array;
  isEog(id: number): boolean;
}

/**
 * Builds a model's vocabulary trie from its tokenizer (once per model: about a second for a
 * 128k vocabulary, see benchmarks/grammar).
 *
 * @param tokenizer the model's tokenizer.
 * @returns the trie.
 */
export function vocabTrieOf(tokenizer: TrieTokenizer): VocabTrie {
  const bytes = Array.from({ length: tokenizer.nVocab }, (_, id) => tokenizer.tokenBytes(id));
  return createVocabTrie(bytes, (id) => tokenizer.isEog(id));
}

/**
 * Compiles a request's grammar into a fresh constraint, already past `forced` tokens (the
 * fail-over continuation another node generated).
 *
 * @param grammarText GBNF text.
 * @param trie the model's trie.
 * @param forced tokens already generated under the same grammar.
 * @returns the constraint.
 * @throws {GrammarError} for a bad grammar, or forced tokens it refuses.
 */
export function constraintFor(
  grammarText: string,
  trie: VocabTrie,
  forced: readonly number[] = [],
): TokenConstraint {
  const c = createGrammarConstraint(parseGrammar(grammarText), trie);
  for (const t of forced) c.accept(t);
  return c;
}
