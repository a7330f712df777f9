/**
 * Grammar-constrained requests in the native backend's batch (a generated model): several
 * constrained sequences (two with the same schema, so they share one compiled grammar and its
 * matcher, one with another grammar, one greedy with a stop string met inside the JSON, all with
 * logprobs) and an unconstrained one, run together, stream exactly what each streams alone.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import type { CompletionRequest, CompletionResult } from "../../src/contract/index.ts";
import { NativeBackend } from "../../src/serve/native-backend.ts";
import { JSON_OBJECT_GRAMMAR, jsonSchemaToGrammar } from "../../src/grammar/index.ts";
import { testModel } from "../helpers/models.ts";

let modelPath = "";
beforeAll(async () => {
  modelPath = await testModel({ preset: "tiny", arch: "bitnet-b1.58", type: "tq2_0" });
}, 120_000);

const SCHEMA = {
  type: "object",
  properties: {
    a: { type: "integer", minimum: 0, maximum: 99 },
    b: { enum: ["x", "y"] },
    c: { type: "string", maxLength: 4 },
  },
  required: ["a", "b", "c"],
  additionalProperties: false,
};

function request(name: string, extra: Partial<CompletionRequest>): CompletionRequest {
  return {
    id: `${name}-${Math.random()}`,
    model: "m",
    input: { kind: "chat", messages: [{ role: "user", content: `Request ${name}?` }] },
    maxTokens: 60,
    sampling: { temperature: 0 },
    stop: [],
    logprobs: 2,
    ...extra,
  };
}

const REQUESTS: Record<string, CompletionRequest> = {
  schema1: request("schema1", {
    grammar: jsonSchemaToGrammar(SCHEMA),
    sampling: { temperature: 1, topK: 40 },
    seed: 1,
  }),
  schema2: request("schema2", {
    grammar: jsonSchemaToGrammar(SCHEMA),
    sampling: { temperature: 0.8, minP: 0.05 },
    seed: 2,
  }),
  object: request("object", {
    grammar: JSON_OBJECT_GRAMMAR,
    sampling: { temperature: 1, topK: 40 },
    seed: 3,
    maxTokens: 30,
  }),
  stopped: request("stopped", { grammar: jsonSchemaToGrammar(SCHEMA), stop: ['"b"'] }),
  plain: request("plain", { sampling: { temperature: 1, topK: 40 }, seed: 4 }),
};

async function run(backend: NativeBackend, req: CompletionRequest) {
  const gen = backend.complete(
    { ...req, id: `${req.id}-${Math.random()}` },
    new AbortController().signal,
  );
  const chunks: string[] = [];
  const tokens: number[] = [];
  const logprobs: unknown[] = [];
  let step = await gen.next();
  for (; !step.done; step = await gen.next()) {
    chunks.push(step.value.text);
    tokens.push(...step.value.tokens);
    logprobs.push(...(step.value.logprobs ?? []));
  }
  const r: CompletionResult = step.value;
  return { text: chunks.join("") + r.tail, tokens, logprobs, finishReason: r.finishReason };
}

describe("NativeBackend: constrained and unconstrained sequences in one batch", () => {
  test(
    "each streams alone what it streams with the others; the JSON validates; the stop string cuts it",
    async () => {
      const backend = new NativeBackend({ modelPath, nodeId: "n1", parallel: 5, queue: 8 });
      await backend.ready;
      const alone: Record<string, Awaited<ReturnType<typeof run>>> = {};
      for (const [name, req] of Object.entries(REQUESTS)) alone[name] = await run(backend, req);
      const together = await Promise.all(
        Object.entries(REQUESTS).map(async ([name, req]) =>
          [name, await run(backend, req)] as const
        ),
      );
      for (const [name, out] of together) {
        expect({ name, out }).toEqual({ name, out: alone[name]! });
        expect(out.logprobs.length).toBe(out.tokens.length);
      }
      for (const name of ["schema1", "schema2"]) {
        const out = alone[name]!;
        expect({ name, finish: out.finishReason }).toEqual({ name, finish: "stop" });
        const value = JSON.parse(out.text) as { a: number; b: string; c: string };
        expect(Object.keys(value)).toEqual(["a", "b", "c"]);
        expect(Number.isInteger(value.a) && value.a >= 0 && value.a <= 99).toBe(true);
        expect(["x", "y"]).toContain(value.b);
      }
      // the schema puts "b" second: the stop string ends the answer right before it
      expect(alone.stopped!.finishReason).toBe("stop");
      expect(alone.stopped!.text).toMatch(/^\{\s*"a"\s*:\s*\d+\s*,\s*$/);
      await backend.close();
    },
    120_000,
  );
});
