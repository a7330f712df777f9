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
import type { GrammarRuntime, MatchState, StackSet } from "./matcher.ts";

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
  /** The ASCII bytes in each node's subtree (itself included): 4 words per node, bit b set. */
  readonly subtreeAscii: Uint32Array;
  /** 1 when a byte >= 0x80 occurs in the node's subtree. */
  readonly subtreeHigh: Uint8Array;
  /** Levels in the node's subtree, itself included (capped at 255). */
  readonly subtreeHeight: Uint8Array;
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
  return {
    nVocab: n,
    ...nodes,
    ...subtreeBytes(nodes.bytes, nodes.depth),
    eog: Int32Array.from(eog),
    tokenBytes,
  };
}

// The bytes of every subtree: a node's own byte OR-ed into its parent's, children first
// (reverse preorder visits every child before its parent).
function subtreeBytes(bytes: Uint8Array, depth: Uint16Array) {
  const n = bytes.length;
  const parent = new Int32Array(n);
  const lastAt: number[] = [0];
  for (let i = 1; i < n; i++) {
    parent[i] = lastAt[depth[i]! - 1]!;
    lastAt[depth[i]!] = i;
  }
  const ascii = new Uint32Array(4 * n);
  const high = new Uint8Array(n);
  const height = new Uint8Array(n).fill(1);
  for (let i = n - 1; i > 0; i--) {
    const b = bytes[i]!;
    const h = Math.min(255, height[i]! + 1);
    if (h > height[parent[i]!]!) height[parent[i]!] = h;
    if (b < 0x80) ascii[4 * i + (b >> 5)]! |= 1 << (b & 31);
    else high[i] = 1;
    const p = parent[i]!;
    for (let w = 0; w < 4; w++) ascii[4 * p + w]! |= ascii[4 * i + w]!;
    high[p]! |= high[i]!;
  }
  return { subtreeAscii: ascii, subtreeHigh: high, subtreeHeight: height };
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
  // one state per depth; at a character boundary (the common case) only the set is kept and an
  // ASCII byte is one cached lookup, inlined here (this loop runs once per trie node)
  const states: (MatchState | null)[] = new Array(trie.maxDepth + 1);
  const sets: (StackSet | null)[] = new Array(trie.maxDepth + 1);
  states[0] = state;
  sets[0] = state.remaining === 0 ? state.set : null;
  const { bytes, depth, end, tokenStart, tokenIds, subtreeAscii, subtreeHigh, subtreeHeight } =
    trie;
  const nNodes = bytes.length;
  for (let i = 1; i < nNodes;) {
    const d = depth[i]!;
    const b = bytes[i]!;
    const parentSet = sets[d - 1]!;
    if (parentSet !== null && b < 0x80) {
      // a subtree of ordinary characters (plain or counted string content): when at each of its
      // levels all its bytes lead to the one common successor, every token in it is allowed
      if (
        subtreeHigh[i] === 0 && tokenStart[end[i]!]! - tokenStart[i]! >= WHOLE_MIN_TOKENS &&
        wholeSubtree(runtime, parentSet, subtreeAscii, 4 * i, subtreeHeight[i]!)
      ) {
        const stop = end[i]!;
        for (let t = tokenStart[i]!; t < tokenStart[stop]!; t++) out[count++] = tokenIds[t]!;
        i = stop;
        continue;
      }
      let next = parentSet.ascii[b];
      if (next === undefined) next = runtime.advance(parentSet, b);
      if (next === null) {
        i = end[i]!;
        continue;
      }
      sets[d] = next;
      states[d] = null; // made on demand below from sets[d]
    } else {
      const parent = states[d - 1] ?? boundary(parentSet!);
      const next = runtime.step(parent, b);
      if (next === null) {
        i = end[i]!;
        continue;
      }
      states[d] = next;
      sets[d] = next.remaining === 0 ? next.set : null;
    }
    for (let t = tokenStart[i]!; t < tokenStart[i + 1]!; t++) out[count++] = tokenIds[t]!;
    i++;
  }
  return count;
}

// Tokens a subtree needs before allowedTokens tries to take it whole. Why: the test groups the
// 128 ASCII bytes of every set it meets (128 matcher steps on a cold set); a small subtree is
// cheaper to walk byte by byte (at a key, after `{"`, the walk would otherwise group every
// prefix of every key).
const WHOLE_MIN_TOKENS = 64;

/**
 * The plain version of {@link allowedTokens} (one `runtime.step` per trie node): the oracle in
 * tests and the baseline in benchmarks/grammar.
 *
 * @param trie the vocabulary.
 * @param runtime the request's matcher.
 * @param state where the text is.
 * @param out receives the allowed ids.
 * @returns how many were written.
 */
export function allowedTokensRef(
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
  for (let i = 1; i < trie.bytes.length;) {
    const next = runtime.step(states[trie.depth[i]! - 1]!, trie.bytes[i]!);
    if (next === null) {
      i = trie.end[i]!;
      continue;
    }
    states[trie.depth[i]!] = next;
    for (let t = trie.tokenStart[i]!; t < trie.tokenStart[i + 1]!; t++) {
      out[count++] = trie.tokenIds[t]!;
    }
    i++;
  }
  return count;
}

// whether all the bytes in ascii[at .. at + 4) lead from `set` to one common successor, and from
// it to one common successor again, for `levels` levels (then every token in the subtree lives)
function wholeSubtree(
  runtime: GrammarRuntime,
  set: StackSet,
  ascii: Uint32Array,
  at: number,
  levels: number,
): boolean {
  const first = lowestByte(ascii, at);
  let s = set;
  for (let level = 0; level < levels; level++) {
    const { groupOf, masks, next } = runtime.groups(s);
    const g = groupOf[first]!;
    if (g < 0) return false;
    const m = 4 * g;
    if (
      (ascii[at]! & ~masks[m]!) !== 0 || (ascii[at + 1]! & ~masks[m + 1]!) !== 0 ||
      (ascii[at + 2]! & ~masks[m + 2]!) !== 0 || (ascii[at + 3]! & ~masks[m + 3]!) !== 0
    ) return false;
    if (next[g] === s) return true; // a loop: every deeper level is the same
    s = next[g]!;
  }
  return true;
}

// the smallest byte in a 4-word mask (the subtree has at least its own byte)
function lowestByte(ascii: Uint32Array, at: number): number {
  for (let w = 0; w < 4; w++) {
    const x = ascii[at + w]!;
    if (x !== 0) return 32 * w + (31 - Math.clz32(x & -x));
  }
  return 0;
}

function boundary(set: StackSet): MatchState {
  return { set, remaining: 0, lo: 0, hi: 0 };
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
