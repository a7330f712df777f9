/**
 * @module A byte trie of a vocabulary, and the walk that finds every token a grammar state allows.
 * Pure: the token bytes come in (from the tokenizer); nothing is sampled here.
 *
 * The trie is stored in preorder: node i has its byte, its depth and the index just past its
 * subtree, and the tokens whose bytes end there. Walking it is one forward scan that keeps one
 * matcher state per depth; a node whose byte the grammar refuses skips its whole subtree in one
 * jump (`end[i]`), which is what makes masking a 128k vocabulary affordable: inside a JSON string
 * nearly every token survives but each byte is one cached lookup, and at a structural position
 * (after `{`) all but a few subtrees die at their first byte.
 *
 * Tokens with no bytes (control tokens such as BOS) are never allowed; end-of-generation tokens
 * are allowed exactly when the grammar accepts the text so far (llama.cpp does the same).
 */
import type { GrammarRuntime, MatchState } from "./matcher.ts";

/** A vocabulary's byte trie (immutable; built once per model and shared by every request). */
export interface VocabTrie {
  readonly nVocab: number;
  /** Per node (preorder; node 0 is the root with no byte). */
  readonly bytes: Uint8Array;
  readonly depth: Uint16Array;
  /** Index just past the node's subtree. */
  readonly end: Int32Array;
  /** Tokens ending at node i: tokenIds[tokenStart[i] .. tokenStart[i + 1]). */
  readonly tokenStart: Int32Array;
  readonly tokenIds: Int32Array;
  /** End-of-generation token ids. */
  readonly eog: Int32Array;
  /** Each token's bytes (for checking one token). */
  readonly tokenBytes: readonly Uint8Array[];
  /** Deepest node (longest token in bytes). */
  readonly maxDepth: number;
}

/** Longest token accepted in the trie (bytes). Why: real vocabularies stay under 256. */
export const MAX_TOKEN_BYTES = 1024;

/**
 * Builds the trie.
 *
 * @param tokenBytes each token's bytes, by id (empty for tokens that render as nothing).
 * @param isEog whether a token ends generation.
 * @returns the trie.
 * @throws {RangeError} if a token is longer than MAX_TOKEN_BYTES.
 */
export function createVocabTrie(
  tokenBytes: readonly Uint8Array[],
  isEog: (id: number) => boolean,
): VocabTrie {
  const n = tokenBytes.length;
  const ids: number[] = [];
  const eog: number[] = [];
  for (let id = 0; id < n; id++) {
    const b = tokenBytes[id]!;
    if (b.length > MAX_TOKEN_BYTES) {
      throw new RangeError(
        `Cannot index token ${id}: ${b.length} bytes, at most ${MAX_TOKEN_BYTES}`,
      );
    }
    if (isEog(id)) eog.push(id);
    else if (b.length > 0) ids.push(id);
  }
  ids.sort((a, b) => compareBytes(tokenBytes[a]!, tokenBytes[b]!) || a - b);
  const nodes = buildNodes(ids, tokenBytes);
  return { nVocab: n, ...nodes, eog: Int32Array.from(eog), tokenBytes };
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

// Sorted tokens -> preorder nodes. A node at depth d stands for the common prefix of a run of
// sorted tokens; the run is split by the byte at position d.
function buildNodes(sorted: readonly number[], tokenBytes: readonly Uint8Array[]) {
  const bytes: number[] = [0];
  const depth: number[] = [0];
  const end: number[] = [0];
  const tokenStart: number[] = [];
  const tokenIds: number[] = [];
  let maxDepth = 0;
  // explicit stack of (run start, run end, depth, node index)
  const work: [number, number, number, number][] = [];
  const visit = (from: number, to: number, d: number, node: number): void => {
    let i = from;
    tokenStart[node] = tokenIds.length;
    while (i < to && tokenBytes[sorted[i]!]!.length === d) tokenIds.push(sorted[i++]!);
    // children, pushed in reverse so that they pop in byte order
    const children: [number, number][] = [];
    while (i < to) {
      const b = tokenBytes[sorted[i]!]![d]!;
      let j = i + 1;
      while (j < to && tokenBytes[sorted[j]!]![d] === b) j++;
      children.push([i, j]);
      i = j;
    }
    for (let c = children.length - 1; c >= 0; c--) {
      work.push([children[c]![0], children[c]![1], d + 1, -1]);
    }
  };
  visit(0, sorted.length, 0, 0);
  const open: number[] = [0]; // nodes whose subtree is not closed yet, by depth
  while (work.length > 0) {
    const [from, to, d] = work.pop()!;
    // close the subtrees this node is not part of
    while (open.length > d) end[open.pop()!] = bytes.length;
    const node = bytes.length;
    bytes.push(tokenBytes[sorted[from]!]![d - 1]!);
    depth.push(d);
    end.push(0);
    maxDepth = Math.max(maxDepth, d);
    open.push(node);
    visit(from, to, d, node);
  }
  while (open.length > 0) end[open.pop()!] = bytes.length;
  tokenStart[bytes.length] = tokenIds.length;
  return {
    bytes: Uint8Array.from(bytes),
    depth: Uint16Array.from(depth),
    end: Int32Array.from(end),
    tokenStart: Int32Array.from(tokenStart),
    tokenIds: Int32Array.from(tokenIds),
    maxDepth,
  };
}

/**
 * Collects every token the state allows.
 *
 * @param trie the vocabulary.
 * @param runtime the request's matcher.
 * @param state where the text is.
 * @param out receives the allowed ids (capacity >= nVocab).
 * @returns how many were written.
 * @throws {GrammarError} past the matcher's limits.
 */
export function allowedTokens(
  trie: VocabTrie,
  runtime: GrammarRuntime,
  state: MatchState,
  out: Int32Array,
): number {
  let count = 0;
  if (state.set.accepting && state.remaining === 0) {
    for (const id of trie.eog) out[count++] = id;
  }
  const states: (MatchState | null)[] = new Array(trie.maxDepth + 1);
  states[0] = state;
  const { bytes, depth, end, tokenStart, tokenIds } = trie;
  const nNodes = bytes.length;
  for (let i = 1; i < nNodes;) {
    const next = runtime.step(states[depth[i]! - 1]!, bytes[i]!);
    if (next === null) {
      i = end[i]!;
      continue;
    }
    states[depth[i]!] = next;
    for (let t = tokenStart[i]!; t < tokenStart[i + 1]!; t++) out[count++] = tokenIds[t]!;
    i++;
  }
  return count;
}

/**
 * Whether the state allows one token (the cheap check of lazy sampling).
 *
 * @param trie the vocabulary.
 * @param runtime the request's matcher.
 * @param state where the text is.
 * @param token a token id.
 * @returns the state after the token, or null when it is not allowed. An end-of-generation token
 *   returns the state unchanged when the text may end here.
 * @throws {GrammarError} past the matcher's limits.
 */
export function stepToken(
  trie: VocabTrie,
  runtime: GrammarRuntime,
  state: MatchState,
  token: number,
): MatchState | null {
  const bytes = trie.tokenBytes[token];
  if (bytes === undefined) return null;
  if (isEogToken(trie, token)) return state.set.accepting && state.remaining === 0 ? state : null;
  if (bytes.length === 0) return null;
  return runtime.stepBytes(state, bytes);
}

function isEogToken(trie: VocabTrie, token: number): boolean {
  for (const id of trie.eog) if (id === token) return true;
  return false;
}
