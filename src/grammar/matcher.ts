/**
 * @module The incremental grammar matcher: the set of pushdown stacks that are still alive after
 * the text so far, advanced one byte at a time (UTF-8 decoded here, so a character split across
 * two tokens works). Pure; knows nothing of tokens (trie.ts maps them to bytes).
 *
 * A stack is a path of positions in the compiled grammar, top first; its top is always a CHAR
 * element (the next character it expects), or the stack is empty (the root rule has ended: the
 * text may stop here). Stacks are hash-consed linked lists (a node = position + parent node), so
 * equal stacks are the same node id, stack sets are interned by their sorted node ids, and the
 * step from a set by a code point is computed once and then read from a cache. That is what keeps
 * walking the vocabulary trie cheap: inside a JSON string, every ordinary byte maps the set to
 * itself with one table lookup.
 *
 * Growth is bounded (an attacker chooses the grammar): stacks per set, stack depth and the node
 * count are capped (MATCHER_LIMITS); past a cap the request fails with a GrammarError.
 */
import {
  type CharClass,
  classMatches,
  classMatchesRange,
  ELEMENT,
  type Grammar,
  GrammarError,
} from "./parse.ts";

/** Bounds on one matcher (why: far above JSON schemas' needs; they cap an attacker's grammar). */
export const MATCHER_LIMITS = {
  /** Live stacks in one set (an ambiguous grammar multiplies them). */
  maxStacks: 512,
  /** Positions on one stack (JSON nesting depth is about a third of it). */
  maxDepth: 3072,
  /** Stack nodes created over a whole generation. */
  maxNodes: 1 << 21,
  /** Distinct stack sets over a whole generation (each holds step caches: about 1 KiB). */
  maxSets: 1 << 16,
  /**
   * Stack expansions and class tests in one step (one token check or one vocabulary walk), about
   * 1 µs each. Why this much: the nested-object schema of benchmarks/grammar needs under 7000, a
   * 16-branch anyOf of objects about 94000 on a cold walk; a grammar built to make steps slow is
   * stopped within about a second of CPU (its request fails; the batch waits that long once).
   */
  maxWorkPerStep: 1 << 20,
} as const;

/** An interned set of stacks. */
export interface StackSet {
  readonly id: number;
  /** Node ids, sorted; node 0 is the empty stack. */
  readonly stacks: Int32Array;
  /** True when some stack is empty: the text may end here. */
  readonly accepting: boolean;
  /** True when every stack is empty: nothing can follow. */
  readonly done: boolean;
  /** Step cache for ASCII code points (undefined = not computed, null = dead). */
  readonly ascii: (StackSet | null | undefined)[];
  /** Step cache for other code points. */
  readonly other: Map<number, StackSet | null>;
  /** Cache of partial-character checks, keyed lo * 2^21 + hi. */
  readonly partial: Map<number, boolean>;
  /** ASCII bytes grouped by the set they lead to (computed on first use). */
  groups?: StepGroups;
}

/** A set's ASCII bytes grouped by successor (e.g. "one more string character" vs `"`). */
export interface StepGroups {
  /** Group of each byte 0..127 (-1: the byte is refused). */
  readonly groupOf: Int16Array;
  /** 4 words per group: bit b of word b >> 5 set when byte b is in the group. */
  readonly masks: Uint32Array;
  /** The successor of each group. */
  readonly next: readonly StackSet[];
}

/**
 * A matcher position: the stack set plus a partly read UTF-8 character. `remaining` is the
 * number of continuation bytes still expected (0: at a character boundary), and [lo, hi] the
 * code points the character can still become.
 */
export interface MatchState {
  readonly set: StackSet;
  readonly remaining: number;
  readonly lo: number;
  readonly hi: number;
}

const EMPTY_STACK = 0;

