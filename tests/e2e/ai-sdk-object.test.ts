/**
 * The Vercel AI SDK's structured output against a real `aria serve` (the built-in aria-nano, a
 * fresh data dir), as its docs set up an OpenAI-compatible server: `createOpenAICompatible` with
 * `supportsStructuredOutputs` (so the SDK sends `response_format` json_schema from the zod
 * schema), then `generateObject` and `streamObject` (which the issue names; the SDK now marks
 * them deprecated) and their successor, `generateText` with `output: Output.object(...)`. The SDK validates the answer with the zod
 * schema itself (it throws NoObjectGeneratedError otherwise); the test validates it again.
 * aria-nano is a tiny model: the constraint, not the model, makes the object valid.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { generateObject, generateText, Output, streamObject } from "ai";
import { z } from "zod";
import { badLogLines, type ServeProc, startServe } from "../helpers/aria-serve.ts";

let node: ServeProc;
let dataDir = "";

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "aria-e2e-ai-sdk-object-"));
  node = await startServe(["--port", "0", "--data-dir", dataDir]);
}, 120_000);

afterAll(async () => {
  if (node) {
    const { code, stderr } = await node.stop();
    expect(code).toBe(0);
    expect(badLogLines(stderr)).toEqual([]);
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const Verdict = z.object({
  verdict: z.enum(["guilty", "not guilty"]),
  votes: z.int().min(0).max(12),
  unanimous: z.boolean(),
  jurors: z.array(z.string().max(8)).max(2),
  foreperson: z.object({ name: z.string().max(10), seat: z.int().min(1).max(12) }),
});

function model() {
  const aria = createOpenAICompatible({
    name: "aria",
    baseURL: `${node.url}/v1`,
    supportsStructuredOutputs: true,
  });
  return aria.chatModel("aria-nano");
}

describe("Vercel AI SDK against aria serve", () => {
  test("generateObject() with a zod schema returns an object that validates", async () => {
    const { object, finishReason } = await generateObject({
      model: model(),
      schema: Verdict,
      schemaName: "verdict",
      prompt: "The jury said",
      seed: 1,
      maxOutputTokens: 200,
      maxRetries: 0,
    });
    expect(finishReason).toBe("stop");
    expect(Verdict.safeParse(object).success).toBe(true);
  }, 90_000);

  test("generateText() with Output.object() returns an object that validates", async () => {
    const { output, finishReason } = await generateText({
      model: model(),
      output: Output.object({ schema: Verdict }),
      prompt: "The jury said",
      seed: 2,
      maxOutputTokens: 200,
      maxRetries: 0,
    });
    expect(finishReason).toBe("stop");
    expect(Verdict.safeParse(output).success).toBe(true);
  }, 90_000);

  test("streamObject() streams partial objects and ends with one that validates", async () => {
    const result = streamObject({
      model: model(),
      schema: Verdict,
      prompt: "The jury said",
      seed: 3,
      maxOutputTokens: 200,
      maxRetries: 0,
    });
    let partials = 0;
    for await (const partial of result.partialObjectStream) {
      expect(typeof partial).toBe("object");
      partials++;
    }
    expect(partials).toBeGreaterThan(1);
    expect(Verdict.safeParse(await result.object).success).toBe(true);
  }, 90_000);
});
