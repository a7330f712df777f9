/**
 * @module JSON Schema -> GBNF, for `response_format: {type: "json_schema"}` (and `json_object`).
 * Pure; produces grammar text (the form that travels to peers), never samples.
 *
 * Supported: type (one or an array), properties / required / additionalProperties (false, true
 * or a schema; absent = no extra keys, like llama.cpp, which still validates), items /
 * minItems / maxItems, enum, const, minLength / maxLength, format (date, time, date-time, uuid),
 * integer minimum / maximum / exclusiveMinimum / exclusiveMaximum, number minimum 0, anyOf,
 * oneOf (as anyOf: the grammar cannot check that exactly one branch matches, so give disjoint
 * branches), $ref to "#", "#/$defs/…" or "#/definitions/…" (recursion allowed), and the
 * annotations title, description, default, examples, $schema, $id, $comment, deprecated,
 * readOnly, writeOnly. Anything else is refused with a JsonSchemaError naming the keywords and
 * where they are, so a client never gets output that ignores part of its schema.
 *
 * Output layout: properties in schema order (an optional one may be left out), then extra keys. Whitespace between tokens is limited to `space` (nothing, one space,
 * or a newline and up to 20 spaces/tabs, as llama.cpp's converter allows), so a small model
 * cannot run away with blank output.
 */
import { AriaError } from "../shared/errors.ts";
import { GRAMMAR_LIMITS } from "./parse.ts";

/** A schema uses something the converter cannot enforce (HTTP 400 at the API). */
export class JsonSchemaError extends AriaError {
  /**
   * @param message what and where, e.g. `Unsupported JSON Schema keywords at #/properties/a: pattern`.
   * @param options standard error options.
   */
  constructor(message: string, options?: ErrorOptions) {
    super("SCHEMA_UNSUPPORTED", message, options);
  }
}

const PRIMITIVES: Record<string, string> = {
  space: '| " " | "\\n" [ \\t]{0,20}',
  boolean: '("true" | "false") space',
  null: '"null" space',
  char: '[^"\\\\\\x00-\\x1F] | "\\\\" (["\\\\/bfnrt] | "u" [0-9a-fA-F]{4})',
  string: '"\\"" char* "\\"" space',
  // one code point: no surrogate escapes, so that length bounds count what JSON Schema counts
  "char-cp":
    '[^"\\\\\\x00-\\x1F] | "\\\\" (["\\\\/bfnrt] | "u" ([0-9a-cA-Ce-fE-F] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2}))',
  "integral-part": "[0] | [1-9] [0-9]{0,15}",
  "decimal-part": "[0-9]{1,16}",
  integer: '"-"? integral-part space',
  number: '"-"? integral-part ("." decimal-part)? ([eE] [-+]? [0-9]{1,2})? space',
  value: "object | array | string | number | boolean | null",
  object: '"{" space (string ":" space value ("," space string ":" space value)*)? "}" space',
  array: '"[" space (value ("," space value)*)? "]" space',
  "date-part": '[0-9]{4} "-" ("0" [1-9] | "1" [0-2]) "-" ("0" [1-9] | [12] [0-9] | "3" [01])',
  "time-part": '([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ("." [0-9]{1,6})? ' +
    '("Z" | [+-] ([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9])',
  "uuid-part": '[0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" ' +
    '[0-9a-fA-F]{4} "-" [0-9a-fA-F]{12}',
};

// which primitive rules each one uses (so that only the needed ones are emitted)
const PRIMITIVE_DEPS: Record<string, readonly string[]> = {
  boolean: ["space"],
  null: ["space"],
  string: ["char", "space"],
  integer: ["integral-part", "space"],
  number: ["integral-part", "decimal-part", "space"],
  value: ["object", "array", "string", "number", "boolean", "null"],
  object: ["string", "value", "space"],
  array: ["value", "space"],
};

const ANNOTATIONS = new Set([
  "title",
  "description",
  "default",
  "examples",
  "$schema",
  "$id",
  "$comment",
  "deprecated",
  "readOnly",
  "writeOnly",
]);

const KEYWORDS_BY_TYPE: Record<string, readonly string[]> = {
  object: ["properties", "required", "additionalProperties"],
  array: ["items", "minItems", "maxItems"],
  string: ["minLength", "maxLength", "format"],
  integer: ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"],
  number: ["minimum"],
  boolean: [],
  null: [],
};

