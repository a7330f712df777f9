import { describe, expect, test } from "bun:test";
import Ajv2020 from "ajv/dist/2020.js";
import { createRng, type Rng } from "../generation/rng.ts";
import { JSON_OBJECT_GRAMMAR, JsonSchemaError, jsonSchemaToGrammar } from "./json-schema.ts";
import { GrammarRuntime } from "./matcher.ts";
import { parseGrammar } from "./parse.ts";
import { allowedTokens, createVocabTrie, stepToken, type VocabTrie } from "./trie.ts";
import { testVocab } from "./trie.test.ts";

const utf8 = new TextEncoder();

function accepts(grammar: string | GrammarRuntime, text: string): boolean {
  const rt = typeof grammar === "string" ? new GrammarRuntime(parseGrammar(grammar)) : grammar;
  const s = rt.stepBytes(rt.start, utf8.encode(text));
  return s !== null && s.remaining === 0 && s.set.accepting;
}

type S = Record<string, unknown>;

/** A validator for the subset jsonSchemaToGrammar supports (oneOf: exactly one branch). */
function validate(v: unknown, s: unknown, root: S = s as S): boolean {
  if (s === true || s === undefined) return true;
  const sc = s as S;
  if (typeof sc.$ref === "string") {
    const m = /^#(?:\/\$defs\/(.+))?$/.exec(sc.$ref)!;
    return validate(v, m[1] ? (root.$defs as S)[m[1]] : root, root);
  }
  if (sc.anyOf) return (sc.anyOf as unknown[]).some((b) => validate(v, b, root));
  if (sc.oneOf) return (sc.oneOf as unknown[]).filter((b) => validate(v, b, root)).length === 1;
  if ("const" in sc) return JSON.stringify(v) === JSON.stringify(sc.const);
  if (sc.enum) return (sc.enum as unknown[]).some((e) => JSON.stringify(e) === JSON.stringify(v));
  const types = sc.type === undefined ? undefined : ([] as unknown[]).concat(sc.type);
  if (types && !types.some((t) => typeOk(v, t as string))) return false;
  if (typeof v === "string") {
    const n = [...v].length;
    if (typeof sc.minLength === "number" && n < sc.minLength) return false;
    if (typeof sc.maxLength === "number" && n > sc.maxLength) return false;
    const f = { date: /^\d{4}-\d\d-\d\d$/, uuid: /^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/i }[
      sc.format as "date"
    ];
    if (f && !f.test(v)) return false;
  }
  if (typeof v === "number") {
    if (typeof sc.minimum === "number" && v < sc.minimum) return false;
    if (typeof sc.maximum === "number" && v > sc.maximum) return false;
    if (typeof sc.exclusiveMinimum === "number" && v <= sc.exclusiveMinimum) return false;
    if (typeof sc.exclusiveMaximum === "number" && v >= sc.exclusiveMaximum) return false;
  }
  if (Array.isArray(v)) {
    if (typeof sc.minItems === "number" && v.length < sc.minItems) return false;
    if (typeof sc.maxItems === "number" && v.length > sc.maxItems) return false;
    if (!v.every((x) => validate(x, sc.items, root))) return false;
  }
  if (typeof v === "object" && v !== null && !Array.isArray(v)) {
    const o = v as S;
    const props = (sc.properties ?? {}) as S;
    for (const r of (sc.required ?? []) as string[]) if (!(r in o)) return false;
    for (const [k, x] of Object.entries(o)) {
      if (k in props) {
        if (!validate(x, props[k], root)) return false;
      } else if (sc.additionalProperties === false) return false;
      else if (!validate(x, sc.additionalProperties, root)) return false;
    }
  }
  return true;
}

function typeOk(v: unknown, t: string): boolean {
  if (t === "integer") return Number.isInteger(v);
  if (t === "null") return v === null;
  if (t === "array") return Array.isArray(v);
  if (t === "object") return typeof v === "object" && v !== null && !Array.isArray(v);
  if (t === "string") return typeof v === "string";
  if (t === "number") return typeof v === "number";
  if (t === "boolean") return typeof v === "boolean";
  throw new Error(`Unknown type ${t}`);
}

const CLOSERS = new Set([0x22, 0x5d, 0x7d]); // " ] }

/**
 * Samples a random text under the grammar: tokens drawn from the allowed set (weights favour
 * punctuation so strings end; after `budget` tokens, closers and EOS are strongly preferred).
 */
