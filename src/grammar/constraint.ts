/**
 * @module A grammar as a token constraint for the generation loop: which tokens may come next,
 * and the state after the one that was sampled. Implements `TokenConstraint` of
 * src/generation/port.ts over a compiled grammar and a vocabulary trie. Pure.
 *
 * Requests with the same grammar text (an agent sending one schema again and again) share its
 * compiled form, its matcher (whose caches make a step a table lookup once a set was seen: a cold
 * vocabulary mask at a key or after `,` costs tens of ms, a warm one well under one) and its
 * allowed lists: `constraintFor` keeps the last SHARED_GRAMMARS grammars per vocabulary trie.
 * Sharing changes no result (the caches are memos of pure functions of the grammar), only cost.
 */
import type { TokenConstraint } from "../generation/port.ts";
import { GrammarRuntime, type MatchState, type StackSet } from "./matcher.ts";
import { type Grammar, GrammarError, parseGrammar } from "./parse.ts";
import { allowedTokens, createVocabTrie, stepToken, type VocabTrie } from "./trie.ts";

/** Grammars whose matcher is kept per vocabulary trie (least recently used dropped first). */
const SHARED_GRAMMARS = 4;
/**
 * A shared matcher past these sizes is replaced by a fresh one for new requests. Why: it bounds
 * what stays in memory after the requests end (about 10 MiB per grammar with its allowed lists;
 * a nested-object schema's whole document needs about 2300 sets), and leaves those already using
 * it most of MATCHER_LIMITS as headroom, so that no request fails for the others' growth.
 */
const SHARED_MAX_SETS = 8192;
const SHARED_MAX_NODES = 1 << 18;
/** Allowed-list entries kept per grammar (why: 4 MiB, 8 whole 128k-token lists). */
const MASK_CACHE_ENTRIES = 1 << 20;

/** A compiled grammar's matcher and its allowed lists, per stack set (at character boundaries). */
interface GrammarMemo {
  readonly runtime: GrammarRuntime;
  /** Least recently used first. */
  readonly masks: Map<StackSet, Int32Array>;
  maskEntries: number;
}

function memoOf(grammar: Grammar): GrammarMemo {
  return { runtime: new GrammarRuntime(grammar), masks: new Map(), maskEntries: 0 };
}

// shared matchers, per trie (a model's trie lives as long as the model)
const sharedMemos = new WeakMap<VocabTrie, Map<string, GrammarMemo>>();

function worn(runtime: GrammarRuntime): boolean {
  return runtime.nodeCount > SHARED_MAX_NODES || runtime.setCount > SHARED_MAX_SETS;
}

function sharedMemo(grammarText: string, trie: VocabTrie): GrammarMemo {
  let byText = sharedMemos.get(trie);
  if (byText === undefined) sharedMemos.set(trie, byText = new Map());
  let memo = byText.get(grammarText);
  byText.delete(grammarText);
  if (memo === undefined || worn(memo.runtime)) memo = memoOf(parseGrammar(grammarText));
  byText.set(grammarText, memo); // most recently used last
  if (byText.size > SHARED_GRAMMARS) byText.delete(byText.keys().next().value!);
  return memo;
}

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
  return constraintOver(memoOf(grammar), trie);
}

function constraintOver(memo: GrammarMemo, trie: VocabTrie): TokenConstraint {
  const { runtime, masks } = memo;
  let state: MatchState = runtime.start;
  // the last single-token check, reused by accept()
  let checked = -1;
  let checkedState: MatchState | null = null;

  const check = (token: number): MatchState | null => {
    if (token !== checked) {
      runtime.beginStep();
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
      // the allowed lists of recent sets (at a character boundary the list depends on the set
      // alone): a set met again, in this request or another, costs a copy, not a trie walk
      if (hit !== undefined) {
        masks.delete(state.set); // most recent last
        masks.set(state.set, hit);
        out.set(hit);
        return hit.length;
      }
      runtime.beginStep();
      const n = allowedTokens(trie, runtime, state, out);
      if (n === 0) {
        throw new GrammarError(
          "Cannot continue generation: the grammar allows no token of the vocabulary here",
        );
      }
      if (boundary && n <= MASK_CACHE_ENTRIES / 2) {
        masks.set(state.set, out.slice(0, n));
        memo.maskEntries += n;
        for (const [set, mask] of masks) {
          if (memo.maskEntries <= MASK_CACHE_ENTRIES) break;
          masks.delete(set);
          memo.maskEntries -= mask.length;
        }
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
  /** The bytes a token adds to generated text (none for control tokens). */
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
 * A request's constraint, already past `forced` tokens (the fail-over continuation another node
 * generated). The grammar is compiled once per trie and text, and its matcher shared with the
 * other requests that use the same text (see the module header).
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
  const c = constraintOver(sharedMemo(grammarText, trie), trie);
  for (const t of forced) c.accept(t);
  return c;
}