const FORMATS: Record<string, string> = {
  date: "date-part",
  time: "time-part",
  "date-time": 'date-part "T" time-part',
  uuid: "uuid-part",
};

/** Deepest schema nesting (why: bounds the converter's recursion on attacker input). */
const MAX_SCHEMA_DEPTH = 64;

/** Largest integer bound accepted (why: beyond 2^53 JSON numbers lose precision in JS). */
const MAX_INTEGER_BOUND = 1e15;

type Schema = Record<string, unknown>;

class Converter {
  readonly rules = new Map<string, string>();
  readonly #refs = new Map<string, string>();
  #count = 0;
  #depth = 0;

  constructor(readonly root: Schema) {}

  use(name: string): string {
    if (!this.rules.has(name)) {
      this.rules.set(name, PRIMITIVES[name]!);
      for (const dep of PRIMITIVE_DEPS[name] ?? []) this.use(dep);
    }
    return name;
  }

  rule(hint: string, body: string): string {
    const base = hint.replace(/[^A-Za-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40) ||
      "r";
    const name = `${base}-${this.#count++}`;
    this.rules.set(name, body);
    return name;
  }

  visit(schema: unknown, path: string): string {
    if (++this.#depth > MAX_SCHEMA_DEPTH) {
      throw new JsonSchemaError(
        `Unsupported JSON Schema at ${path}: nested deeper than ${MAX_SCHEMA_DEPTH}`,
      );
    }
    try {
      return this.#visit(schema, path);
    } finally {
      this.#depth--;
    }
  }

  #visit(schema: unknown, path: string): string {
    if (schema === true) return this.use("value");
    if (!isObject(schema)) {
      throw new JsonSchemaError(`Cannot convert JSON Schema at ${path}: expected an object`);
    }
    if (typeof schema.$ref === "string") return this.#ref(schema, path);
    for (const key of ["anyOf", "oneOf"] as const) {
      if (key in schema) return this.#anyOf(schema, key, path);
    }
    if ("const" in schema) {
      this.#only(schema, path, ["const"]);
      return this.#literals([schema.const], path);
    }
    if ("enum" in schema) {
      this.#only(schema, path, ["enum", "type"]);
      if (!Array.isArray(schema.enum) || schema.enum.length === 0) {
        throw new JsonSchemaError(
          `Cannot convert JSON Schema at ${path}: enum must be a non-empty array`,
        );
      }
      return this.#literals(schema.enum, path);
    }
    return this.#typed(schema, path);
  }