function sample(grammar: string, trie: VocabTrie, eos: number, rng: Rng, budget = 200): string {
  const rt = new GrammarRuntime(parseGrammar(grammar));
  const out = new Int32Array(trie.nVocab);
  let s = rt.start;
  const bytes: number[] = [];
  for (let step = 0; step < 5000; step++) {
    const n = allowedTokens(trie, rt, s, out);
    expect(n).toBeGreaterThan(0);
    const weights = Array.from(out.subarray(0, n), (id) => {
      if (id === eos) return step > 3 ? (step > budget ? 1e6 : 5) : 0.01;
      const b = trie.tokenBytes[id]!;
      const first = b[0]!;
      if (step > budget) return CLOSERS.has(first) ? 1000 : first === 0x2c ? 0.001 : 1;
      return /[A-Za-z ]/.test(String.fromCharCode(first)) ? 1 : 8;
    });
    let r = rng() * weights.reduce((a, b) => a + b, 0);
    let pick = out[n - 1]!;
    for (let i = 0; i < n; i++) {
      r -= weights[i]!;
      if (r < 0) {
        pick = out[i]!;
        break;
      }
    }
    if (pick === eos) {
      return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(bytes));
    }
    bytes.push(...trie.tokenBytes[pick]!);
    s = stepToken(trie, rt, s, pick)!;
    if (s.set.done && s.remaining === 0) break;
  }
  return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(bytes));
}

const SCHEMAS: [string, S][] = [
  ["json_object", { type: "object" }],
  ["flat required/optional", {
    type: "object",
    properties: {
      name: { type: "string", maxLength: 8 },
      age: { type: "integer" },
      ok: { type: "boolean" },
    },
    required: ["age"],
  }],
  ["nested with arrays and enums", {
    type: "object",
    properties: {
      user: {
        type: "object",
        properties: {
          id: { type: "integer", minimum: -5, maximum: 130 },
          tags: { type: "array", items: { enum: ["a", "b", 3, null] }, minItems: 1, maxItems: 3 },
        },
        required: ["id", "tags"],
      },
      when: { type: "string", format: "date" },
      note: { type: ["string", "null"], minLength: 2 },
    },
    required: ["user", "note"],
  }],
  ["anyOf, const, number", {
    anyOf: [
      {
        type: "object",
        properties: { kind: { const: "circle" }, r: { type: "number", minimum: 0 } },
        required: ["kind", "r"],
      },
      {
        type: "object",
        properties: { kind: { const: "square" }, side: { type: "integer", exclusiveMinimum: 0 } },
        required: ["kind", "side"],
      },
    ],
  }],
  ["oneOf with disjoint branches", {
    oneOf: [{ type: "string", maxLength: 3 }, { type: "integer" }, { type: "null" }],
  }],
  ["$ref recursion", {
    $defs: {
      node: {
        type: "object",
        properties: {
          v: { type: "integer" },
          kids: { type: "array", items: { $ref: "#/$defs/node" }, maxItems: 2 },
        },
        required: ["v"],
      },
    },
    $ref: "#/$defs/node",
  }],
  ["additionalProperties schema", {
    type: "object",
    properties: { name: { type: "string" } },
    additionalProperties: { type: "integer" },
  }],
  ["additionalProperties true", {
    type: "object",
    properties: { a: { type: "null" } },
    additionalProperties: true,
  }],
  ["uuid and arrays of arrays", {
    type: "array",
    items: { type: "array", items: { type: "string", format: "uuid" }, maxItems: 2 },
    maxItems: 3,
  }],
];