/** The stacks of one generation over one compiled grammar (mutable caches; one per request). */
export class GrammarRuntime {
  readonly grammar: Grammar;
  readonly #kinds: Uint8Array;
  readonly #args: Int32Array;
  readonly #classes: readonly CharClass[];
  // node arrays: position, parent, depth (node 0 = empty stack)
  #pos: Int32Array = new Int32Array(1024);
  #parent: Int32Array = new Int32Array(1024);
  #depth: Int32Array = new Int32Array(1024);
  #nNodes = 1;
  readonly #nodeIds = new Map<number, number>();
  readonly #sets = new Map<string, StackSet>();
  #work = 0;
  /** The set before any text. */
  readonly start: MatchState;

  /**
   * @param grammar the compiled grammar.
   * @throws {GrammarError} if the start state already exceeds MATCHER_LIMITS.
   */
  constructor(grammar: Grammar) {
    this.grammar = grammar;
    this.#kinds = grammar.kinds;
    this.#args = grammar.args;
    this.#classes = grammar.classes;
    const out = new Set<number>();
    this.#expandRule(grammar.root, EMPTY_STACK, out, new Set());
    this.start = { set: this.#intern(out), remaining: 0, lo: 0, hi: 0 };
  }

  #node(pos: number, parent: number): number {
    const key = parent * 0x200000 + pos;
    let id = this.#nodeIds.get(key);
    if (id !== undefined) return id;
    const depth = this.#depth[parent]! + 1;
    if (depth > MATCHER_LIMITS.maxDepth) {
      throw new GrammarError(
        `Cannot match grammar: nesting deeper than ${MATCHER_LIMITS.maxDepth} levels`,
      );
    }
    if (this.#nNodes >= MATCHER_LIMITS.maxNodes) {
      throw new GrammarError("Cannot match grammar: too many matcher states");
    }
    if (this.#nNodes === this.#pos.length) this.#grow();
    id = this.#nNodes++;
    this.#pos[id] = pos;
    this.#parent[id] = parent;
    this.#depth[id] = depth;
    this.#nodeIds.set(key, id);
    return id;
  }

  #grow(): void {
    const n = this.#pos.length * 2;
    const grow = (a: Int32Array) => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.#pos = grow(this.#pos);
    this.#parent = grow(this.#parent);
    this.#depth = grow(this.#depth);
  }