  // refuses keywords that are neither annotations nor in `allowed`
  #only(schema: Schema, path: string, allowed: readonly string[]): void {
    const extra = Object.keys(schema).filter((k) =>
      !ANNOTATIONS.has(k) && !allowed.includes(k) &&
      !(path === "#" && (k === "$defs" || k === "definitions"))
    );
    if (extra.length > 0) {
      throw new JsonSchemaError(`Unsupported JSON Schema keywords at ${path}: ${extra.join(", ")}`);
    }
  }

  #ref(schema: Schema, path: string): string {
    this.#only(schema, path, ["$ref"]);
    const ref = schema.$ref as string;
    const cached = this.#refs.get(ref);
    if (cached) return cached;
    const m = /^#(?:\/(\$defs|definitions)\/([^/]+))?$/.exec(ref);
    const target = m === null
      ? undefined
      : m[1] === undefined
      ? this.root
      : (this.root[m[1]] as Schema | undefined)?.[decodePointer(m[2]!)];
    if (target === undefined) {
      throw new JsonSchemaError(
        `Cannot resolve $ref "${ref}" at ${path}: only "#", "#/$defs/…" and "#/definitions/…" are supported`,
      );
    }
    // reserve the name first, so that a recursive reference finds it
    const name = this.rule(`ref-${m![2] ?? "root"}`, "");
    this.#refs.set(ref, name);
    this.rules.set(name, this.visit(target, ref));
    return name;
  }

  #anyOf(schema: Schema, key: "anyOf" | "oneOf", path: string): string {
    this.#only(schema, path, [key]);
    const list = schema[key];
    if (!Array.isArray(list) || list.length === 0) {
      throw new JsonSchemaError(
        `Cannot convert JSON Schema at ${path}: ${key} must be a non-empty array`,
      );
    }
    return `(${list.map((s, i) => this.visit(s, `${path}/${key}/${i}`)).join(" | ")})`;
  }

  #literals(values: readonly unknown[], path: string): string {
    const alts = values.map((v) => {
      const text = JSON.stringify(v);
      if (text === undefined) {
        throw new JsonSchemaError(`Cannot convert JSON Schema at ${path}: value is not JSON`);
      }
      return gbnfLiteral(text);
    });
    return `(${alts.join(" | ")}) ${this.use("space")}`;
  }

  #typed(schema: Schema, path: string, checked = false): string {
    let type = schema.type;
    if (type === undefined) {
      type = "properties" in schema || "additionalProperties" in schema ? "object" : undefined;
    }
    if (type === undefined) {
      this.#only(schema, path, []);
      return this.use("value");
    }
    if (Array.isArray(type)) {
      if (type.length === 0) {
        throw new JsonSchemaError(`Cannot convert JSON Schema at ${path}: type is empty`);
      }
      // the types share the keywords: check against all of them once
      this.#only(schema, path, [
        "type",
        ...type.flatMap((t) => KEYWORDS_BY_TYPE[t as string] ?? []),
      ]);
      return `(${type.map((t) => this.#typed({ ...schema, type: t }, path, true)).join(" | ")})`;
    }
    if (typeof type !== "string" || !(type in KEYWORDS_BY_TYPE)) {
      throw new JsonSchemaError(
        `Cannot convert JSON Schema at ${path}: unknown type ${JSON.stringify(type)}`,
      );
    }
    if (!checked) this.#only(schema, path, ["type", ...KEYWORDS_BY_TYPE[type]!]);
    switch (type) {
      case "object":
        return this.#object(schema, path);
      case "array":
        return this.#array(schema, path);
      case "string":
        return this.#string(schema, path);
      case "integer":
        return this.#integer(schema, path);
      case "number":
        return this.#number(schema, path);
      default:
        return this.use(type);
    }
  }

  #object(schema: Schema, path: string): string {
    const props = schema.properties;
    const additional = schema.additionalProperties;
    if (props === undefined && (additional === undefined || additional === true)) {
      return this.use("object");
    }
    if (props !== undefined && !isObject(props)) {
      throw new JsonSchemaError(
        `Cannot convert JSON Schema at ${path}: properties must be an object`,
      );
    }
    const required = new Set(Array.isArray(schema.required) ? schema.required as unknown[] : []);
    const names = Object.keys(props ?? {});
    for (const r of required) {
      if (typeof r !== "string" || !names.includes(r)) {
        throw new JsonSchemaError(
          `Cannot convert JSON Schema at ${path}: required "${String(r)}" is not in properties`,
        );
      }
    }
    const kv = (name: string): { body: string; optional: boolean } => ({
      body: `${gbnfLiteral(JSON.stringify(name))} ${this.use("space")} ":" space ${
        this.visit(props![name], `${path}/properties/${escapePointer(name)}`)
      }`,
      optional: !required.has(name),
    });
    const items = names.map(kv);
    let extra: string | undefined;
    if (additional !== undefined && additional !== false) {
      const value = this.visit(additional, `${path}/additionalProperties`);
      extra = this.rule(`${path}-extra`, `${this.#otherKey(names)} ":" space ${value}`);
    }
    return this.rule(path, `"{" ${this.use("space")} ${this.#list(items, extra, path)} "}" space`);
  }

  // a comma-separated list of items (some optional) followed by any number of `extra`
  #list(
    items: { body: string; optional: boolean }[],
    extra: string | undefined,
    path: string,
  ): string {
    // after[i]: the rest from item i when something came before (each item with a comma)
    let after = extra === undefined ? "" : `("," space ${extra})*`;
    // first[i]: the rest from item i when nothing came before
    let first = extra === undefined ? "" : `(${extra} ("," space ${extra})*)?`;
    for (let i = items.length - 1; i >= 0; i--) {
      const it = items[i]!;
      const next = after;
      const f = it.optional ? `${it.body} ${next} | ${first || '""'}` : `${it.body} ${next}`;
      first = this.rule(`${path}-f`, f);
      after = this.rule(
        `${path}-a`,
        `${it.optional ? `("," space ${it.body})?` : `"," space ${it.body}`} ${next}`,
      );
    }
    return first;
  }

  // a key string that is none of `names` (and uses no escapes, so it cannot spell one)
  #otherKey(names: readonly string[]): string {
    this.use("space");
    type Node = { children: Map<number, Node>; end: boolean };
    const root: Node = { children: new Map(), end: false };
    for (const name of names) {
      let n = root;
      for (const ch of name) {
        const cp = ch.codePointAt(0)!;
        let c = n.children.get(cp);
        if (!c) n.children.set(cp, c = { children: new Map(), end: false });
        n = c;
      }
      n.end = true;
    }
    const plain = this.rule("key-char", '[^"\\\\\\x00-\\x1F]');
    const build = (n: Node): string => {
      const alts: string[] = [];
      if (!n.end) alts.push('"\\"" space');
      for (const [cp, c] of n.children) {
        alts.push(`${gbnfLiteral(String.fromCodePoint(cp))} ${build(c)}`);
      }
      const excluded = [...n.children.keys()].map(classChar).join("");
      alts.push(`[^"\\\\\\x00-\\x1F${excluded}] ${plain}* "\\"" space`);
      return this.rule("key", alts.join(" | "));
    };
    return `"\\"" ${build(root)}`;
  }

  #array(schema: Schema, path: string): string {
    const item = schema.items === undefined
      ? this.use("value")
      : this.visit(schema.items, `${path}/items`);
    const min = bound(schema.minItems, 0, path, "minItems");
    const max = bound(schema.maxItems, Infinity, path, "maxItems");
    if (min > max) {
      throw new JsonSchemaError(`Cannot convert JSON Schema at ${path}: minItems > maxItems`);
    }
    this.use("space");
    if (max === 0) return this.rule(path, '"[" space "]" space');
    const more = `("," space ${item}){${Math.max(0, min - 1)},${max === Infinity ? "" : max - 1}}`;
    const list = `${item} ${more}`;
    return this.rule(path, `"[" space ${min === 0 ? `(${list})?` : list} "]" space`);
  }

  #string(schema: Schema, path: string): string {
    if (schema.format !== undefined) {
      const f = FORMATS[schema.format as string];
      if (f === undefined || "minLength" in schema || "maxLength" in schema) {
        throw new JsonSchemaError(
          `Unsupported JSON Schema format at ${path}: ${
            JSON.stringify(schema.format)
          } (supported: ${Object.keys(FORMATS).join(", ")}, without length bounds)`,
        );
      }
      for (const p of ["date-part", "time-part", "uuid-part"]) if (f.includes(p)) this.use(p);
      return `"\\"" ${f} "\\"" ${this.use("space")}`;
    }
    const min = bound(schema.minLength, 0, path, "minLength");
    const max = bound(schema.maxLength, Infinity, path, "maxLength");
    if (min > max) {
      throw new JsonSchemaError(`Cannot convert JSON Schema at ${path}: minLength > maxLength`);
    }
    if (min === 0 && max === Infinity) return this.use("string");
    this.use("char-cp");
    this.use("space");
    return `"\\"" char-cp{${min},${max === Infinity ? "" : max}} "\\"" space`;
  }

  #integer(schema: Schema, path: string): string {
    const num = (k: string): number | undefined => {
      const v = schema[k];
      if (v === undefined) return undefined;
      if (typeof v !== "number" || !Number.isFinite(v) || Math.abs(v) > MAX_INTEGER_BOUND) {
        throw new JsonSchemaError(
          `Unsupported JSON Schema ${k} at ${path}: expected a number within ±${MAX_INTEGER_BOUND}`,
        );
      }
      return v;
    };
    const los = [num("minimum"), num("exclusiveMinimum")];
    const his = [num("maximum"), num("exclusiveMaximum")];
    let lo = -Infinity;
    let hi = Infinity;
    if (los[0] !== undefined) lo = Math.ceil(los[0]);
    if (los[1] !== undefined) lo = Math.max(lo, Math.floor(los[1]) + 1);
    if (his[0] !== undefined) hi = Math.floor(his[0]);
    if (his[1] !== undefined) hi = Math.min(hi, Math.ceil(his[1]) - 1);
    if (lo > hi) {
      throw new JsonSchemaError(
        `Cannot convert JSON Schema at ${path}: no integer satisfies the bounds`,
      );
    }
    if (lo === -Infinity && hi === Infinity) return this.use("integer");
    const parts: string[] = [];
    if (lo < 0) parts.push(`"-" (${positiveRange(Math.max(1, -Math.min(hi, -1)), -lo)})`);
    if (hi >= 0) parts.push(positiveRange(Math.max(lo, 0), hi));
    return this.rule(path, `(${parts.join(" | ")}) ${this.use("space")}`);
  }

  #number(schema: Schema, path: string): string {
    if (schema.minimum === undefined) return this.use("number");
    if (schema.minimum !== 0) {
      throw new JsonSchemaError(
        `Unsupported JSON Schema minimum at ${path}: numbers support only minimum 0 (use integer for other bounds)`,
      );
    }
    this.use("number");
    return this.rule(path, 'integral-part ("." decimal-part)? ([eE] [-+]? [0-9]{1,2})? space');
  }
}

