/**
 * @module GBNF (the grammar syntax of llama.cpp's `grammar` field) -> a compiled grammar: flat
 * element arrays the matcher walks. Pure; must not touch the vocabulary or sample anything.
 *
 * Syntax accepted (llama.cpp grammars/README.md):
 *   rule      name ::= alternatives        names are [A-Za-z0-9_-]+; `root` is the start rule
 *   alts      seq ("|" seq)*               a newline ends a rule unless inside ( )
 *   item      "literal" | [class] | [^class] | . | name | ( alts )
 *   postfix   * + ? {m} {m,} {m,n}
 *   escapes   \n \r \t \\ \" \[ \] \- \^ \xHH \uHHHH \UHHHHHHHH (in literals and classes)
 *   comments  # to the end of the line
 * llama.cpp's token syntax (`<[id]>`, `<think>`) is refused with an error naming it.
 *
 * Compiled form. Each rule is a run of elements: alternative, ALT, alternative, ..., END. An
 * element is CHAR (arg = a character class id) or REF (arg = a rule id). Repetitions are lowered
 * to helper rules: x* -> S ::= x S | ε (tail recursive, so the matcher's stacks do not grow),
 * x{m,n} -> m copies then a chain of n-m optional rules. Groups become helper rules.
 *
 * Attacker-controlled input (the API and peers pass it in): the text length, the rule count, the
 * element count and every repetition bound are limited (GRAMMAR_LIMITS); left recursion, which
 * would make the matcher loop forever, is refused here; the matcher bounds its own growth.
 */
import { AriaError } from "../shared/errors.ts";

/** A grammar cannot be parsed, is too large, or cannot be matched (HTTP 400 at the API). */
export class GrammarError extends AriaError {
  /**
   * @param message what is wrong, with the place (e.g. `at line 3`).
   * @param options standard error options.
   */
  constructor(message: string, options?: ErrorOptions) {
    super("GRAMMAR_INVALID", message, options);
  }
}

/** Element kinds of the compiled grammar. */
export const ELEMENT = { END: 0, ALT: 1, REF: 2, CHAR: 3 } as const;

/** Bounds on a grammar (why: each is far above what JSON schemas need, and caps the work). */
export const GRAMMAR_LIMITS = {
  /** Characters of GBNF text (the API and peer frames carry it). */
  maxChars: 128 * 1024,
  /** Rules after lowering groups and repetitions. */
  maxRules: 16384,
  /** Elements after lowering. */
  maxElements: 262144,
  /** The largest m or n of {m,n}. */
  maxRepeat: 4096,
  /** Nesting of ( ) groups (bounds the parser's recursion). */
  maxNesting: 64,
} as const;

/** A character class: sorted, merged, inclusive code point ranges, maybe negated. */
export interface CharClass {
  /** lo0, hi0, lo1, hi1, ... sorted and non-overlapping. */
  readonly ranges: Int32Array;
  readonly negated: boolean;
  /** 1 where the ASCII code point matches. */
  readonly ascii: Uint8Array;
}

/** A compiled grammar (immutable; shared by every matcher built from it). */
export interface Grammar {
  /** ELEMENT kind of each element. */
  readonly kinds: Uint8Array;
  /** Class id (CHAR) or rule id (REF); 0 for ALT/END. */
  readonly args: Int32Array;
  /** Index of each rule's first element. */
  readonly ruleStart: Int32Array;
  /** Rule names (helper rules get `name-N`). */
  readonly ruleNames: readonly string[];
  readonly classes: readonly CharClass[];
  /** Id of `root`. */
  readonly root: number;
}

// ---- syntax tree ----

type Item =
  | { t: "chars"; cls: number }
  | { t: "ref"; name: string; line: number }
  | { t: "group"; alts: Item[][] }
  | { t: "rep"; item: Item; min: number; max: number };

const ANY_CLASS_KEY = "^";

class Parser {
  #pos = 0;
  #line = 1;
  #depth = 0;
  readonly classKeys = new Map<string, number>();
  readonly classes: CharClass[] = [];
  readonly rules = new Map<string, { alts: Item[][]; line: number }>();

