import { describe, expect, test } from "bun:test";
import { FakeBackend } from "../../tests/helpers/fake-backend.ts";
import type { CompletionRequest } from "../contract/index.ts";
import { cheatingBackend } from "./test-cheat.ts";

const request = {
  id: "r",
  model: "fake-model",
  input: { kind: "text", prompt: "x" },
  sampling: { temperature: 0 },
  stop: [],
} as CompletionRequest;

async function run(after: number) {
  const gen = cheatingBackend(new FakeBackend(), after).complete(
    request,
    new AbortController().signal,
  );
  const tokens: number[] = [];
  let text = "";
  let step = await gen.next();
  for (; !step.done; step = await gen.next()) {
    tokens.push(...step.value.tokens);
    text += step.value.text;
  }
  return { tokens, text };
}

describe("cheatingBackend (test only)", () => {
  test("the first N tokens stay, every later one moves to its neighbour, text follows", async () => {
    const honest = await run(1000);
    expect(honest.tokens).toEqual([1, 2, 3, 4, 5, 6]);
    expect(honest.text).toBe("Hello, world! é");
    const cheat = await run(2);
    expect(cheat.tokens).toEqual([1, 2, 2, 3, 4, 5]);
    expect(cheat.text).toBe("Hello,, world!");
    expect((await run(0)).tokens).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