function bound(v: unknown, fallback: number, path: string, name: string): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw new JsonSchemaError(
      `Cannot convert JSON Schema at ${path}: ${name} must be an integer >= 0`,
    );
  }
  if (v > GRAMMAR_LIMITS.maxRepeat) {
    throw new JsonSchemaError(
      `Unsupported JSON Schema ${name} at ${path}: at most ${GRAMMAR_LIMITS.maxRepeat}`,
    );
  }
  return v;
}

/**
 * GBNF for the decimal integers in [a, b] (0 <= a <= b, b may be Infinity), no leading zeros.
 *
 * @param a lowest.
 * @param b highest.
 * @returns a GBNF expression.
 */
export function positiveRange(a: number, b: number): string {
  if (b === Infinity) {
    const d = String(a).length;
    return `${positiveRange(a, 10 ** d - 1)} | [1-9] [0-9]{${d},15}`;
  }
  const parts: string[] = [];
  for (let len = String(a).length; len <= String(b).length; len++) {
    const lo = Math.max(a, len === 1 ? 0 : 10 ** (len - 1));
    const hi = Math.min(b, 10 ** len - 1);
    if (lo <= hi) parts.push(sameLength(String(lo), String(hi)));
  }
  return parts.join(" | ");
}

// numbers in [lo, hi], both strings of the same length
function sameLength(lo: string, hi: string): string {
  if (lo === hi) return `"${lo}"`;
  const rest = lo.length - 1;
  const any = rest > 0 ? ` [0-9]{${rest}}` : "";
  if (lo.slice(1) === "0".repeat(rest) && hi.slice(1) === "9".repeat(rest)) {
    return `[${lo[0]}-${hi[0]}]${any}`;
  }
  if (lo[0] === hi[0]) return `"${lo[0]}" (${sameLength(lo.slice(1), hi.slice(1))})`;
  const alts = [`"${lo[0]}" (${sameLength(lo.slice(1), "9".repeat(rest))})`];
  const l0 = Number(lo[0]) + 1;
  const h0 = Number(hi[0]) - 1;
  if (l0 <= h0) alts.push(`[${l0}-${h0}]${any}`);
  alts.push(`"${hi[0]}" (${sameLength("0".repeat(rest), hi.slice(1))})`);
  return alts.join(" | ");
}