  constructor(readonly src: string) {}

  fail(what: string): never {
    throw new GrammarError(`Cannot parse grammar at line ${this.#line}: ${what}`);
  }

  parse(): void {
    this.#space(true);
    while (this.#pos < this.src.length) {
      const line = this.#line;
      const name = this.#name();
      this.#space(false);
      if (!this.src.startsWith("::=", this.#pos)) this.fail(`expected "::=" after "${name}"`);
      this.#pos += 3;
      this.#space(false);
      const alts = this.#alternatives(false);
      if (this.rules.has(name)) this.fail(`rule "${name}" is defined twice`);
      this.rules.set(name, { alts, line });
      this.#endOfRule();
      this.#space(true);
    }
  }

  #endOfRule(): void {
    const c = this.src[this.#pos];
    if (c === undefined) return;
    if (c === "\n" || c === "\r") return;
    this.fail(`unexpected "${c}"`);
  }

  // whitespace and comments; newlines only when `newlines` (inside groups, between rules)
  #space(newlines: boolean): void {
    const s = this.src;
    while (this.#pos < s.length) {
      const c = s[this.#pos]!;
      if (c === " " || c === "\t") this.#pos++;
      else if (c === "#") { while (this.#pos < s.length && s[this.#pos] !== "\n") this.#pos++; }
      else if (newlines && (c === "\n" || c === "\r")) {
        if (c === "\n") this.#line++;
        this.#pos++;
      } else return;
    }
  }

  #name(): string {
    const m = /^[A-Za-z0-9_-]+/.exec(this.src.slice(this.#pos, this.#pos + 256));
    if (!m) this.fail(`expected a rule name, found "${this.src.slice(this.#pos, this.#pos + 10)}"`);
    this.#pos += m[0].length;
    return m[0];
  }

  #alternatives(nested: boolean): Item[][] {
    const alts: Item[][] = [this.#sequence(nested)];
    while (this.src[this.#pos] === "|") {
      this.#pos++;
      this.#space(true);
      alts.push(this.#sequence(nested));
    }
    return alts;
  }

  #sequence(nested: boolean): Item[] {
    const items: Item[] = [];
    for (;;) {
      const item = this.#item(nested);
      if (item === undefined) return items;
      items.push(this.#postfix(item, nested));
    }
  }

  #item(nested: boolean): Item | undefined {
    const c = this.src[this.#pos];
    if (c === '"') return this.#literal(nested);
    if (c === "[") return this.#classItem(nested);
    if (c === ".") {
      this.#pos++;
      this.#space(nested);
      return { t: "chars", cls: this.#classId([], true, ANY_CLASS_KEY) };
    }
    if (c === "(") return this.#group(nested);
    if (c === "<") this.fail("token references (<...>) are not supported");
    if (c !== undefined && /[A-Za-z0-9_-]/.test(c)) {
      const line = this.#line;
      const name = this.#name();
      this.#space(nested);
      if (this.src.startsWith("::=", this.#pos)) this.fail(`missing newline before "${name}"`);
      return { t: "ref", name, line };
    }
    return undefined;
  }

  #group(nested: boolean): Item {
    if (++this.#depth > GRAMMAR_LIMITS.maxNesting) {
      this.fail(`groups nested deeper than ${GRAMMAR_LIMITS.maxNesting}`);
    }
    this.#pos++;
    this.#space(true);
    const alts = this.#alternatives(true);
    if (this.src[this.#pos] !== ")") this.fail('expected ")"');
    this.#pos++;
    this.#depth--;
    this.#space(nested);
    return { t: "group", alts };
  }

  #postfix(item: Item, nested: boolean): Item {
    for (;;) {
      const c = this.src[this.#pos];
      let min: number;
      let max: number;
      if (c === "*") [min, max] = [0, Infinity];
      else if (c === "+") [min, max] = [1, Infinity];
      else if (c === "?") [min, max] = [0, 1];
      else if (c === "{") {
        [min, max] = this.#braces();
        this.#space(nested);
        item = { t: "rep", item, min, max };
        continue;
      } else return item;
      this.#pos++;
      this.#space(nested);
      item = { t: "rep", item, min, max };
    }
  }

  #braces(): [number, number] {
    const m = /^\{\s*(\d{1,9})\s*(?:(,)\s*(\d{1,9})?\s*)?\}/.exec(
      this.src.slice(this.#pos, this.#pos + 40),
    );
    if (!m) this.fail('expected "{m}", "{m,}" or "{m,n}"');
    this.#pos += m[0].length;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === undefined ? Infinity : Number(m[3]);
    if (min > max) this.fail(`repetition {${min},${max}} has min > max`);
    if (min > GRAMMAR_LIMITS.maxRepeat || (max !== Infinity && max > GRAMMAR_LIMITS.maxRepeat)) {
      this.fail(`repetition bound above ${GRAMMAR_LIMITS.maxRepeat}`);
    }
    return [min, max];
  }

  #literal(nested: boolean): Item {
    this.#pos++;
    const items: Item[] = [];
    for (;;) {
      const c = this.src[this.#pos];
      if (c === undefined || c === "\n") this.fail("unterminated string literal");
      if (c === '"') break;
      const cp = this.#char();
      items.push({ t: "chars", cls: this.#classId([cp, cp], false) });
    }
    this.#pos++;
    this.#space(nested);
    // a literal is a group of one sequence (a single item when it is one character)
    return items.length === 1 ? items[0]! : { t: "group", alts: [items] };
  }

  #classItem(nested: boolean): Item {
    this.#pos++;
    const negated = this.src[this.#pos] === "^";
    if (negated) this.#pos++;
    const ranges: number[] = [];
    while (this.src[this.#pos] !== "]") {
      if (this.#pos >= this.src.length || this.src[this.#pos] === "\n") {
        this.fail("unterminated character class");
      }
      const lo = this.#char();
      let hi = lo;
      if (this.src[this.#pos] === "-" && this.src[this.#pos + 1] !== "]") {
        this.#pos++;
        hi = this.#char();
        if (hi < lo) this.fail("character range is reversed");
      }
      ranges.push(lo, hi);
    }
    this.#pos++;
    this.#space(nested);
    return { t: "chars", cls: this.#classId(ranges, negated) };
  }

  // one (possibly escaped) code point of a literal or class
  #char(): number {
    const s = this.src;
    const cp = s.codePointAt(this.#pos)!;
    if (cp !== 0x5c) {
      this.#pos += cp > 0xffff ? 2 : 1;
      return cp;
    }
    const e = s[this.#pos + 1];
    this.#pos += 2;
    const simple: Record<string, number> = {
      n: 10,
      r: 13,
      t: 9,
      "\\": 0x5c,
      '"': 0x22,
      "[": 0x5b,
      "]": 0x5d,
      "-": 0x2d,
      "^": 0x5e,
    };
    if (e !== undefined && e in simple) return simple[e]!;
    const width = e === "x" ? 2 : e === "u" ? 4 : e === "U" ? 8 : 0;
    if (width === 0) this.fail(`unknown escape "\\${e ?? ""}"`);
    const hex = s.slice(this.#pos, this.#pos + width);
    if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex)) this.fail(`bad escape "\\${e}${hex}"`);
    this.#pos += width;
    const v = Number.parseInt(hex, 16);
    if (v > 0x10ffff) this.fail(`code point ${hex} is above U+10FFFF`);
    return v;
  }

  #classId(ranges: number[], negated: boolean, key?: string): number {
    const merged = mergeRanges(ranges);
    const k = key ?? `${negated ? "^" : ""}${merged.join(",")}`;
    let id = this.classKeys.get(k);
    if (id === undefined) {
      id = this.classes.length;
      const ascii = new Uint8Array(128);
      for (let cp = 0; cp < 128; cp++) ascii[cp] = inRanges(merged, cp) !== negated ? 1 : 0;
      this.classes.push({ ranges: Int32Array.from(merged), negated, ascii });
      this.classKeys.set(k, id);
    }
    return id;
  }
}

function mergeRanges(ranges: readonly number[]): number[] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < ranges.length; i += 2) pairs.push([ranges[i]!, ranges[i + 1]!]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of pairs) {
    const last = out.length - 1;
    if (last > 0 && lo <= out[last]! + 1) out[last] = Math.max(out[last]!, hi);
    else out.push(lo, hi);
  }
  return out;
}

function inRanges(ranges: ArrayLike<number>, cp: number): boolean {
  for (let i = 0; i < ranges.length; i += 2) {
    if (cp >= ranges[i]! && cp <= ranges[i + 1]!) return true;
  }
  return false;
}

/**
 * Whether a class matches a code point.
 *
 * @param cls the class.
 * @param cp a code point.
 * @returns true when it matches.
 */
export function classMatches(cls: CharClass, cp: number): boolean {
  if (cp < 128) return cls.ascii[cp] === 1;
  return inRanges(cls.ranges, cp) !== cls.negated;
}

/**
 * Whether a class matches some code point in [lo, hi] (for a partial UTF-8 character).
 *
 * @param cls the class.
 * @param lo lowest possible code point.
 * @param hi highest possible code point.
 * @returns true when one of them may match.
 */
export function classMatchesRange(cls: CharClass, lo: number, hi: number): boolean {
  const r = cls.ranges;
  if (!cls.negated) {
    for (let i = 0; i < r.length; i += 2) if (r[i]! <= hi && r[i + 1]! >= lo) return true;
    return false;
  }
  // negated: some point of [lo, hi] lies outside every (sorted, merged) range
  let next = lo;
  for (let i = 0; i < r.length; i += 2) {
    if (r[i]! > next) break;
    if (r[i + 1]! >= next) next = r[i + 1]! + 1;
  }
  return next <= hi;
}

// ---- lowering ----

/** A lowered symbol: a class (>= 0: CHAR class id) or a rule (< 0: -1 - rule id). */
type Symbol = number;

class Lowering {
  readonly names: string[] = [];
  readonly bodies: Symbol[][][] = [];
  readonly ids = new Map<string, number>();
  #elements = 0;

  constructor(readonly parser: Parser) {}

  declare(name: string): number {
    const id = this.names.length;
    if (id >= GRAMMAR_LIMITS.maxRules) {
      throw new GrammarError(`Cannot compile grammar: more than ${GRAMMAR_LIMITS.maxRules} rules`);
    }
    this.names.push(name);
    this.bodies.push([]);
    return id;
  }

  define(id: number, alts: Symbol[][]): void {
    for (const a of alts) this.#elements += a.length + 1;
    if (this.#elements > GRAMMAR_LIMITS.maxElements) {
      throw new GrammarError(
        `Cannot compile grammar: more than ${GRAMMAR_LIMITS.maxElements} elements`,
      );
    }
    this.bodies[id] = alts;
  }

  helper(base: string, alts: Symbol[][]): Symbol {
    const id = this.declare(`${base}-${this.names.length}`);
    this.define(id, alts);
    return -1 - id;
  }

  seq(items: readonly Item[], base: string): Symbol[] {
    const out: Symbol[] = [];
    for (const item of items) this.#item(item, base, out);
    return out;
  }

  #item(item: Item, base: string, out: Symbol[]): void {
    if (item.t === "chars") out.push(item.cls);
    else if (item.t === "ref") {
      const id = this.ids.get(item.name);
      if (id === undefined) {
        throw new GrammarError(
          `Cannot compile grammar at line ${item.line}: rule "${item.name}" is not defined`,
        );
      }
      out.push(-1 - id);
    } else if (item.t === "group") {
      if (item.alts.length === 1) out.push(...this.seq(item.alts[0]!, base));
      else out.push(this.helper(base, item.alts.map((a) => this.seq(a, base))));
    } else this.#repeat(item, base, out);
  }

  #repeat(item: Extract<Item, { t: "rep" }>, base: string, out: Symbol[]): void {
    const body: Symbol[] = [];
    this.#item(item.item, base, body);
    for (let i = 0; i < item.min; i++) out.push(...body);
    if (item.max === Infinity) {
      // S ::= body S | ε
      const id = this.declare(`${base}-${this.names.length}`);
      this.define(id, [[...body, -1 - id], []]);
      out.push(-1 - id);
      return;
    }
    // a chain of optional rules: O1 ::= body | ε, Ok ::= body O(k-1) | ε
    let tail: Symbol | undefined;
    for (let k = item.min; k < item.max; k++) {
      tail = this.helper(base, [tail === undefined ? body : [...body, tail], []]);
    }
    if (tail !== undefined) out.push(tail);
  }
}

/**
 * Parses and compiles a GBNF grammar.
 *
 * @param text the grammar (llama.cpp syntax, see the module comment).
 * @returns the compiled grammar.
 * @throws {GrammarError} on a syntax error, an undefined rule, a missing `root`, left recursion,
 *   or a grammar beyond GRAMMAR_LIMITS; the message names the place.
 * @example
 * ```ts
 * const g = parseGrammar('root ::= "yes" | "no"');
 * ```
 */
export function parseGrammar(text: string): Grammar {
  if (text.length > GRAMMAR_LIMITS.maxChars) {
    throw new GrammarError(
      `Cannot parse grammar: ${text.length} characters, at most ${GRAMMAR_LIMITS.maxChars}`,
    );
  }
  const parser = new Parser(text);
  parser.parse();
  if (!parser.rules.has("root")) throw new GrammarError('Cannot parse grammar: no "root" rule');
  const low = new Lowering(parser);
  for (const name of parser.rules.keys()) low.ids.set(name, low.declare(name));
  for (const [name, rule] of parser.rules) {
    low.define(low.ids.get(name)!, rule.alts.map((a) => low.seq(a, name)));
  }
  checkLeftRecursion(low.names, low.bodies);
  return flatten(low, parser.classes, low.ids.get("root")!);
}

function flatten(low: Lowering, classes: CharClass[], root: number): Grammar {
  const kinds: number[] = [];
  const args: number[] = [];
  const ruleStart = new Int32Array(low.bodies.length);
  low.bodies.forEach((alts, r) => {
    ruleStart[r] = kinds.length;
    alts.forEach((alt, i) => {
      if (i > 0) kinds.push(ELEMENT.ALT), args.push(0);
      for (const s of alt) {
        if (s >= 0) kinds.push(ELEMENT.CHAR), args.push(s);
        else kinds.push(ELEMENT.REF), args.push(-1 - s);
      }
    });
    kinds.push(ELEMENT.END), args.push(0);
  });
  return {
    kinds: Uint8Array.from(kinds),
    args: Int32Array.from(args),
    ruleStart,
    ruleNames: low.names,
    classes,
    root,
  };
}

// A rule that can reach itself at the leftmost position (through nullable prefixes) would make
// the matcher expand forever; refuse it here (llama.cpp refuses it too).
function checkLeftRecursion(names: readonly string[], bodies: readonly Symbol[][][]): void {
  const nullable = new Uint8Array(bodies.length);
  for (let changed = true; changed;) {
    changed = false;
    bodies.forEach((alts, r) => {
      if (nullable[r]) return;
      if (alts.some((a) => a.every((s) => s < 0 && nullable[-1 - s]))) {
        nullable[r] = 1;
        changed = true;
      }
    });
  }
  const left = bodies.map((alts) => {
    const out: number[] = [];
    for (const a of alts) {
      for (const s of a) {
        if (s >= 0) break;
        out.push(-1 - s);
        if (!nullable[-1 - s]) break;
      }
    }
    return out;
  });
  const state = new Uint8Array(bodies.length); // 0 new, 1 on the path, 2 done
  for (let r = 0; r < bodies.length; r++) {
    if (state[r] !== 0) continue;
    // iterative DFS (the rule graph can be deep)
    const path: [number, number][] = [[r, 0]];
    state[r] = 1;
    while (path.length > 0) {
      const top = path[path.length - 1]!;
      const next = left[top[0]]![top[1]++];
      if (next === undefined) {
        state[top[0]] = 2;
        path.pop();
      } else if (state[next] === 1) {
        throw new GrammarError(
          `Cannot compile grammar: rule "${names[next]}" is left recursive`,
        );
      } else if (state[next] === 0) {
        state[next] = 1;
        path.push([next, 0]);
      }
    }
  }
}
