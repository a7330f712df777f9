/**
 * Structured output against a real `aria serve` (the built-in aria-nano, a fresh data dir):
 * the official `openai` client with `response_format` json_schema (several schemas, the SDK's zod
 * helper too, whole and streamed) and json_object, llama-server's `grammar`, and the `ollama`
 * client's `format`. Every finished answer must parse and validate under ajv; aria-nano is a tiny
 * model, so this shows the constraint, not the model, makes the output well formed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import { z } from "zod";
import { listeningUrl } from "../helpers/serve-proc.ts";

const ROOT = join(import.meta.dir, "..", "..");

let dataDir = "";
let proc: ReturnType<typeof Bun.spawn>;
let url = "";
let client: OpenAI;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "aria-structured-"));
  proc = Bun.spawn(
    [process.execPath, "src/main.ts", "serve", "--port", "0", "--data-dir", dataDir],
    { cwd: ROOT, stdout: "pipe", stderr: "ignore", env: { ...process.env, ARIA_HOME: dataDir } },
  );
  url = await listeningUrl(proc);
  client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused" });
}, 120_000);

afterAll(() => {
  proc?.kill();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const SCHEMAS: Record<string, Record<string, unknown>> = {
  person: {
    type: "object",
    properties: {
      name: { type: "string", maxLength: 12 },
      age: { type: "integer", minimum: 0, maximum: 120 },
      member: { type: "boolean" },
    },
    required: ["name", "age", "member"],
    additionalProperties: false,
  },
  order: {
    type: "object",
    properties: {
      id: { type: "string", format: "uuid" },
      items: {
        type: "array",
        minItems: 1,
        maxItems: 2,
        items: {
          type: "object",
          properties: {
            sku: { enum: ["A1", "B2", "C3"] },
            qty: { type: "integer", minimum: 1, maximum: 9 },
          },
          required: ["sku", "qty"],
          additionalProperties: false,
        },
      },
      note: { type: ["string", "null"], maxLength: 8 },
    },
    required: ["id", "items", "note"],
    additionalProperties: false,
  },
  choice: { anyOf: [{ type: "integer", minimum: -5, maximum: 5 }, { const: "none" }] },
};

const ajv = new Ajv2020({ strict: false, validateFormats: false });
const uuid = /^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/i;

function check(schema: Record<string, unknown>, text: string): unknown {
  const value: unknown = JSON.parse(text);
  // the zod helper names draft-07, which Ajv2020 does not load; the keywords used are the same
  const { $schema: _draft, ...rest } = schema;
  const validate = ajv.compile(rest);
  expect({ text, valid: validate(value), errors: validate.errors ?? null }).toEqual({
    text,
    valid: true,
    errors: null,
  });
  return value;
}

describe("structured output against aria serve", () => {
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    test(`openai client: response_format json_schema "${name}" parses and validates`, async () => {
      for (const seed of [1, 2]) {
        const r = await client.chat.completions.create({
          model: "aria-nano",
          messages: [{ role: "user", content: `Give me a ${name} as JSON.` }],
          max_tokens: 160,
          temperature: 0.7,
          seed,
          response_format: { type: "json_schema", json_schema: { name, schema, strict: true } },
        });
        const choice = r.choices[0]!;
        expect(choice.finish_reason).toBe("stop");
        const value = check(schema, choice.message.content!);
        if (name === "order") expect((value as { id: string }).id).toMatch(uuid);
      }
    });
  }

  test("openai client: the zod helper's schema, streamed, parses and validates", async () => {
    const Answer = z.object({ city: z.string().max(10), rank: z.number().int().min(1).max(3) });
    const format = zodResponseFormat(Answer, "answer");
    const stream = await client.chat.completions.create({
      model: "aria-nano",
      messages: [{ role: "user", content: "Name a city." }],
      max_tokens: 120,
      temperature: 0.7,
      seed: 4,
      stream: true,
      response_format: format,
    });
    let text = "";
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe("stop");
    expect(Answer.parse(JSON.parse(text))).toBeDefined();
    check(format.json_schema.schema as Record<string, unknown>, text);
  });

  test("openai client: json_object and llama-server's grammar field", async () => {
    const r = await client.chat.completions.create({
      model: "aria-nano",
      messages: [{ role: "user", content: "{}" }],
      max_tokens: 200,
      temperature: 0.3,
      seed: 7,
      response_format: { type: "json_object" },
    });
    if (r.choices[0]!.finish_reason === "stop") {
      const v: unknown = JSON.parse(r.choices[0]!.message.content!);
      expect(typeof v === "object" && v !== null && !Array.isArray(v)).toBe(true);
    }
    const res = await fetch(`${url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "aria-nano",
        prompt: "Is the sky blue? Answer:",
        max_tokens: 8,
        grammar: 'root ::= " " ("yes" | "no") "."',
      }),
    });
    const body = await res.json() as { choices: { text: string; finish_reason: string }[] };
    expect(body.choices[0]!.text).toMatch(/^ (yes|no)\.$/);
    expect(body.choices[0]!.finish_reason).toBe("stop");
  });

  test("openai client: an unsupported schema keyword is a 400 naming it", async () => {
    const err = await client.chat.completions.create({
      model: "aria-nano",
      messages: [{ role: "user", content: "x" }],
      response_format: {
        type: "json_schema",
        json_schema: { name: "x", schema: { type: "string", pattern: "^a+$" } },
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).message).toMatch(/pattern/);
  });

  test("a grammar that allows no token of the vocabulary is a 400 saying so, streamed or not", async () => {
    // a class that matches no character: the grammar parses, but nothing can be generated
    for (const stream of [false, true]) {
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "aria-nano",
          messages: [{ role: "user", content: "x" }],
          max_tokens: 5,
          stream,
          grammar: "root ::= [^\\x00-\\U0010FFFF]",
        }),
      });
      expect(res.status).toBe(400);
      const body = await res.json() as { error: { code: string; message: string } };
      expect(body.error.code).toBe("invalid_grammar");
      expect(body.error.message).toContain("the grammar allows no token of the vocabulary");
    }
  });

  test("ollama client: format with a schema and format json", async () => {
    const ollama = new Ollama({ host: url });
    const schema = SCHEMAS.person!;
    const r = await ollama.chat({
      model: "aria-nano",
      messages: [{ role: "user", content: "A person, as JSON." }],
      format: schema,
      options: { temperature: 0.7, seed: 3, num_predict: 160 },
    });
    expect(r.done_reason).toBe("stop");
    check(schema, r.message.content);
    const g = await ollama.generate({
      model: "aria-nano",
      prompt: "JSON:",
      format: "json",
      options: { temperature: 0.3, seed: 5, num_predict: 160 },
    });
    if (g.done_reason === "stop") expect(() => JSON.parse(g.response ?? "")).not.toThrow();
  });
});
