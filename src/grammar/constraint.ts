/**
 * @module A grammar as a token constraint for the generation loop: which tokens may come next,
 * and the state after the one that was sampled. Implements `TokenConstraint` of
 * src/generation/port.ts over a compiled grammar and a vocabulary trie. Pure.
 */
import type { TokenConstraint } from "../generation/port.ts";
import { GrammarRuntime, type MatchState } from "./matcher.ts";
import { type Grammar, GrammarError } from "./parse.ts";
import { allowedTokens, stepToken, type VocabTrie } from "./trie.ts";

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
      const n = allowedTokens(trie, runtime, state, out);
      if (n === 0) {
        throw new GrammarError(
          "Cannot continue generation: the grammar allows no token of the vocabulary here",
        );
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