describe("jsonSchemaToGrammar()", () => {
  const { bytes, eos } = testVocab();
  const trie = createVocabTrie(bytes, (id) => id === eos);

  for (const [name, schema] of SCHEMAS) {
    test(`jsonSchemaToGrammar() output parses and validates when sampled at random: ${name}`, () => {
      const grammar = jsonSchemaToGrammar(schema);
      // a second opinion: ajv (formats are checked by `validate` above)
      const ajv = new Ajv2020({ strict: false, validateFormats: false }).compile(schema);
      const rng = createRng(name.length * 31 + 1);
      for (let i = 0; i < 25; i++) {
        const text = sample(grammar, trie, eos, rng);
        let value: unknown;
        expect(() => (value = JSON.parse(text))).not.toThrow();
        expect({ text, valid: validate(value, schema), ajv: ajv(value) }).toEqual({
          text,
          valid: true,
          ajv: true,
        });
      }
    });
  }

  test("jsonSchemaToGrammar() integer bounds accept exactly the range", () => {
    const ranges: [number | undefined, number | undefined][] = [
      [0, 9],
      [3, 47],
      [-12, 7],
      [-130, -4],
      [18, 120],
      [5, undefined],
      [undefined, -3],
      [0, 1000],
      [99, 101],
    ];
    for (const [min, max] of ranges) {
      const schema: S = { type: "integer" };
      if (min !== undefined) schema.minimum = min;
      if (max !== undefined) schema.maximum = max;
      const g = new GrammarRuntime(parseGrammar(jsonSchemaToGrammar(schema)));
      for (let v = -1200; v <= 1200; v++) {
        const inRange = (min === undefined || v >= min) && (max === undefined || v <= max);
        if (accepts(g, String(v)) !== inRange) {
          throw new Error(`integer ${v} with [${min}, ${max}]: expected ${inRange}`);
        }
      }
      expect(accepts(g, "007")).toBe(false);
    }
  });

  test("JSON_OBJECT_GRAMMAR accepts JSON edge cases and refuses near misses", () => {
    const good = [
      '{"a": "\\" \\\\ \\/ \\b \\f \\n \\r \\t"}',
      '{"u": "\\u00e9\\uD83D\\uDE00 é 😀 日本"}',
      '{"n": [0, -0, 1.5, -2.25e10, 1E+2, 3e-7, 1234567890123456]}',
      '{"deep": ' + "[".repeat(200) + "{}" + "]".repeat(200) + "}",
      '{ "a" : { "b" : [ true , false , null ] } }',
      "{}",
    ];
    for (const t of good) {
      expect({ t, ok: accepts(JSON_OBJECT_GRAMMAR, t) }).toEqual({ t, ok: true });
      expect(() => JSON.parse(t)).not.toThrow();
    }
    const bad = [
      '{"a": 01}',
      '{"a": 1.}',
      '{"a": .5}',
      '{"a": +1}',
      '{"a": "\\x41"}',
      '{"a": "\\u12"}',
      '{"a": "line\nbreak"}',
      '{"a": tru}',
      '{"a": 1,}',
      "[1]",
      '{"a" 1}',
      '"x"',
      "{}}",
    ];
    for (const t of bad) {
      expect({ t, ok: accepts(JSON_OBJECT_GRAMMAR, t) }).toEqual({ t, ok: false });
    }
  });

  test("jsonSchemaToGrammar() keeps extra keys distinct from declared ones", () => {
    const g = jsonSchemaToGrammar({
      type: "object",
      properties: { name: { type: "string" }, nam: { type: "integer" } },
      additionalProperties: { type: "boolean" },
    });
    expect(accepts(g, '{"name": "x", "nam": 1, "other": true}')).toBe(true);
    expect(accepts(g, '{"na": true, "names": false, "": true}')).toBe(true);
    expect(accepts(g, '{"name": true}')).toBe(false);
    expect(accepts(g, '{"nam": true}')).toBe(false);
  });

  test("jsonSchemaToGrammar() refuses unsupported keywords, naming them and where", () => {
    const refuse = (schema: unknown, message: RegExp) => {
      let err: unknown;
      try {
        jsonSchemaToGrammar(schema);
      } catch (e: unknown) {
        err = e;
      }
      expect(err).toBeInstanceOf(JsonSchemaError);
      expect((err as JsonSchemaError).code).toBe("SCHEMA_UNSUPPORTED");
      expect((err as Error).message).toMatch(message);
    };
    refuse({ type: "string", pattern: "^a" }, /keywords at #: pattern/);
    refuse(
      { type: "object", properties: { a: { type: "number", multipleOf: 2, maximum: 3 } } },
      /at #\/properties\/a: multipleOf/,
    );
    refuse({ allOf: [{}] }, /allOf/);
    refuse({ type: "string", format: "email" }, /format at #: "email"/);
    refuse({ $ref: "http://x/schema" }, /Cannot resolve \$ref/);
    refuse({ type: "array", maxItems: 100000 }, /maxItems at #: at most/);
    refuse({ type: "integer", minimum: 1e20 }, /minimum/);
    refuse({ type: "object", required: ["x"], properties: {} }, /required "x"/);
    refuse({ type: "strange" }, /unknown type/);
    let deep: unknown = { type: "null" };
    for (let i = 0; i < 100; i++) deep = { type: "array", items: deep };
    refuse(deep, /nested deeper/);
  });
});