function isObject(v: unknown): v is Schema {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function decodePointer(s: string): string {
  return s.replaceAll("~1", "/").replaceAll("~0", "~");
}

function escapePointer(s: string): string {
  return s.replaceAll("~", "~0").replaceAll("/", "~1");
}

// one character as it appears inside a GBNF class
function classChar(cp: number): string {
  if (cp < 0x20) return `\\x${cp.toString(16).padStart(2, "0")}`;
  const ch = String.fromCodePoint(cp);
  return ']\\-^"['.includes(ch) ? `\\${ch}` : ch;
}

/**
 * A GBNF string literal matching `text` exactly.
 *
 * @param text any string.
 * @returns the literal, quotes included.
 */
export function gbnfLiteral(text: string): string {
  let out = '"';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, "0")}`;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += "\\uFFFD"; // a lone surrogate cannot be UTF-8
    else out += ch;
  }
  return out + '"';
}

/**
 * Converts a JSON Schema to a GBNF grammar whose sentences are JSON texts valid under it.
 *
 * @param schema the schema (already parsed JSON).
 * @returns GBNF text with a `root` rule.
 * @throws {JsonSchemaError} for keywords or values it cannot enforce (the message names them).
 * @example
 * ```ts
 * jsonSchemaToGrammar({ type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] });
 * ```
 */
export function jsonSchemaToGrammar(schema: unknown): string {
  const c = new Converter(isObject(schema) ? schema : {});
  const root = c.visit(schema, "#");
  const lines = [`root ::= ${root}`];
  for (const [name, body] of c.rules) lines.push(`${name} ::= ${body}`);
  return lines.join("\n") + "\n";
}

/** The grammar of `response_format: {type: "json_object"}`: any JSON object. */
export const JSON_OBJECT_GRAMMAR: string = jsonSchemaToGrammar({ type: "object" });