  // the stack after the element at `pos` (pop if it was the last of its alternative)
  #after(pos: number, parent: number): number {
    const k = this.#kinds[pos + 1]!;
    return k === ELEMENT.END || k === ELEMENT.ALT ? parent : this.#node(pos + 1, parent);
  }

  // push every alternative of rule r on `base` and expand until CHAR tops or empty stacks
  #expandRule(r: number, base: number, out: Set<number>, seen: Set<number>): void {
    let at = this.grammar.ruleStart[r]!;
    for (;;) {
      const k = this.#kinds[at]!;
      if (k === ELEMENT.END || k === ELEMENT.ALT) this.#expand(base, out, seen);
      else this.#expand(this.#node(at, base), out, seen);
      while (this.#kinds[at] !== ELEMENT.END && this.#kinds[at] !== ELEMENT.ALT) at++;
      if (this.#kinds[at] === ELEMENT.END) return;
      at++;
    }
  }

  #expand(node: number, out: Set<number>, seen: Set<number>): void {
    if (seen.has(node)) return;
    seen.add(node);
    if (++this.#work > MATCHER_LIMITS.maxWorkPerStep) {
      throw new GrammarError(
        "Cannot match grammar: one step needs more work than allowed (the grammar is too ambiguous)",
      );
    }
    if (node === EMPTY_STACK) {
      out.add(node);
      return;
    }
    const pos = this.#pos[node]!;
    if (this.#kinds[pos] === ELEMENT.CHAR) {
      out.add(node);
      if (out.size > MATCHER_LIMITS.maxStacks) {
        throw new GrammarError(
          `Cannot match grammar: more than ${MATCHER_LIMITS.maxStacks} ambiguous parses`,
        );
      }
      return;
    }
    // REF (the parser never leaves ALT/END at a stack top)
    this.#expandRule(this.#args[pos]!, this.#after(pos, this.#parent[node]!), out, seen);
  }

  #intern(out: Set<number>): StackSet {
    const stacks = Int32Array.from(out).sort();
    const key = stacks.join(",");
    let set = this.#sets.get(key);
    if (set) return set;
    if (this.#sets.size >= MATCHER_LIMITS.maxSets) {
      throw new GrammarError("Cannot match grammar: too many matcher states");
    }
    set = {
      id: this.#sets.size,
      stacks,
      accepting: stacks[0] === EMPTY_STACK,
      done: stacks.length === 1 && stacks[0] === EMPTY_STACK,
      ascii: new Array<StackSet | null | undefined>(128),
      other: new Map(),
      partial: new Map(),
    };
    this.#sets.set(key, set);
    return set;
  }

  /** Stack expansions and class tests since the last `beginStep()` (tests, benchmarks). */
  get work(): number {
    return this.#work;
  }

  /** Distinct stack sets so far. */
  get setCount(): number {
    return this.#sets.size;
  }

  /** Stack nodes so far. */
  get nodeCount(): number {
    return this.#nNodes;
  }

  /** Starts a step: the work bound (MATCHER_LIMITS.maxWorkPerStep) counts from here. */
  beginStep(): void {
    this.#work = 0;
  }

  /**
   * The set after one code point (cached).
   *
   * @param set the current set.
   * @param cp the code point.
   * @returns the next set, or null when no stack accepts it.
   * @throws {GrammarError} past MATCHER_LIMITS.
   */
  advance(set: StackSet, cp: number): StackSet | null {
    const cached = cp < 128 ? set.ascii[cp] : set.other.get(cp);
    if (cached !== undefined) return cached;
    const out = new Set<number>();
    const seen = new Set<number>();
    // each stack's class test counts as work too (a set of many stacks is costly to step)
    this.#work += set.stacks.length;
    for (const node of set.stacks) {
      if (node === EMPTY_STACK) continue;
      const pos = this.#pos[node]!;
      if (!classMatches(this.#classes[this.#args[pos]!]!, cp)) continue;
      this.#expand(this.#after(pos, this.#parent[node]!), out, seen);
    }
    const next = out.size === 0 ? null : this.#intern(out);
    if (cp < 128) set.ascii[cp] = next;
    else set.other.set(cp, next);
    return next;
  }

  /**
   * The set's ASCII bytes grouped by successor (cached on the set). Inside a JSON string, the
   * ordinary characters form one group (leading back to the set for `char*`, or to the next
   * position of a counted `char{0,n}`); the trie walk uses the groups to take whole subtrees of
   * such characters at once.
   *
   * @param set the set.
   * @returns the groups.
   * @throws {GrammarError} past MATCHER_LIMITS.
   */
  groups(set: StackSet): StepGroups {
    if (set.groups) return set.groups;
    const groupOf = new Int16Array(128).fill(-1);
    const next: StackSet[] = [];
    for (let b = 0; b < 128; b++) {
      const n = this.advance(set, b);
      if (n === null) continue;
      let g = next.indexOf(n);
      if (g < 0) g = next.push(n) - 1;
      groupOf[b] = g;
    }
    const masks = new Uint32Array(4 * next.length);
    for (let b = 0; b < 128; b++) {
      const g = groupOf[b]!;
      if (g >= 0) masks[4 * g + (b >> 5)]! |= 1 << (b & 31);
    }
    set.groups = { groupOf, masks, next };
    return set.groups;
  }

  /**
   * Whether some stack can take a character in [lo, hi] (cached).
   *
   * @param set the current set.
   * @param lo lowest code point the partial character can become.
   * @param hi highest.
   * @returns true if one may match.
   */
  canTake(set: StackSet, lo: number, hi: number): boolean {
    const key = lo * 0x200000 + hi;
    const cached = set.partial.get(key);
    if (cached !== undefined) return cached;
    let ok = false;
    for (const node of set.stacks) {
      if (node === EMPTY_STACK) continue;
      const cls = this.#classes[this.#args[this.#pos[node]!]!]!;
      if (classMatchesRange(cls, lo, hi)) {
        ok = true;
        break;
      }
    }
    set.partial.set(key, ok);
    return ok;
  }

  /**
   * The state after one byte.
   *
   * @param state the current state.
   * @param b a byte (0..255).
   * @returns the next state, or null when the byte cannot follow (the grammar refuses the
   *   character, or the bytes are not valid UTF-8).
   * @throws {GrammarError} past MATCHER_LIMITS.
   */
  step(state: MatchState, b: number): MatchState | null {
    if (state.remaining === 0) {
      if (b < 0x80) {
        const set = this.advance(state.set, b);
        return set && (set === state.set ? state : { set, remaining: 0, lo: 0, hi: 0 });
      }
      const lead = utf8Lead(b);
      if (lead === null) return null;
      if (!this.canTake(state.set, lead.lo, lead.hi)) return null;
      return { set: state.set, remaining: lead.remaining, lo: lead.lo, hi: lead.hi };
    }
    if ((b & 0xc0) !== 0x80 || !validContinuation(state, b)) return null;
    const remaining = state.remaining - 1;
    const lo = state.lo | ((b & 0x3f) << (6 * remaining));
    if (remaining > 0) {
      const hi = Math.min(lo | ((1 << (6 * remaining)) - 1), 0x10ffff);
      if (!this.canTake(state.set, lo, hi)) return null;
      return { set: state.set, remaining, lo, hi };
    }
    const set = this.advance(state.set, lo);
    return set && { set, remaining: 0, lo: 0, hi: 0 };
  }

  /**
   * The state after a run of bytes.
   *
   * @param state the start.
   * @param bytes the bytes.
   * @returns the state after them, or null when one is refused.
   * @throws {GrammarError} past MATCHER_LIMITS.
   */
  stepBytes(state: MatchState, bytes: Uint8Array): MatchState | null {
    let s: MatchState | null = state;
    for (let i = 0; i < bytes.length && s !== null; i++) s = this.step(s, bytes[i]!);
    return s;
  }
}

/**
 * The range a UTF-8 lead byte starts, or null for a byte that cannot start a character.
 *
 * @param b a byte >= 0x80.
 * @returns continuation bytes still to come and the code point range.
 */
export function utf8Lead(b: number): { remaining: number; lo: number; hi: number } | null {
  // lo starts at the smallest valid code point of the length: the bits the continuation bytes
  // add always include it for a valid sequence, so OR-ing them in stays exact
  if (b >= 0xc2 && b <= 0xdf) {
    const lo = (b & 0x1f) << 6;
    return { remaining: 1, lo, hi: lo | 0x3f };
  }
  if (b >= 0xe0 && b <= 0xef) {
    const lo = (b & 0x0f) << 12;
    return { remaining: 2, lo: Math.max(lo, 0x800), hi: lo | 0xfff };
  }
  if (b >= 0xf0 && b <= 0xf4) {
    const lo = (b & 0x07) << 18;
    return { remaining: 3, lo: Math.max(lo, 0x10000), hi: Math.min(lo | 0x3ffff, 0x10ffff) };
  }
  return null; // ASCII is not a lead; 0x80-0xC1 and 0xF5-0xFF never start a character
}

// The first continuation byte rules out overlong forms, surrogates and code points above
// U+10FFFF (RFC 3629 section 4): E0 needs A0-BF, ED 80-9F, F0 90-BF, F4 80-8F. A 3-byte
// character's first continuation is the only point with remaining 2 and lo < 0x10000.
function validContinuation(state: MatchState, b: number): boolean {
  if (state.remaining === 2 && state.lo < 0x10000) {
    const lead = state.lo >> 12;
    if (lead === 0x0) return b >= 0xa0;
    if (lead === 0xd) return b <= 0x9f;
    return true;
  }
  if (state.remaining === 3) {
    const lead = state.lo >> 18;
    if (lead === 0) return b >= 0x90;
    if (lead === 4) return b <= 0x8f;
  }
  return true;
}
